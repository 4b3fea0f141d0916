//! The support desk: an assistant that answers customers from the company's own documents
//! ([`kb`], optionally worded by a language model, [`llm`]; [`assistant`]), the rules that
//! hand a conversation to a person ([`rules`]), the desk served ([`desk`], [`api`]), and
//! guests, customers without an account ([`guests`]).

pub mod api;
pub mod assistant;
pub mod desk;
pub mod guests;
pub mod kb;
pub mod llm;
pub mod rules;

//! The support desk: an assistant that answers customers from the company's own documents
//! ([`kb`], optionally worded by a language model, [`llm`]; [`assistant`]), the rules that
//! hand a conversation to a person ([`rules`]), and the desk served ([`desk`], [`api`]).

pub mod api;
pub mod assistant;
pub mod desk;
pub mod kb;
pub mod llm;
pub mod rules;

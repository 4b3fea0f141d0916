//! The support desk: an assistant that answers customers from the company's own documents
//! ([`kb`], optionally worded by a language model, [`llm`]), and the rules that hand a
//! conversation to a person ([`rules`]).

pub mod assistant;
pub mod kb;
pub mod llm;
pub mod rules;

//! An optional language model that words the assistant's answer from the passages the
//! knowledge base found: any OpenAI-compatible chat completions endpoint (`--support-llm-url`,
//! `--support-llm-key`, `--support-llm-model`). It is told to answer only from the numbered
//! passages and to cite them as `[n]`; an answer that cites none, or cites one it was not
//! given, is not used (retrieval answers instead), and it may say it is not sure.

use super::kb::Passage;
use serde_json::{Value, json};
use std::time::Duration;

/// What the model answers when the passages do not answer the question.
const NOT_SURE: &str = "NOT_SURE";
const TIMEOUT: Duration = Duration::from_secs(20);
/// Bytes of the model's response read, at most.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Characters of the model's answer kept.
const MAX_ANSWER_CHARS: usize = 2_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LlmError {
    #[error("the model could not be reached")]
    Unreachable,
    #[error("the model answered {0}")]
    Status(u16),
    #[error("the model's answer could not be read")]
    Unreadable,
    #[error("the model's answer cites no passage it was given")]
    Uncited,
}

/// The model's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Worded {
    /// With `[n]` citations; `cited` are the passages' numbers (1-based) it cites.
    Answer {
        text: String,
        cited: Vec<usize>,
    },
    NotSure,
}

pub struct Llm {
    client: reqwest::Client,
    /// The endpoint's base (`https://api.openai.com/v1`): `/chat/completions` is added.
    url: String,
    key: Option<String>,
    model: String,
}

impl Llm {
    pub fn new(url: &str, key: Option<String>, model: &str) -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(TIMEOUT)
                .build()
                .expect("a client with a timeout always builds"),
            url: url.trim_end_matches('/').to_owned(),
            key: key.filter(|k| !k.is_empty()),
            model: model.to_owned(),
        }
    }

    /// Words an answer to `question` from `passages` (numbered from 1 in this order).
    pub async fn word(&self, question: &str, passages: &[Passage]) -> Result<Worded, LlmError> {
        let (system, user) = prompt(question, passages);
        let body = json!({
            "model": self.model,
            "temperature": 0,
            "messages": [
                { "role": "system", "content": system },
                { "role": "user", "content": user },
            ],
        });
        let mut request = self
            .client
            .post(format!("{}/chat/completions", self.url))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|_| LlmError::Unreachable)?;
        if !response.status().is_success() {
            return Err(LlmError::Status(response.status().as_u16()));
        }
        let bytes = response.bytes().await.map_err(|_| LlmError::Unreadable)?;
        if bytes.len() > MAX_RESPONSE_BYTES {
            return Err(LlmError::Unreadable);
        }
        let answer: Value = serde_json::from_slice(&bytes).map_err(|_| LlmError::Unreadable)?;
        let text = answer["choices"][0]["message"]["content"]
            .as_str()
            .ok_or(LlmError::Unreadable)?
            .trim();
        read(text, passages.len())
    }
}

/// The instructions and the question with its numbered passages.
pub fn prompt(question: &str, passages: &[Passage]) -> (String, String) {
    let system = format!(
        "You answer a customer's question for a support team, using only the numbered \
         passages from the team's documents. Cite every fact with the passage's number in \
         brackets, like [1]. Be short and friendly. If the passages do not answer the \
         question, reply with exactly {NOT_SURE} and nothing else."
    );
    let mut user = String::new();
    for (i, passage) in passages.iter().enumerate() {
        user.push_str(&format!(
            "[{}] {}\n{}\n\n",
            i + 1,
            passage.label(),
            passage.text
        ));
    }
    user.push_str(&format!("Question: {question}"));
    (system, user)
}

/// The model's text as an answer: not sure, or cited with numbers it was given.
pub fn read(text: &str, passages: usize) -> Result<Worded, LlmError> {
    if text.is_empty() || text.trim_matches(|c: char| !c.is_alphanumeric() && c != '_') == NOT_SURE
    {
        return Ok(Worded::NotSure);
    }
    let mut cited = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find(']') else { break };
        for number in rest[..close].split(',') {
            if let Ok(n) = number.trim().parse::<usize>() {
                if n == 0 || n > passages {
                    return Err(LlmError::Uncited);
                }
                if !cited.contains(&n) {
                    cited.push(n);
                }
            }
        }
        rest = &rest[close..];
    }
    if cited.is_empty() {
        return Err(LlmError::Uncited);
    }
    cited.sort_unstable();
    Ok(Worded::Answer {
        text: text.chars().take(MAX_ANSWER_CHARS).collect(),
        cited,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_must_cite_the_passages_it_was_given() {
        assert_eq!(
            read("Returns are free [1], refunds take 5 days [2, 1].", 2),
            Ok(Worded::Answer {
                text: "Returns are free [1], refunds take 5 days [2, 1].".into(),
                cited: vec![1, 2]
            })
        );
        assert_eq!(read("Returns are free.", 2), Err(LlmError::Uncited));
        assert_eq!(read("Returns are free [3].", 2), Err(LlmError::Uncited));
        assert_eq!(read("NOT_SURE", 2), Ok(Worded::NotSure));
        assert_eq!(read("\"NOT_SURE\".", 2), Ok(Worded::NotSure));
        assert_eq!(read("", 2), Ok(Worded::NotSure));
    }
}

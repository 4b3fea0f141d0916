//! The assistant's answer to a customer's question: the knowledge base's best passages, worded
//! by the language model when there is one (with the passages it cites listed as sources), or
//! the best passage itself with a link to where it is; and "not sure" instead of a guess when
//! no passage covers enough of the question.

use super::kb::{Hit, KnowledgeBase, Passage};
use super::llm::{Llm, Worded};

/// A passage answers a question when it holds at least this share of its words.
pub const MIN_COVERAGE: f32 = 0.5;
/// Passages given to the model.
const PASSAGES_FOR_MODEL: usize = 3;
/// Characters of a passage quoted in a retrieval answer.
const QUOTE_CHARS: usize = 700;

pub const NOT_SURE: &str = "I'm not sure I have the answer to that. You can ask in other \
    words, or ask for a person and someone from the team will take over.";

#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// What the assistant says.
    pub text: String,
    /// The passages it answered from (empty when not sure).
    pub sources: Vec<Passage>,
    pub confident: bool,
}

impl Answer {
    fn not_sure() -> Self {
        Self {
            text: NOT_SURE.to_owned(),
            sources: Vec::new(),
            confident: false,
        }
    }
}

/// Answers `question`; links to sources start with `link_base` (where the documents are
/// served).
pub async fn answer(
    kb: &KnowledgeBase,
    llm: Option<&Llm>,
    question: &str,
    link_base: &str,
) -> Answer {
    let hits: Vec<Hit> = kb
        .search(question, PASSAGES_FOR_MODEL)
        .into_iter()
        .filter(|h| h.coverage >= MIN_COVERAGE)
        .collect();
    let Some(best) = hits.first() else {
        return Answer::not_sure();
    };
    if let Some(llm) = llm {
        let passages: Vec<Passage> = hits.iter().map(|h| h.passage.clone()).collect();
        match llm.word(question, &passages).await {
            Ok(Worded::Answer { text, cited }) => {
                let sources: Vec<Passage> = cited.iter().map(|n| passages[n - 1].clone()).collect();
                let list: Vec<String> = cited
                    .iter()
                    .zip(&sources)
                    .map(|(n, p)| format!("[{n}] {} ({})", p.label(), p.link(link_base)))
                    .collect();
                return Answer {
                    text: format!("{text}\n\nSources: {}", list.join(" · ")),
                    sources,
                    confident: true,
                };
            }
            Ok(Worded::NotSure) => return Answer::not_sure(),
            Err(e) => {
                tracing::warn!(error = %e, "the language model's answer was not used; answering from the documents");
            }
        }
    }
    let passage = &best.passage;
    let mut quote: String = passage.text.chars().take(QUOTE_CHARS).collect();
    if quote.len() < passage.text.len() {
        quote.push('…');
    }
    Answer {
        text: format!(
            "From “{}”:\n\n{quote}\n\nSource: {}",
            passage.label(),
            passage.link(link_base)
        ),
        sources: vec![passage.clone()],
        confident: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Json;
    use axum::http::HeaderMap;
    use serde_json::{Value, json};
    use std::sync::{Arc, Mutex};

    fn kb() -> KnowledgeBase {
        KnowledgeBase::from_documents(&[(
            "returns.md".into(),
            "# Returns\n\n## How to return an item\n\nPrint the return label from your \
             orders page and drop the parcel at a post office within 30 days.\n\n## Refunds\n\n\
             Refunds reach your card within 5 working days.\n"
                .into(),
        )])
        .unwrap()
    }

    /// A local stand-in for an OpenAI-compatible endpoint that answers `reply` and keeps
    /// what it was asked.
    async fn model(reply: &'static str) -> (String, Arc<Mutex<Vec<(HeaderMap, Value)>>>) {
        let asked: Arc<Mutex<Vec<(HeaderMap, Value)>>> = Arc::default();
        let kept = asked.clone();
        let app = axum::Router::new().route(
            "/v1/chat/completions",
            axum::routing::post(move |headers: HeaderMap, Json(body): Json<Value>| {
                let kept = kept.clone();
                async move {
                    kept.lock().unwrap().push((headers, body));
                    Json(json!({"choices": [{"message": {"role": "assistant", "content": reply}}]}))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, asked)
    }

    #[tokio::test]
    async fn without_a_model_the_best_passage_answers_with_its_source() {
        let kb = kb();
        let answer = answer(&kb, None, "How do I return an item?", "/kb").await;
        assert!(answer.confident);
        assert!(
            answer.text.contains("Print the return label"),
            "{}",
            answer.text
        );
        assert!(
            answer
                .text
                .contains("Source: /kb/returns.md#how-to-return-an-item")
        );
        assert_eq!(answer.sources[0].heading, "How to return an item");
    }

    #[tokio::test]
    async fn the_assistant_says_it_is_not_sure_instead_of_guessing() {
        let kb = kb();
        let answer = answer(&kb, None, "Do you sell garden furniture?", "/kb").await;
        assert!(!answer.confident);
        assert_eq!(answer.text, NOT_SURE);
        assert!(answer.sources.is_empty());
    }

    #[tokio::test]
    async fn a_model_words_the_answer_from_the_passages_and_cites_them() {
        let (url, asked) = model("Drop the parcel at a post office within 30 days [1].").await;
        let llm = Llm::new(&url, Some("sk-test".into()), "small-model");
        let kb = kb();
        let answer = answer(&kb, Some(&llm), "How do I return an item?", "/kb").await;
        assert!(answer.confident);
        assert!(
            answer
                .text
                .starts_with("Drop the parcel at a post office within 30 days [1].")
        );
        assert!(
            answer
                .text
                .contains("Sources: [1] Returns › How to return an item (/kb/returns.md#how-to-return-an-item)"),
            "{}",
            answer.text
        );
        let asked = asked.lock().unwrap();
        let (headers, body) = &asked[0];
        assert_eq!(headers["authorization"], "Bearer sk-test");
        assert_eq!(body["model"], "small-model");
        let prompt = body["messages"][1]["content"].as_str().unwrap();
        assert!(prompt.contains("[1] Returns › How to return an item"));
        assert!(prompt.contains("Question: How do I return an item?"));
    }

    #[tokio::test]
    async fn an_uncited_or_unreachable_model_leaves_the_answer_to_the_documents() {
        let kb = kb();
        let (url, _) = model("Sure, just send it back whenever you like!").await;
        let uncited = Llm::new(&url, None, "m");
        let answer1 = answer(&kb, Some(&uncited), "How do I return an item?", "/kb").await;
        assert!(
            answer1.text.contains("Print the return label"),
            "{}",
            answer1.text
        );
        let gone = Llm::new("http://127.0.0.1:9/v1", None, "m");
        let answer2 = answer(&kb, Some(&gone), "How do I return an item?", "/kb").await;
        assert_eq!(answer1, answer2);
        let (url, _) = model("NOT_SURE").await;
        let unsure = Llm::new(&url, None, "m");
        let answer3 = answer(&kb, Some(&unsure), "How do I return an item?", "/kb").await;
        assert!(
            !answer3.confident,
            "the model may say the passages do not answer"
        );
    }
}

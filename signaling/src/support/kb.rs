//! The support desk's knowledge base: a folder of Markdown documents, cut into passages at
//! their headings and indexed in memory with tantivy (BM25 over title, heading and text, English
//! stemming and stop words). A question finds the best passages; each says how much of the
//! question it covers, which is how the assistant knows when it is not sure.

use std::collections::HashSet;
use std::path::Path;
use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, STORED, Schema, TantivyDocument, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{Index, IndexReader, doc};

/// Documents read from the folder, at most.
pub const MAX_DOCUMENTS: usize = 2_000;
/// Bytes of one document read, at most (the rest is left out).
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// A passage longer than this is cut at a paragraph.
const MAX_PASSAGE_CHARS: usize = 1_500;
/// Folders below the knowledge base's own, at most.
const MAX_DEPTH: usize = 8;
const TOKENIZER: &str = "kb";

#[derive(Debug, thiserror::Error)]
pub enum KbError {
    #[error("cannot read the knowledge base: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot index the knowledge base: {0}")]
    Index(#[from] tantivy::TantivyError),
}

/// A piece of a document under one heading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    /// The document's path in the folder, with `/` between its parts: `billing/refunds.md`.
    pub document: String,
    /// The document's first `# ` heading, or its file name.
    pub title: String,
    /// The heading the passage is under ("" before the first one).
    pub heading: String,
    /// The heading's anchor, as Markdown renderers make it (`how-to-return-an-item`).
    pub anchor: String,
    pub text: String,
}

impl Passage {
    /// Where it can be read: the document, at its heading.
    pub fn link(&self, base: &str) -> String {
        let base = base.trim_end_matches('/');
        if self.anchor.is_empty() {
            format!("{base}/{}", self.document)
        } else {
            format!("{base}/{}#{}", self.document, self.anchor)
        }
    }

    /// "Title › Heading", or the title alone.
    pub fn label(&self) -> String {
        if self.heading.is_empty() || self.heading == self.title {
            self.title.clone()
        } else {
            format!("{} › {}", self.title, self.heading)
        }
    }
}

/// A passage found for a question.
#[derive(Debug, Clone)]
pub struct Hit {
    pub passage: Passage,
    /// BM25.
    pub score: f32,
    /// The share of the question's words (stemmed, without stop words) in the passage.
    pub coverage: f32,
}

pub struct KnowledgeBase {
    index: Index,
    reader: IndexReader,
    analyzer: TextAnalyzer,
    passages: Vec<Passage>,
    fields: Fields,
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    title: Field,
    heading: Field,
    text: Field,
}

/// Words of questions and chat that say nothing about the subject, beside English stop words:
/// they must not count when judging how much of a question a passage covers.
const CHAT_WORDS: &[&str] = &[
    "how", "what", "when", "where", "why", "who", "which", "do", "does", "did", "i", "me", "my",
    "mine", "you", "your", "we", "us", "our", "can", "could", "would", "should", "may", "might",
    "must", "get", "got", "please", "hi", "hello", "hey", "thanks", "thank", "much", "many",
    "long", "have", "has", "had", "am", "want", "need", "know", "tell", "some", "any", "there",
    "here", "just", "so", "also", "too", "very", "about", "up", "out", "from", "all",
];

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(StopWordFilter::new(Language::English).expect("English has stop words"))
        .filter(StopWordFilter::remove(
            CHAT_WORDS.iter().map(|w| (*w).to_owned()),
        ))
        .filter(Stemmer::new(Language::English))
        .build()
}

impl KnowledgeBase {
    /// Reads every Markdown file (`.md`, `.markdown`) under `dir`, hidden ones left out.
    pub fn load(dir: &Path) -> Result<Self, KbError> {
        let mut documents = Vec::new();
        collect(dir, dir, 0, &mut documents)?;
        documents.sort();
        Self::from_documents(&documents)
    }

    /// Indexes `(path, markdown)` documents.
    pub fn from_documents(documents: &[(String, String)]) -> Result<Self, KbError> {
        let mut schema = Schema::builder();
        let indexed = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let fields = Fields {
            id: schema.add_u64_field("id", INDEXED | STORED),
            title: schema.add_text_field("title", indexed.clone()),
            heading: schema.add_text_field("heading", indexed.clone()),
            text: schema.add_text_field("text", indexed),
        };
        let index = Index::create_in_ram(schema.build());
        index.tokenizers().register(TOKENIZER, analyzer());
        let passages: Vec<Passage> = documents
            .iter()
            .flat_map(|(path, markdown)| passages(path, markdown))
            .collect();
        let mut writer = index.writer_with_num_threads(1, 15_000_000)?;
        for (id, passage) in passages.iter().enumerate() {
            writer.add_document(doc!(
                fields.id => id as u64,
                fields.title => passage.title.as_str(),
                fields.heading => passage.heading.as_str(),
                fields.text => passage.text.as_str(),
            ))?;
        }
        writer.commit()?;
        let reader = index.reader()?;
        Ok(Self {
            index,
            reader,
            analyzer: analyzer(),
            passages,
            fields,
        })
    }

    pub fn passages(&self) -> usize {
        self.passages.len()
    }

    /// The passages that best answer `question`, best first.
    pub fn search(&self, question: &str, limit: usize) -> Vec<Hit> {
        let question_terms = self.terms(question);
        if question_terms.is_empty() || limit == 0 {
            return Vec::new();
        }
        let Fields {
            id,
            title,
            heading,
            text,
        } = self.fields;
        let mut parser = QueryParser::for_index(&self.index, vec![title, heading, text]);
        parser.set_field_boost(heading, 2.0);
        parser.set_field_boost(title, 1.5);
        // People type anything: words are taken as words, never as query syntax.
        let words: Vec<String> = question
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        let (query, _) = parser.parse_query_lenient(&words.join(" "));
        let searcher = self.reader.searcher();
        let Ok(found) = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())
        else {
            return Vec::new();
        };
        found
            .into_iter()
            .filter_map(|(score, address)| {
                let stored: TantivyDocument = searcher.doc(address).ok()?;
                let n = usize::try_from(stored.get_first(id)?.as_u64()?).ok()?;
                let passage = self.passages.get(n)?.clone();
                let passage_terms = self.terms(&format!(
                    "{} {} {}",
                    passage.title, passage.heading, passage.text
                ));
                let covered = question_terms
                    .iter()
                    .filter(|t| passage_terms.contains(*t))
                    .count();
                let coverage = covered as f32 / question_terms.len() as f32;
                Some(Hit {
                    passage,
                    score,
                    coverage,
                })
            })
            .collect()
    }

    /// The words of `text` as the index sees them.
    fn terms(&self, text: &str) -> HashSet<String> {
        let mut analyzer = self.analyzer.clone();
        let mut stream = analyzer.token_stream(text);
        let mut terms = HashSet::new();
        while stream.advance() {
            terms.insert(stream.token().text.clone());
        }
        terms
    }
}

/// The English stems of `text`'s words, stop words kept: what topic rules match on
/// ("replacement" and "replace" are both `replac`).
pub fn stems(text: &str) -> Vec<String> {
    let mut analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(Stemmer::new(Language::English))
        .build();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

fn collect(
    root: &Path,
    dir: &Path,
    depth: usize,
    out: &mut Vec<(String, String)>,
) -> Result<(), KbError> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.filter_map(Result::ok).collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        if out.len() >= MAX_DOCUMENTS {
            break;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            collect(root, &path, depth + 1, out)?;
        } else if kind.is_file() && (name.ends_with(".md") || name.ends_with(".markdown")) {
            let bytes = std::fs::read(&path)?;
            let end = bytes.len().min(MAX_DOCUMENT_BYTES);
            let text = String::from_utf8_lossy(&bytes[..end]).into_owned();
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((relative, text));
        }
    }
    Ok(())
}

/// GitHub's anchor for a heading: lower case, letters, digits, `-` and `_`, spaces as `-`.
pub fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Cuts a document into passages, one per heading (long ones at paragraphs).
pub fn passages(path: &str, markdown: &str) -> Vec<Passage> {
    let file_name = path.rsplit('/').next().unwrap_or(path);
    let stem = file_name
        .trim_end_matches(".markdown")
        .trim_end_matches(".md")
        .replace(['-', '_'], " ");
    let title = markdown
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .map_or(stem, |t| t.trim().to_owned());
    let mut out = Vec::new();
    let mut heading = String::new();
    let mut text = String::new();
    let mut in_code = false;
    let flush = |heading: &str, text: &mut String, out: &mut Vec<Passage>| {
        for chunk in chunks(text.trim()) {
            out.push(Passage {
                document: path.to_owned(),
                title: title.clone(),
                heading: heading.to_owned(),
                anchor: anchor(heading),
                text: chunk,
            });
        }
        text.clear();
    };
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        }
        let trimmed = line.trim_start();
        let level = trimmed.bytes().take_while(|b| *b == b'#').count();
        if !in_code && (1..=6).contains(&level) && trimmed[level..].starts_with(' ') {
            flush(&heading, &mut text, &mut out);
            heading = trimmed[level..]
                .trim()
                .trim_end_matches('#')
                .trim()
                .to_owned();
            continue;
        }
        text.push_str(line);
        text.push('\n');
    }
    flush(&heading, &mut text, &mut out);
    out
}

/// `text` in pieces of at most [`MAX_PASSAGE_CHARS`], cut between paragraphs where it can.
fn chunks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for paragraph in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        if !current.is_empty()
            && current.chars().count() + paragraph.chars().count() > MAX_PASSAGE_CHARS
        {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push_str("\n\n");
        }
        current.push_str(paragraph);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RETURNS: &str = "# Returns\n\nWe want you to be happy.\n\n## How to return an item\n\n\
        Pack the item in its box and print the return label from your orders page. Drop it at \
        any post office within 30 days of delivery.\n\n## Refunds\n\nRefunds reach your card \
        within 5 working days after we receive the item.\n";
    const SHIPPING: &str = "# Shipping\n\n## Delivery times\n\nOrders ship within 2 days. \
        Delivery takes 3 to 5 days in Europe and up to 10 days elsewhere.\n\n```\n# not a heading\n```\n";

    fn kb() -> KnowledgeBase {
        KnowledgeBase::from_documents(&[
            ("returns.md".into(), RETURNS.into()),
            ("help/shipping.md".into(), SHIPPING.into()),
        ])
        .unwrap()
    }

    #[test]
    fn documents_are_cut_at_their_headings_with_anchors() {
        let cut = passages("returns.md", RETURNS);
        let headings: Vec<&str> = cut.iter().map(|p| p.heading.as_str()).collect();
        assert_eq!(headings, ["Returns", "How to return an item", "Refunds"]);
        assert!(cut.iter().all(|p| p.title == "Returns"));
        assert_eq!(cut[1].anchor, "how-to-return-an-item");
        assert_eq!(cut[1].link("/kb/"), "/kb/returns.md#how-to-return-an-item");
        assert_eq!(cut[1].label(), "Returns › How to return an item");
        let shipping = passages("help/shipping.md", SHIPPING);
        assert_eq!(shipping.len(), 1, "a # in a code block is not a heading");
        assert!(shipping[0].text.contains("# not a heading"));
        let untitled = passages("a/gift-cards.md", "Cards never expire.");
        assert_eq!(
            (untitled[0].title.as_str(), untitled[0].heading.as_str()),
            ("gift cards", "")
        );
        let long = "word ".repeat(200);
        let many = passages("x.md", &format!("# X\n\n{long}\n\n{long}\n\n{long}\n"));
        assert!(many.len() >= 2, "long sections are cut between paragraphs");
    }

    #[test]
    fn the_best_passage_answers_and_says_how_much_of_the_question_it_covers() {
        let kb = kb();
        assert_eq!(kb.passages(), 4);
        let hits = kb.search("How do I return an item?", 3);
        assert_eq!(hits[0].passage.heading, "How to return an item");
        assert!(hits[0].coverage >= 0.99, "{}", hits[0].coverage);
        let hits = kb.search("how long does delivery take to Europe", 3);
        assert_eq!(hits[0].passage.document, "help/shipping.md");
        let hits = kb.search("when do I get my refund", 3);
        assert_eq!(
            hits[0].passage.heading, "Refunds",
            "stemming: refund finds Refunds"
        );
        let unrelated = kb.search("do you sell garden furniture", 3);
        assert!(unrelated.iter().all(|h| h.coverage < 0.5), "{unrelated:?}");
        // Query syntax in a question is read as words.
        assert!(!kb.search("refund AND (card OR \"x", 3).is_empty());
        assert!(kb.search("the of and", 3).is_empty(), "only stop words");
        assert!(kb.search("", 3).is_empty());
    }

    #[test]
    fn a_folder_is_read_with_its_subfolders_and_hidden_files_left_out() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("help/.drafts")).unwrap();
        std::fs::write(dir.path().join("returns.md"), RETURNS).unwrap();
        std::fs::write(dir.path().join("help/shipping.md"), SHIPPING).unwrap();
        std::fs::write(
            dir.path().join("help/.drafts/secret.md"),
            "# Secret\n\nhidden",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not markdown").unwrap();
        let kb = KnowledgeBase::load(dir.path()).unwrap();
        assert_eq!(kb.passages(), 4);
        assert!(kb.search("secret hidden", 3).is_empty());
        assert_eq!(
            kb.search("delivery Europe", 1)[0].passage.document,
            "help/shipping.md"
        );
    }
}

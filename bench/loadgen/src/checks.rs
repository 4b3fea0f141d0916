//! Named pass/fail checks of a run; `--smoke` exits non-zero when one fails.

use serde_json::{Value, json};

/// A list of named checks; any failure makes `--smoke` exit non-zero.
#[derive(Default)]
pub struct Checks(Vec<(String, bool, String)>);

impl Checks {
    pub fn add(&mut self, name: String, ok: bool, detail: String) {
        if !ok {
            println!("  CHECK FAILED: {name}: {detail}");
        }
        self.0.push((name, ok, detail));
    }

    pub fn all_ok(&self) -> bool {
        self.0.iter().all(|(_, ok, _)| *ok)
    }

    pub fn json(&self) -> Value {
        Value::Array(
            self.0
                .iter()
                .map(|(name, ok, detail)| json!({"check": name, "ok": ok, "detail": detail}))
                .collect(),
        )
    }
}

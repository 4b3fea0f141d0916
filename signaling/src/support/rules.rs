//! When the assistant hands a conversation to a person. Each rule is configurable and stands
//! alone: the customer asks for a person; says an answer did not help; writes something
//! clearly negative (VADER's lexicon, the `vader_sentiment` crate); names a topic that always
//! goes to a person (refunds, broken things...); or the assistant was not sure several times
//! in a row. Outside office hours the customer is told when a person will be there.

use super::kb::stems;
use serde::Serialize;
use std::sync::LazyLock;

/// Why a conversation went to a person (the insight page counts them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    AskedForPerson,
    DidNotHelp,
    Negative,
    Topic,
    NotConfident,
}

impl Reason {
    pub const ALL: [Self; 5] = [
        Self::AskedForPerson,
        Self::DidNotHelp,
        Self::Negative,
        Self::Topic,
        Self::NotConfident,
    ];

    /// As stored and sent: `asked_for_person`...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AskedForPerson => "asked_for_person",
            Self::DidNotHelp => "did_not_help",
            Self::Negative => "negative",
            Self::Topic => "topic",
            Self::NotConfident => "not_confident",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    pub fn explain(self) -> &'static str {
        match self {
            Self::AskedForPerson => "the customer asked for a person",
            Self::DidNotHelp => "the customer said an answer did not help",
            Self::Negative => "the customer is upset",
            Self::Topic => "a topic a person always handles",
            Self::NotConfident => "the assistant was not sure, several times in a row",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Escalation {
    pub reason: Reason,
    /// What set it off (the topic's word, the sentiment score...).
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct Rules {
    /// Answers in a row the assistant was not sure of before a person takes over (0: never).
    pub unconfident_limit: u32,
    /// A message whose VADER compound score is below this goes to a person (-1.0: never).
    pub negative_below: f64,
    /// Words whose conversations always go to a person (matched by their English stem).
    pub topics: Vec<String>,
    pub hours: Option<OfficeHours>,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            unconfident_limit: 2,
            negative_below: -0.6,
            topics: [
                "refund",
                "broken",
                "replacement",
                "cancel",
                "damaged",
                "chargeback",
            ]
            .map(str::to_owned)
            .to_vec(),
            hours: None,
        }
    }
}

const PERSON: &[&str] = &[
    "human",
    "person",
    "agent",
    "representative",
    "operator",
    "real person",
    "someone real",
    "talk to someone",
    "speak to someone",
    "speak with someone",
    "talk with someone",
    "customer service",
    "staff",
    "somebody real",
];
const NOT_HELPED: &[&str] = &[
    "didnt help",
    "did not help",
    "doesnt help",
    "does not help",
    "not helpful",
    "unhelpful",
    "not what i asked",
    "didnt answer",
    "did not answer",
    "doesnt answer",
    "does not answer",
    "wrong answer",
    "useless",
    "that is not it",
    "thats not it",
    "no that",
    "not my question",
];

static SENTIMENT: LazyLock<vader_sentiment::SentimentIntensityAnalyzer<'static>> =
    LazyLock::new(vader_sentiment::SentimentIntensityAnalyzer::new);

/// Lower case, apostrophes dropped, other punctuation as spaces, one space between words,
/// with a space at each end so phrases match whole words.
fn normalized(text: &str) -> String {
    let mut out = String::from(" ");
    for c in text.chars() {
        match c {
            '\'' | '’' => {}
            c if c.is_alphanumeric() => out.extend(c.to_lowercase()),
            _ if !out.ends_with(' ') => out.push(' '),
            _ => {}
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
    out
}

fn says_any(text: &str, phrases: &'static [&'static str]) -> Option<&'static str> {
    let text = normalized(text);
    phrases
        .iter()
        .find(|p| text.contains(&format!(" {p} ")))
        .copied()
}

/// VADER's compound score of `text`: -1 (very negative) to 1 (very positive).
pub fn sentiment(text: &str) -> f64 {
    SENTIMENT
        .polarity_scores(text)
        .get("compound")
        .copied()
        .unwrap_or(0.0)
}

impl Rules {
    /// A customer's message, before the assistant answers it.
    pub fn on_message(&self, text: &str) -> Option<Escalation> {
        let words = stems(text);
        for topic in &self.topics {
            let stem = stems(topic);
            if !stem.is_empty() && words.windows(stem.len()).any(|w| w == stem.as_slice()) {
                return Some(Escalation {
                    reason: Reason::Topic,
                    detail: topic.clone(),
                });
            }
        }
        if let Some(phrase) = says_any(text, PERSON) {
            return Some(Escalation {
                reason: Reason::AskedForPerson,
                detail: phrase.to_owned(),
            });
        }
        if let Some(phrase) = says_any(text, NOT_HELPED) {
            return Some(Escalation {
                reason: Reason::DidNotHelp,
                detail: phrase.to_owned(),
            });
        }
        let score = sentiment(text);
        if self.negative_below > -1.0 && score < self.negative_below {
            return Some(Escalation {
                reason: Reason::Negative,
                detail: format!("sentiment {score:.2}"),
            });
        }
        None
    }

    /// After the assistant answered: `unsure_in_a_row` answers it was not sure of, this one
    /// included.
    pub fn after_answer(&self, unsure_in_a_row: u32) -> Option<Escalation> {
        (self.unconfident_limit > 0 && unsure_in_a_row >= self.unconfident_limit).then(|| {
            Escalation {
                reason: Reason::NotConfident,
                detail: format!("{unsure_in_a_row} answers in a row"),
            }
        })
    }
}

const DAY_MS: i64 = 86_400_000;
const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// When people answer: on some weekdays, from one time to another, in one UTC offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeHours {
    /// Monday first.
    pub days: [bool; 7],
    /// Minutes after midnight.
    pub open: u32,
    pub close: u32,
    /// Minutes east of UTC.
    pub offset: i32,
}

impl OfficeHours {
    /// Reads `Mon-Fri 09:00-17:00 +01:00` (days as a range or a list, `Mon,Wed,Fri`; the
    /// offset may be left out for UTC).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad =
            || format!("office hours must read like \"Mon-Fri 09:00-17:00 +01:00\", not {text:?}");
        let mut parts = text.split_whitespace();
        let (days_text, hours_text) =
            (parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?);
        let offset = match parts.next() {
            None => 0,
            Some(o) => {
                let sign = match o.chars().next() {
                    Some('+') => 1,
                    Some('-') => -1,
                    _ => return Err(bad()),
                };
                sign * i32::try_from(minutes(&o[1..]).ok_or_else(bad)?).map_err(|_| bad())?
            }
        };
        let day = |d: &str| DAYS.iter().position(|n| n.eq_ignore_ascii_case(d));
        let mut days = [false; 7];
        for item in days_text.split(',') {
            match item.split_once('-') {
                Some((from, to)) => {
                    let (from, to) = (day(from).ok_or_else(bad)?, day(to).ok_or_else(bad)?);
                    let mut d = from;
                    loop {
                        days[d] = true;
                        if d == to {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => days[day(item).ok_or_else(bad)?] = true,
            }
        }
        let (open, close) = hours_text.split_once('-').ok_or_else(bad)?;
        let (open, close) = (
            minutes(open).ok_or_else(bad)?,
            minutes(close).ok_or_else(bad)?,
        );
        if open >= close {
            return Err(bad());
        }
        Ok(Self {
            days,
            open,
            close,
            offset,
        })
    }

    fn local(&self, now_ms: i64) -> (usize, u32, i64) {
        let local = now_ms + i64::from(self.offset) * 60_000;
        let day_start = local.div_euclid(DAY_MS) * DAY_MS;
        // 1970-01-01 was a Thursday.
        let weekday = usize::try_from((local.div_euclid(DAY_MS) + 3).rem_euclid(7)).unwrap_or(0);
        let minute = u32::try_from((local - day_start) / 60_000).unwrap_or(0);
        (weekday, minute, day_start - i64::from(self.offset) * 60_000)
    }

    /// `None` while open; otherwise when it opens next (UTC ms).
    pub fn next_open(&self, now_ms: i64) -> Option<i64> {
        let (weekday, minute, day_start) = self.local(now_ms);
        if self.days[weekday] && (self.open..self.close).contains(&minute) {
            return None;
        }
        for ahead in 0..8 {
            let day = (weekday + ahead) % 7;
            if !self.days[day] || (ahead == 0 && minute >= self.open) {
                continue;
            }
            let ahead = i64::try_from(ahead).unwrap_or(0);
            return Some(day_start + ahead * DAY_MS + i64::from(self.open) * 60_000);
        }
        None
    }

    /// What the customer is told outside office hours.
    pub fn expectation(&self, now_ms: i64) -> Option<String> {
        let opens = self.next_open(now_ms)?;
        let (weekday, minute, _) = self.local(opens);
        let sign = if self.offset < 0 { '-' } else { '+' };
        let offset = self.offset.unsigned_abs();
        Some(format!(
            "Our team is away now. A person will answer from {} {:02}:{:02} (UTC{sign}{:02}:{:02}).",
            DAYS[weekday],
            minute / 60,
            minute % 60,
            offset / 60,
            offset % 60
        ))
    }
}

fn minutes(hh_mm: &str) -> Option<u32> {
    let (h, m) = hh_mm.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(rules: &Rules, text: &str) -> Option<Reason> {
        rules.on_message(text).map(|e| e.reason)
    }

    #[test]
    fn reasons_read_back_as_stored_and_as_serde_writes_them() {
        for reason in Reason::ALL {
            assert_eq!(Reason::parse(reason.as_str()), Some(reason));
            assert_eq!(
                serde_json::to_value(reason).unwrap(),
                serde_json::Value::String(reason.as_str().to_owned())
            );
        }
        assert_eq!(Reason::parse("bored"), None);
    }

    #[test]
    fn asking_for_a_person_goes_to_a_person() {
        let rules = Rules::default();
        for text in [
            "Can I talk to a human please?",
            "I want a real person",
            "let me speak to someone",
            "AGENT",
        ] {
            assert_eq!(reason(&rules, text), Some(Reason::AskedForPerson), "{text}");
        }
        assert_eq!(reason(&rules, "How do I change my password?"), None);
        assert_eq!(reason(&rules, "humane society"), None, "whole words only");
    }

    #[test]
    fn saying_an_answer_did_not_help_goes_to_a_person() {
        let rules = Rules::default();
        for text in [
            "That didn't help",
            "this is not what I asked",
            "Not helpful.",
        ] {
            assert_eq!(reason(&rules, text), Some(Reason::DidNotHelp), "{text}");
        }
        assert_eq!(reason(&rules, "That helped, thanks!"), None);
    }

    #[test]
    fn a_clearly_negative_message_goes_to_a_person() {
        let rules = Rules::default();
        let angry = "This is terrible, I am furious and your service is awful";
        assert!(sentiment(angry) < -0.6, "{}", sentiment(angry));
        assert_eq!(reason(&rules, angry), Some(Reason::Negative));
        assert_eq!(reason(&rules, "My parcel is a bit late, no big deal"), None);
        let never = Rules {
            negative_below: -1.0,
            ..Rules::default()
        };
        assert_eq!(reason(&never, angry), None, "the rule can be turned off");
    }

    #[test]
    fn some_topics_always_go_to_a_person() {
        let rules = Rules::default();
        for (text, topic) in [
            ("I would like a refund for order 12", "refund"),
            ("the screen arrived broken", "broken"),
            ("can you send a replacement", "replacement"),
            ("please replace it", "replacement"),
            ("I cancelled my order", "cancel"),
        ] {
            let found = rules.on_message(text).unwrap();
            assert_eq!(
                (found.reason, found.detail.as_str()),
                (Reason::Topic, topic),
                "{text}"
            );
        }
        let custom = Rules {
            topics: vec!["invoice".into()],
            ..Rules::default()
        };
        assert_eq!(reason(&custom, "where is my invoice"), Some(Reason::Topic));
        assert_eq!(
            reason(&custom, "I need a refund"),
            None,
            "only the configured topics"
        );
    }

    #[test]
    fn answers_the_assistant_was_not_sure_of_go_to_a_person_after_a_few() {
        let rules = Rules::default();
        assert_eq!(rules.after_answer(1), None);
        assert_eq!(
            rules.after_answer(2).map(|e| e.reason),
            Some(Reason::NotConfident)
        );
        let never = Rules {
            unconfident_limit: 0,
            ..Rules::default()
        };
        assert_eq!(never.after_answer(10), None);
    }

    #[test]
    fn outside_office_hours_the_customer_is_told_when_a_person_answers() {
        let hours = OfficeHours::parse("Mon-Fri 09:00-17:00 +01:00").unwrap();
        assert_eq!(hours.days, [true, true, true, true, true, false, false]);
        // 2026-12-07 is a Monday. 10:00 UTC is 11:00 at +01:00: open.
        let monday_10_utc = 1_796_637_600_000;
        assert_eq!(hours.next_open(monday_10_utc), None);
        assert_eq!(hours.expectation(monday_10_utc), None);
        // Friday 20:00 UTC: next Monday 09:00 at +01:00, which is 08:00 UTC.
        let friday_20_utc = monday_10_utc + 4 * DAY_MS + 10 * 3_600_000;
        let opens = hours.next_open(friday_20_utc).unwrap();
        assert_eq!(opens, monday_10_utc + 7 * DAY_MS - 2 * 3_600_000);
        assert_eq!(
            hours.expectation(friday_20_utc).unwrap(),
            "Our team is away now. A person will answer from Mon 09:00 (UTC+01:00)."
        );
        // Early on a weekday: the same day.
        let tuesday_6_utc = monday_10_utc + DAY_MS - 4 * 3_600_000;
        assert_eq!(
            hours.next_open(tuesday_6_utc),
            Some(monday_10_utc + DAY_MS - 2 * 3_600_000)
        );
        let weekend = OfficeHours::parse("Sat,Sun 10:00-12:30").unwrap();
        assert_eq!(
            weekend.days,
            [false, false, false, false, false, true, true]
        );
        for bad in [
            "",
            "Mon-Fri",
            "Mon-Fri 17:00-09:00",
            "Funday 09:00-17:00",
            "Mon 9-5",
        ] {
            assert!(OfficeHours::parse(bad).is_err(), "{bad:?}");
        }
    }
}

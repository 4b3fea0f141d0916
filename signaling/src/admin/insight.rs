//! The insight page: counts made where things happen (a message stored, a delivery, a user
//! let in), kept in memory per node and added to the database's hourly and daily aggregates
//! every 30 s, so a view reads a few hundred rows and never the messages.

use crate::error::ApiFailure;
use crate::state::AppState;
use crate::store::{Storage, UserId};
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use shared::RoomId;
use shared::admin::{DayCount, EscalationCount, HourCount, Insight, Latency, SupportInsight};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;
/// Histogram buckets per doubling of the latency (about 19 % apart).
const STEPS_PER_DOUBLING: f64 = 4.0;

#[derive(Default)]
struct Counts {
    messages: HashMap<(i64, RoomId), u64>,
    latencies: HashMap<(i64, u32), u64>,
    active: HashSet<(i64, UserId)>,
    /// Users already written as active on `day` (so each is written once a day).
    written: HashSet<UserId>,
    day: i64,
}

/// This node's counts since its last flush.
#[derive(Default)]
pub struct Activity {
    counts: Mutex<Counts>,
}

/// The histogram bucket of a latency in microseconds: bucket `b` holds latencies up to
/// 2^((b + 1) / 4) µs.
pub fn bucket(latency_us: u64) -> u32 {
    // Precision: a u64 in an f64 loses nothing that matters at these sizes.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let b = ((latency_us as f64 + 1.0).log2() * STEPS_PER_DOUBLING).floor() as u32;
    b
}

/// The upper edge of bucket `b`, in milliseconds.
fn bucket_ms(b: u32) -> f64 {
    (f64::from(b + 1) / STEPS_PER_DOUBLING).exp2() / 1000.0
}

/// The `p`-quantile (0..1) of a histogram of (bucket, count), as its bucket's upper edge.
pub fn quantile(histogram: &[(u32, u64)], p: f64) -> Option<f64> {
    let mut sorted = histogram.to_vec();
    sorted.sort_unstable();
    let total: u64 = sorted.iter().map(|(_, c)| c).sum();
    if total == 0 {
        return None;
    }
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let rank = ((total as f64) * p).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (b, count) in sorted {
        seen += count;
        if seen >= rank {
            return Some(bucket_ms(b));
        }
    }
    None
}

impl Activity {
    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().expect("activity counts poisoned")
    }

    /// A message of `room` was stored at `at_ms` and took `latency_us` from reaching the
    /// server to being in every recipient's queue (and acknowledged). One lock per message:
    /// this is on the send path.
    pub fn message(&self, room: &RoomId, at_ms: i64, latency_us: u64) {
        let hour = at_ms - at_ms.rem_euclid(HOUR_MS);
        let mut counts = self.counts();
        *counts.messages.entry((hour, room.clone())).or_default() += 1;
        *counts
            .latencies
            .entry((hour, bucket(latency_us)))
            .or_default() += 1;
    }

    /// `user` was let in (a request or a socket) at `now_ms`.
    pub fn active(&self, user: UserId, now_ms: i64) {
        let day = now_ms - now_ms.rem_euclid(DAY_MS);
        let mut counts = self.counts();
        if counts.day != day {
            counts.day = day;
            counts.written.clear();
        }
        if counts.written.insert(user) {
            counts.active.insert((day, user));
        }
    }

    /// Adds the counts to the database; on failure they are kept for the next flush.
    pub async fn flush(&self, store: &dyn Storage) {
        let (messages, latencies, active) = {
            let mut counts = self.counts();
            (
                std::mem::take(&mut counts.messages),
                std::mem::take(&mut counts.latencies),
                std::mem::take(&mut counts.active),
            )
        };
        if messages.is_empty() && latencies.is_empty() && active.is_empty() {
            return;
        }
        // In one order on every node, so two nodes' upserts of the same rows cannot deadlock.
        let mut hours: Vec<(i64, RoomId, u64)> = messages
            .iter()
            .map(|((h, r), n)| (*h, r.clone(), *n))
            .collect();
        hours.sort_unstable();
        let mut lat: Vec<(i64, u32, u64)> =
            latencies.iter().map(|((h, b), n)| (*h, *b, *n)).collect();
        lat.sort_unstable();
        let mut users: Vec<(i64, UserId)> = active.iter().copied().collect();
        users.sort_unstable();
        if let Err(e) = store.record_activity(&hours, &lat, &users).await {
            tracing::warn!(error = %e, "could not write the activity counts; kept for later");
            let mut counts = self.counts();
            for (key, n) in messages {
                *counts.messages.entry(key).or_default() += n;
            }
            for (key, n) in latencies {
                *counts.latencies.entry(key).or_default() += n;
            }
            counts.active.extend(active);
        }
    }
}

/// Fills the hours or days without a row with zeros: `count` slots of `step` ms ending with
/// the one that holds `now_ms`.
fn filled<T>(
    rows: &[T],
    now_ms: i64,
    step: i64,
    slots: i64,
    at: impl Fn(&T) -> i64,
    value: impl Fn(&T) -> u64,
) -> Vec<(i64, u64)> {
    let last = now_ms - now_ms.rem_euclid(step);
    (0..slots)
        .rev()
        .map(|back| {
            let slot = last - back * step;
            let total = rows.iter().filter(|r| at(r) == slot).map(&value).sum();
            (slot, total)
        })
        .collect()
}

/// `GET /api/admin/insight`.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Insight>, ApiFailure> {
    super::api::admin_only(&state, &headers).await?;
    // This node's latest counts first, so the page is current here.
    state.admin.activity.flush(state.store.as_ref()).await;
    let now = crate::now_ms();
    let rows = state.store.insight(now).await?;
    let hourly = filled(&rows.hourly, now, HOUR_MS, 48, |r| r.at_ms, |r| r.messages)
        .into_iter()
        .map(|(at_ms, messages)| HourCount { at_ms, messages })
        .collect();
    let days = |list: &[DayCount]| -> Vec<DayCount> {
        filled(list, now, DAY_MS, 30, |r| r.at_ms, |r| r.users)
            .into_iter()
            .map(|(at_ms, users)| DayCount { at_ms, users })
            .collect()
    };
    let deliveries = rows.latency.iter().map(|(_, c)| c).sum();
    let support = match &state.support {
        Some(_) => Some(support_insight(
            state.store.support_figures(now - 30 * DAY_MS).await?,
        )),
        None => None,
    };
    Ok(Json(Insight {
        hourly,
        busiest_rooms: rows.busiest_rooms,
        daily_active: days(&rows.daily_active),
        weekly_active: rows.weekly_active,
        signups: days(&rows.signups),
        latency: Latency {
            p50_ms: quantile(&rows.latency, 0.5),
            p99_ms: quantile(&rows.latency, 0.99),
            deliveries,
        },
        support,
    }))
}

fn support_insight(figures: crate::store::SupportFigures) -> SupportInsight {
    SupportInsight {
        conversations: figures.conversations,
        without_person: figures.without_person,
        median_first_reply_ms: figures.median_first_reply_ms,
        escalations: figures
            .escalations
            .into_iter()
            .map(|(reason, count)| EscalationCount {
                explained: crate::support::rules::Reason::parse(&reason)
                    .map_or("", crate::support::rules::Reason::explain)
                    .to_owned(),
                reason,
                count,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_grow_by_a_fifth() {
        assert_eq!(bucket(0), 0);
        assert!(bucket(1_000) < bucket(1_200));
        // 1 ms lands in a bucket whose upper edge is within 19 % above it.
        let edge = bucket_ms(bucket(1_000));
        assert!((1.0..1.19).contains(&edge), "{edge}");
    }

    #[test]
    fn quantiles_come_from_the_histogram() {
        // 98 deliveries of ~1 ms, 2 of ~100 ms.
        let histogram = vec![(bucket(1_000), 98), (bucket(100_000), 2)];
        let p50 = quantile(&histogram, 0.5).unwrap();
        let p99 = quantile(&histogram, 0.99).unwrap();
        assert!((1.0..1.2).contains(&p50), "{p50}");
        assert!((100.0..120.0).contains(&p99), "{p99}");
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn missing_hours_are_zero() {
        let now = 10 * HOUR_MS + 5;
        let rows = vec![(9 * HOUR_MS, 3u64), (7 * HOUR_MS, 1)];
        let out = filled(&rows, now, HOUR_MS, 4, |r| r.0, |r| r.1);
        assert_eq!(
            out,
            vec![
                (7 * HOUR_MS, 1),
                (8 * HOUR_MS, 0),
                (9 * HOUR_MS, 3),
                (10 * HOUR_MS, 0)
            ]
        );
    }

    #[test]
    fn a_user_counts_once_a_day() {
        let activity = Activity::default();
        activity.active(UserId(1), 5);
        activity.active(UserId(1), 6);
        activity.active(UserId(1), DAY_MS + 1);
        assert_eq!(activity.counts().active.len(), 2);
    }
}

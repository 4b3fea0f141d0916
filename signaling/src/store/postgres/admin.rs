//! Server administration on PostgreSQL (migration 0011, `crate::admin`). Made from
//! `sqlite/admin.rs` by `scripts/pg-admin.py`: do not edit, change that file and run it.

use crate::store::{ReportDraft, ReportRow, StoreError, UserId};
use shared::RoomId;
use shared::Seq;
use shared::admin::{
    AdminRoom, AdminUser, AuditEntry, DayCount, HourCount, Report, ReportStatus, RoomCount,
};
use sqlx::{PgPool, Row};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// `%text%` for `LIKE ... ESCAPE '\'`, with the pattern characters in `text` escaped.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

pub async fn set_deactivated(
    pool: &PgPool,
    user: UserId,
    at_ms: Option<i64>,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE users SET deactivated_at = $1 WHERE id = $2")
        .bind(at_ms)
        .bind(user.0)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn is_deactivated(pool: &PgPool, user: UserId) -> Result<bool, StoreError> {
    let at: Option<Option<i64>> =
        sqlx::query_scalar("SELECT deactivated_at FROM users WHERE id = $1")
            .bind(user.0)
            .fetch_optional(pool)
            .await?;
    Ok(matches!(at, Some(Some(_))))
}

pub async fn set_admin(pool: &PgPool, user: UserId, admin: bool) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE users SET admin = $1 WHERE id = $2")
        .bind(i64::from(admin))
        .bind(user.0)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn admin_users(
    pool: &PgPool,
    query: &str,
    limit: u32,
    now_ms: i64,
) -> Result<Vec<AdminUser>, StoreError> {
    let rows = sqlx::query(
        "SELECT u.username, u.display_name, u.admin,
                CAST(CASE WHEN u.deactivated_at IS NULL THEN 0 ELSE 1 END AS BIGINT),
                u.created_at, u.last_seen_at,
                (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > $1),
                (SELECT MAX(s.last_used_at) FROM sessions s WHERE s.user_id = u.id),
                u.silenced_until
         FROM users u
         WHERE $2 = '' OR u.username ILIKE $3 ESCAPE '\\' OR u.display_name ILIKE $4 ESCAPE '\\'
         ORDER BY u.username
         LIMIT $5",
    )
    .bind(now_ms)
    .bind(query)
    .bind(contains_pattern(query))
    .bind(contains_pattern(query))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| AdminUser {
            username: r.get(0),
            display_name: r.get(1),
            admin: r.get::<i64, _>(2) == 1,
            deactivated: r.get::<i64, _>(3) == 1,
            created_at_ms: r.get(4),
            // Last seen offline, or a session used since (someone online now has no
            // last-seen time yet).
            last_seen_ms: r.get::<Option<i64>, _>(5).max(r.get::<Option<i64>, _>(7)),
            sessions: u32::try_from(r.get::<i64, _>(6)).unwrap_or(u32::MAX),
            silenced_until_ms: Some(r.get::<i64, _>(8)).filter(|until| *until > now_ms),
        })
        .collect())
}

const ROOM_COLUMNS: &str = "r.id, r.name, r.kind, r.member_count, r.last_seq,
    (SELECT e.at FROM events e WHERE e.room_id = r.id AND e.seq = r.last_seq),
    (SELECT u.username FROM members m JOIN users u ON u.id = m.user_id
     WHERE m.room_id = r.id AND m.role = 'owner' LIMIT 1),
    r.retention_days
    FROM rooms r";

fn room_from_row(r: &sqlx::postgres::PgRow) -> AdminRoom {
    AdminRoom {
        id: RoomId(r.get(0)),
        name: r.get(1),
        kind: r.get(2),
        members: u32::try_from(r.get::<i64, _>(3)).unwrap_or(0),
        messages: r.get(4),
        last_activity_ms: r.get(5),
        owner: r.get(6),
        retention_days: r
            .get::<Option<i64>, _>(7)
            .and_then(|d| u32::try_from(d).ok()),
    }
}

pub async fn admin_rooms(
    pool: &PgPool,
    query: &str,
    limit: u32,
) -> Result<Vec<AdminRoom>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {ROOM_COLUMNS}
         WHERE r.deleted = 0 AND ($1 = '' OR r.name ILIKE $2 ESCAPE '\\' OR r.id = $3)
         ORDER BY r.last_seq DESC, r.id
         LIMIT $4"
    ))
    .bind(query)
    .bind(contains_pattern(query))
    .bind(query)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(room_from_row).collect())
}

/// The room `room` exactly (not deleted).
pub async fn admin_room(pool: &PgPool, room: &RoomId) -> Result<Option<AdminRoom>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {ROOM_COLUMNS} WHERE r.id = $1 AND r.deleted = 0"
    ))
    .bind(&room.0)
    .fetch_optional(pool)
    .await?;
    Ok(row.as_ref().map(room_from_row))
}

/// Empties a room for good: its members (returned), events, reactions, links, bans, offers,
/// calls and reports go; its files are released for the collector. The row stays, marked
/// deleted, so the id is never given again. `None`: no such room (or the lobby).
pub async fn delete_room(pool: &PgPool, room: &RoomId) -> Result<Option<Vec<UserId>>, StoreError> {
    let mut tx = pool.begin().await?;
    // The room's row first: on PostgreSQL its lock makes every writer of the room wait, and
    // find no room after.
    let marked = sqlx::query(
        "UPDATE rooms SET deleted = 1, name = '', topic = '', avatar = NULL, direct_key = NULL
         WHERE id = $1 AND deleted = 0 AND id != 'lobby'",
    )
    .bind(&room.0)
    .execute(&mut *tx)
    .await?;
    if marked.rows_affected() == 0 {
        return Ok(None);
    }
    let members: Vec<i64> = sqlx::query_scalar("SELECT user_id FROM members WHERE room_id = $1")
        .bind(&room.0)
        .fetch_all(&mut *tx)
        .await?;
    for statement in [
        "UPDATE attachments SET released = 1 WHERE room_id = $1",
        "DELETE FROM reactions WHERE room_id = $1",
        "DELETE FROM push_outbox WHERE room_id = $1",
        "DELETE FROM file_offers WHERE room_id = $1",
        "DELETE FROM invites WHERE room_id = $1",
        "DELETE FROM bans WHERE room_id = $1",
        "DELETE FROM call_sockets WHERE room_id = $1",
        "DELETE FROM live_calls WHERE room_id = $1",
        "DELETE FROM reports WHERE room_id = $1",
        "DELETE FROM members WHERE room_id = $1",
        "UPDATE events SET attachment_id = NULL WHERE room_id = $1",
        "DELETE FROM events WHERE room_id = $1",
    ] {
        sqlx::query(statement)
            .bind(&room.0)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Some(members.into_iter().map(UserId).collect()))
}

pub async fn set_room_retention(
    pool: &PgPool,
    room: &RoomId,
    days: Option<u32>,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE rooms SET retention_days = $1 WHERE id = $2 AND deleted = 0")
        .bind(days.map(i64::from))
        .bind(&room.0)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn setting(pool: &PgPool, key: &str) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(pool)
            .await?,
    )
}

pub async fn put_setting(pool: &PgPool, key: &str, value: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(pool)
    .await?;
    Ok(())
}

/// Rooms whose retention (their own, else `default_days`; 0 keeps everything) has messages to
/// delete: (room, days).
pub async fn retention_rooms(
    pool: &PgPool,
    default_days: Option<u32>,
) -> Result<Vec<(RoomId, u32)>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, COALESCE(retention_days, $1) FROM rooms
         WHERE deleted = 0 AND COALESCE(retention_days, $2) > 0",
    )
    .bind(default_days.map(i64::from))
    .bind(default_days.map(i64::from))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let days = u32::try_from(r.get::<i64, _>(1)).ok()?;
            Some((RoomId(r.get(0)), days))
        })
        .collect())
}

/// Deletes `room`'s events stored before `cutoff_ms` (every event up to the newest such seq,
/// so what is left is one unbroken run), at most `chunk` of them past the floor per call, and
/// raises the room's floor to what went; the files only deleted messages carried are
/// released. Returns how many events went (0: nothing more to delete).
pub async fn expire_room(
    pool: &PgPool,
    room: &RoomId,
    cutoff_ms: i64,
    chunk: i64,
) -> Result<u64, StoreError> {
    let mut tx = pool.begin().await?;
    // A write first: it takes SQLite's write lock before anything is read (a read first
    // could not be upgraded while others commit), and on PostgreSQL the room's row lock, which
    // every writer of the room takes first too, so the two cannot deadlock.
    let locked = sqlx::query("UPDATE rooms SET history_floor = history_floor WHERE id = $1")
        .bind(&room.0)
        .execute(&mut *tx)
        .await?;
    if locked.rows_affected() == 0 {
        return Ok(0);
    }
    let row = sqlx::query(
        "SELECT history_floor, (SELECT MAX(seq) FROM events WHERE room_id = $1 AND at < $2)
         FROM rooms WHERE id = $3",
    )
    .bind(&room.0)
    .bind(cutoff_ms)
    .bind(&room.0)
    .fetch_one(&mut *tx)
    .await?;
    let floor: i64 = row.get(0);
    let Some(newest_old) = row.get::<Option<i64>, _>(1).filter(|s| *s > floor) else {
        return Ok(0);
    };
    let through = newest_old.min(floor.saturating_add(chunk.max(1)));
    // A file goes with its last message: not while a message that stays carries it too.
    sqlx::query(
        "UPDATE attachments SET released = 1 WHERE id IN
             (SELECT attachment_id FROM events
              WHERE room_id = $1 AND seq <= $2 AND attachment_id IS NOT NULL)
         AND NOT EXISTS (SELECT 1 FROM events e WHERE e.attachment_id = attachments.id
                         AND NOT (e.room_id = $3 AND e.seq <= $4))",
    )
    .bind(&room.0)
    .bind(through)
    .bind(&room.0)
    .bind(through)
    .execute(&mut *tx)
    .await?;
    for statement in [
        "DELETE FROM reactions WHERE room_id = $1 AND seq <= $2",
        "DELETE FROM push_outbox WHERE room_id = $1 AND seq <= $2",
        // Answered reports keep a copy of the text: it goes with the message. Open ones stay
        // until a moderator answers them.
        "DELETE FROM reports WHERE room_id = $1 AND seq <= $2 AND status != 'open'",
    ] {
        sqlx::query(statement)
            .bind(&room.0)
            .bind(through)
            .execute(&mut *tx)
            .await?;
    }
    let deleted = sqlx::query("DELETE FROM events WHERE room_id = $1 AND seq <= $2")
        .bind(&room.0)
        .bind(through)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query("UPDATE rooms SET history_floor = $1 WHERE id = $2")
        .bind(through)
        .bind(&room.0)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(deleted)
}

pub async fn history_floor(pool: &PgPool, room: &RoomId) -> Result<Seq, StoreError> {
    let floor: Option<i64> = sqlx::query_scalar("SELECT history_floor FROM rooms WHERE id = $1")
        .bind(&room.0)
        .fetch_optional(pool)
        .await?;
    Ok(Seq(floor.unwrap_or(0)))
}

/// Stores a report; `None` when this reporter reported this message before.
pub async fn add_report(pool: &PgPool, report: &ReportDraft) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO reports (room_id, seq, sender_id, sender, body, reporter_id, reason, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (room_id, seq, reporter_id) DO NOTHING
         RETURNING id",
    )
    .bind(&report.room.0)
    .bind(report.seq.0)
    .bind(report.sender.id.0)
    .bind(&report.sender.name)
    .bind(&report.body)
    .bind(report.reporter.0)
    .bind(&report.reason)
    .bind(report.at_ms)
    .fetch_optional(pool)
    .await?)
}

pub async fn open_reports_by(pool: &PgPool, reporter: UserId) -> Result<u64, StoreError> {
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM reports WHERE reporter_id = $1 AND status = 'open'",
    )
    .bind(reporter.0)
    .fetch_one(pool)
    .await?;
    Ok(count.unsigned_abs())
}

const REPORT_COLUMNS: &str = "p.id, p.room_id, r.name, p.seq, p.sender, p.body, p.reason,
    u.username, p.status, p.created_at, p.handled_by, p.handled_at, p.reporter_id, p.sender_id
    FROM reports p JOIN rooms r ON r.id = p.room_id JOIN users u ON u.id = p.reporter_id";

fn report_from_row(r: &sqlx::postgres::PgRow) -> Result<ReportRow, StoreError> {
    let status: String = r.get(8);
    Ok(ReportRow {
        report: Report {
            id: r.get(0),
            room: RoomId(r.get(1)),
            room_name: r.get(2),
            seq: r.get(3),
            sender: r.get(4),
            body: r.get(5),
            reason: r.get(6),
            reporter: Some(r.get(7)),
            status: ReportStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("report status {status}")))?,
            created_at_ms: r.get(9),
            handled_by: r.get(10),
            handled_at_ms: r.get(11),
        },
        reporter: UserId(r.get(12)),
        sender: UserId(r.get(13)),
    })
}

/// Reports, newest first: all of them (`moderator` `None`), or those of rooms `moderator`
/// owns or administers; open ones only unless `handled`.
pub async fn reports(
    pool: &PgPool,
    moderator: Option<UserId>,
    handled: bool,
    limit: u32,
) -> Result<Vec<ReportRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {REPORT_COLUMNS}
         WHERE ($1 = 1 OR p.status = 'open')
           AND ($2 IS NULL OR EXISTS (
               SELECT 1 FROM members v
               WHERE v.room_id = p.room_id AND v.user_id = $3 AND v.role IN ('owner', 'admin')
                 AND p.sender_id != v.user_id
                 AND (CASE v.role WHEN 'owner' THEN 2 ELSE 1 END) > COALESCE(
                     (SELECT CASE s.role WHEN 'owner' THEN 2 WHEN 'admin' THEN 1 ELSE 0 END
                      FROM members s WHERE s.room_id = p.room_id AND s.user_id = p.sender_id),
                     0)))
         ORDER BY p.id DESC LIMIT $4"
    ))
    .bind(i64::from(handled))
    .bind(moderator.map(|m| m.0))
    .bind(moderator.map(|m| m.0))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(report_from_row).collect()
}

pub async fn reports_by(
    pool: &PgPool,
    reporter: UserId,
    limit: u32,
) -> Result<Vec<ReportRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {REPORT_COLUMNS} WHERE p.reporter_id = $1 ORDER BY p.id DESC LIMIT $2"
    ))
    .bind(reporter.0)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(report_from_row).collect()
}

pub async fn report(pool: &PgPool, id: i64) -> Result<Option<ReportRow>, StoreError> {
    let row = sqlx::query(&format!("SELECT {REPORT_COLUMNS} WHERE p.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(report_from_row).transpose()
}

/// Gives every open report of the message `seq` of `room` its outcome; returns the
/// reporters told nothing yet (each once).
pub async fn close_reports(
    pool: &PgPool,
    room: &RoomId,
    seq: Seq,
    status: ReportStatus,
    by: &str,
    at_ms: i64,
) -> Result<Vec<UserId>, StoreError> {
    let reporters: Vec<i64> = sqlx::query_scalar(
        "UPDATE reports SET status = $1, handled_by = $2, handled_at = $3
         WHERE room_id = $4 AND seq = $5 AND status = 'open'
         RETURNING reporter_id",
    )
    .bind(status.as_str())
    .bind(by)
    .bind(at_ms)
    .bind(&room.0)
    .bind(seq.0)
    .fetch_all(pool)
    .await?;
    Ok(reporters.into_iter().map(UserId).collect())
}

/// Opens again the reports [`close_reports`] closed with `by` at `at_ms` (their answer could
/// not be carried out).
pub async fn reopen_reports(
    pool: &PgPool,
    room: &RoomId,
    seq: Seq,
    by: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE reports SET status = 'open', handled_by = NULL, handled_at = NULL
         WHERE room_id = $1 AND seq = $2 AND handled_by = $3 AND handled_at = $4",
    )
    .bind(&room.0)
    .bind(seq.0)
    .bind(by)
    .bind(at_ms)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn audit(
    pool: &PgPool,
    at_ms: i64,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(at_ms)
    .bind(actor)
    .bind(action)
    .bind(target)
    .bind(detail)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn audit_log(
    pool: &PgPool,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<AuditEntry>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, at, actor, action, target, detail FROM audit_log
         WHERE $1 IS NULL OR id < $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(before)
    .bind(before)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| AuditEntry {
            id: r.get(0),
            at_ms: r.get(1),
            actor: r.get(2),
            action: r.get(3),
            target: r.get(4),
            detail: r.get(5),
        })
        .collect())
}

pub async fn set_silenced(pool: &PgPool, user: UserId, until_ms: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET silenced_until = $1 WHERE id = $2")
        .bind(until_ms)
        .bind(user.0)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn silenced_until(pool: &PgPool, user: UserId) -> Result<i64, StoreError> {
    let until: Option<i64> = sqlx::query_scalar("SELECT silenced_until FROM users WHERE id = $1")
        .bind(user.0)
        .fetch_optional(pool)
        .await?;
    Ok(until.unwrap_or(0))
}

/// Adds a node's counts since its last flush (see `crate::admin::insight`).
pub async fn record_activity(
    pool: &PgPool,
    hours: &[(i64, RoomId, u64)],
    latencies: &[(i64, u32, u64)],
    active: &[(i64, UserId)],
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for (hour, room, messages) in hours {
        sqlx::query(
            "INSERT INTO activity_hours (hour, room_id, messages) VALUES ($1, $2, $3)
             ON CONFLICT (hour, room_id) DO UPDATE
             SET messages = activity_hours.messages + excluded.messages",
        )
        .bind(hour)
        .bind(&room.0)
        .bind(i64::try_from(*messages).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
    }
    for (hour, bucket, count) in latencies {
        sqlx::query(
            "INSERT INTO latency_hours (hour, bucket, count) VALUES ($1, $2, $3)
             ON CONFLICT (hour, bucket) DO UPDATE
             SET count = latency_hours.count + excluded.count",
        )
        .bind(hour)
        .bind(i64::from(*bucket))
        .bind(i64::try_from(*count).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
    }
    for (day, user) in active {
        sqlx::query(
            "INSERT INTO active_days (day, user_id) VALUES ($1, $2)
             ON CONFLICT (day, user_id) DO NOTHING",
        )
        .bind(day)
        .bind(user.0)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Forgets the insight aggregates older than `before_ms` (the page reads 8 weeks at most).
pub async fn prune_activity(pool: &PgPool, before_ms: i64) -> Result<(), StoreError> {
    for statement in [
        "DELETE FROM activity_hours WHERE hour < $1",
        "DELETE FROM latency_hours WHERE hour < $1",
        "DELETE FROM active_days WHERE day < $1",
    ] {
        sqlx::query(statement).bind(before_ms).execute(pool).await?;
    }
    Ok(())
}

fn count(value: i64) -> u64 {
    value.max(0).unsigned_abs()
}

/// The insight page's figures, read from the aggregates (never from the messages).
pub async fn insight(pool: &PgPool, now_ms: i64) -> Result<crate::store::InsightRows, StoreError> {
    let this_hour = now_ms - now_ms.rem_euclid(HOUR_MS);
    let first_hour = this_hour - 47 * HOUR_MS;
    let today = now_ms - now_ms.rem_euclid(DAY_MS);
    let first_day = today - 29 * DAY_MS;
    let rows = sqlx::query(
        "SELECT hour, CAST(SUM(messages) AS BIGINT) FROM activity_hours
         WHERE hour >= $1 GROUP BY hour",
    )
    .bind(first_hour)
    .fetch_all(pool)
    .await?;
    let hourly = rows
        .iter()
        .map(|r| HourCount {
            at_ms: r.get(0),
            messages: count(r.get(1)),
        })
        .collect();
    let rows = sqlx::query(
        "SELECT a.room_id, r.name, CAST(SUM(a.messages) AS BIGINT) AS total
         FROM activity_hours a JOIN rooms r ON r.id = a.room_id
         WHERE a.hour >= $1 AND r.deleted = 0
         GROUP BY a.room_id, r.name ORDER BY total DESC, a.room_id LIMIT 10",
    )
    .bind(today - 6 * DAY_MS)
    .fetch_all(pool)
    .await?;
    let busiest_rooms = rows
        .iter()
        .map(|r| RoomCount {
            room: RoomId(r.get(0)),
            name: r.get(1),
            messages: count(r.get(2)),
        })
        .collect();
    let rows = sqlx::query("SELECT day, COUNT(*) FROM active_days WHERE day >= $1 GROUP BY day")
        .bind(first_day)
        .fetch_all(pool)
        .await?;
    let daily_active = rows
        .iter()
        .map(|r| DayCount {
            at_ms: r.get(0),
            users: count(r.get(1)),
        })
        .collect();
    let mut weekly_active = Vec::new();
    for week in (0..8).rev() {
        let end = today + DAY_MS - week * 7 * DAY_MS;
        let start = end - 7 * DAY_MS;
        let users: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT user_id) FROM active_days WHERE day >= $1 AND day < $2",
        )
        .bind(start)
        .bind(end)
        .fetch_one(pool)
        .await?;
        weekly_active.push(DayCount {
            at_ms: start,
            users: count(users),
        });
    }
    let rows = sqlx::query(
        "SELECT (created_at / 86400000) * 86400000 AS day, COUNT(*) FROM users
         WHERE created_at >= $1 AND bot = 0 AND guest = 0 GROUP BY day",
    )
    .bind(first_day)
    .fetch_all(pool)
    .await?;
    let signups = rows
        .iter()
        .map(|r| DayCount {
            at_ms: r.get(0),
            users: count(r.get(1)),
        })
        .collect();
    let rows = sqlx::query(
        "SELECT bucket, CAST(SUM(count) AS BIGINT) FROM latency_hours
         WHERE hour >= $1 GROUP BY bucket",
    )
    .bind(this_hour - 23 * HOUR_MS)
    .fetch_all(pool)
    .await?;
    let latency = rows
        .iter()
        .map(|r| {
            (
                u32::try_from(r.get::<i64, _>(0)).unwrap_or(0),
                count(r.get(1)),
            )
        })
        .collect();
    Ok(crate::store::InsightRows {
        hourly,
        busiest_rooms,
        daily_active,
        weekly_active,
        signups,
        latency,
    })
}

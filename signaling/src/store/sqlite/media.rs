//! Files left on the server, on SQLite (see migration 0018 and `crate::media`).

use crate::store::columns::file_from_row;
use crate::store::{SealedFile, StoreError, StoredFile, UploadRefused, UserId};
use shared::RoomId;
use sqlx::{Row, SqlitePool};

const COLUMNS: &str = "a.id, a.user_id, a.room_id, a.name, a.size, a.mime, a.hash, a.thumb,
    a.width, a.height, a.released, a.created_at,
    EXISTS (SELECT 1 FROM events e WHERE e.attachment_id = a.id)";

/// [`COLUMNS`], in the order [`file_from_row`] reads them, for a `RETURNING` clause (SQLite takes no table alias there); a deleted row is
/// carried by no message.
const RETURNED: &str = "id, user_id, room_id, name, size, mime, hash, thumb, width, height,
    released, created_at, 0";

fn bytes(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

pub async fn create_upload(
    pool: &SqlitePool,
    file: &StoredFile,
    quota: u64,
    max_open: u32,
) -> Result<Result<(), UploadRefused>, StoreError> {
    // The insert comes first: it takes SQLite's write lock, so two uploads of one account
    // cannot both pass the checks below.
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO attachments (id, user_id, room_id, name, size, mime, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&file.id)
    .bind(file.owner.0)
    .bind(&file.room.0)
    .bind(&file.name)
    .bind(bytes(file.size))
    .bind(&file.mime)
    .bind(file.created_ms)
    .execute(&mut *tx)
    .await?;
    let row = sqlx::query(
        "SELECT COALESCE(SUM(size), 0), COUNT(*) FILTER (WHERE hash IS NULL)
         FROM attachments WHERE user_id = ? AND released = 0",
    )
    .bind(file.owner.0)
    .fetch_one(&mut *tx)
    .await?;
    let used = row.get::<i64, _>(0).max(0).unsigned_abs();
    let open = row.get::<i64, _>(1);
    if used > quota {
        return Ok(Err(UploadRefused::Quota {
            used: used.saturating_sub(file.size),
        }));
    }
    if open > i64::from(max_open) {
        return Ok(Err(UploadRefused::TooManyOpen));
    }
    tx.commit().await?;
    Ok(Ok(()))
}

pub async fn stored_file(pool: &SqlitePool, id: &str) -> Result<Option<StoredFile>, StoreError> {
    let query = format!("SELECT {COLUMNS} FROM attachments a WHERE a.id = ?");
    let row = sqlx::query(&query).bind(id).fetch_optional(pool).await?;
    Ok(row.as_ref().map(file_from_row))
}

pub async fn seal_upload(
    pool: &SqlitePool,
    id: &str,
    sealed: &SealedFile,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE attachments SET hash = ?, mime = ?, thumb = ?, width = ?, height = ?
         WHERE id = ? AND hash IS NULL",
    )
    .bind(&sealed.hash)
    .bind(&sealed.mime)
    .bind(&sealed.thumb)
    .bind(sealed.width.map(i64::from))
    .bind(sealed.height.map(i64::from))
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(done == 1)
}

pub async fn discard_upload(
    pool: &SqlitePool,
    id: &str,
    owner: UserId,
) -> Result<Option<StoredFile>, StoreError> {
    let query = format!(
        "DELETE FROM attachments WHERE id = ? AND user_id = ?
           AND NOT EXISTS (SELECT 1 FROM events e WHERE e.attachment_id = attachments.id)
         RETURNING {RETURNED}"
    );
    let row = sqlx::query(&query)
        .bind(id)
        .bind(owner.0)
        .fetch_optional(pool)
        .await?;
    Ok(row.as_ref().map(file_from_row))
}

pub async fn media_used(pool: &SqlitePool, user: UserId) -> Result<u64, StoreError> {
    let used: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(size), 0) FROM attachments WHERE user_id = ? AND released = 0",
    )
    .bind(user.0)
    .fetch_one(pool)
    .await?;
    Ok(used.max(0).unsigned_abs())
}

pub async fn readable_file(
    pool: &SqlitePool,
    id: &str,
    reader: UserId,
) -> Result<Option<StoredFile>, StoreError> {
    let query = format!(
        "SELECT {COLUMNS} FROM attachments a
         WHERE a.id = ?1 AND a.hash IS NOT NULL AND a.released = 0
           AND (a.user_id = ?2
                OR (EXISTS (SELECT 1 FROM members m
                            WHERE m.room_id = a.room_id AND m.user_id = ?2)
                    AND EXISTS (SELECT 1 FROM events e
                                WHERE e.attachment_id = a.id AND e.room_id = a.room_id)))"
    );
    let row = sqlx::query(&query)
        .bind(id)
        .bind(reader.0)
        .fetch_optional(pool)
        .await?;
    Ok(row.as_ref().map(file_from_row))
}

pub async fn collect_files(
    pool: &SqlitePool,
    stale_before_ms: i64,
    limit: u32,
) -> Result<Vec<StoredFile>, StoreError> {
    let query = format!(
        "DELETE FROM attachments WHERE id IN (
             SELECT id FROM attachments b
             WHERE b.released = 1
                OR (b.created_at < ?1
                    AND NOT EXISTS (SELECT 1 FROM events e WHERE e.attachment_id = b.id))
             LIMIT ?2)
         RETURNING {RETURNED}"
    );
    let rows = sqlx::query(&query)
        .bind(stale_before_ms)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(file_from_row).collect())
}

pub async fn blob_in_use(pool: &SqlitePool, hash: &str) -> Result<bool, StoreError> {
    let used: i64 = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM attachments WHERE hash = ?1)
             OR EXISTS (SELECT 1 FROM attachments WHERE thumb = ?1)
             OR EXISTS (SELECT 1 FROM users WHERE avatar = ?1)
             OR EXISTS (SELECT 1 FROM rooms WHERE avatar = ?1)",
    )
    .bind(hash)
    .fetch_one(pool)
    .await?;
    Ok(used != 0)
}

pub async fn set_user_avatar(
    pool: &SqlitePool,
    user: UserId,
    hash: Option<&str>,
) -> Result<Option<String>, StoreError> {
    let mut tx = pool.begin().await?;
    let old: Option<String> = sqlx::query_scalar("SELECT avatar FROM users WHERE id = ?1")
        .bind(user.0)
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
    sqlx::query("UPDATE users SET avatar = ?1 WHERE id = ?2")
        .bind(hash)
        .bind(user.0)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(old)
}

pub async fn user_avatar(
    pool: &SqlitePool,
    username: &str,
    reader: UserId,
    only_shared: bool,
) -> Result<Option<String>, StoreError> {
    let avatar: Option<Option<String>> = sqlx::query_scalar(
        "SELECT u.avatar FROM users u
         WHERE u.username = ?1 COLLATE NOCASE
           AND (?3 = 0 OR u.id = ?2
                OR EXISTS (SELECT 1 FROM members a JOIN members b ON b.room_id = a.room_id
                           WHERE a.user_id = u.id AND b.user_id = ?2))",
    )
    .bind(username)
    .bind(reader.0)
    .bind(i64::from(only_shared))
    .fetch_optional(pool)
    .await?;
    Ok(avatar.flatten())
}

pub async fn set_room_avatar(
    pool: &SqlitePool,
    room: &RoomId,
    hash: Option<&str>,
) -> Result<Option<String>, StoreError> {
    let mut tx = pool.begin().await?;
    let old: Option<String> = sqlx::query_scalar("SELECT avatar FROM rooms WHERE id = ?1")
        .bind(&room.0)
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
    sqlx::query("UPDATE rooms SET avatar = ?1 WHERE id = ?2")
        .bind(hash)
        .bind(&room.0)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(old)
}

pub async fn room_avatar(pool: &SqlitePool, room: &RoomId) -> Result<Option<String>, StoreError> {
    let avatar: Option<Option<String>> =
        sqlx::query_scalar("SELECT avatar FROM rooms WHERE id = ?1")
            .bind(&room.0)
            .fetch_optional(pool)
            .await?;
    Ok(avatar.flatten())
}

pub async fn link_preview(
    pool: &SqlitePool,
    url: &str,
) -> Result<Option<crate::store::LinkPreview>, StoreError> {
    let row = sqlx::query(
        "SELECT url, ok, title, description, site, image, fetched_at FROM link_previews
         WHERE url = ?1",
    )
    .bind(url)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| crate::store::LinkPreview {
        url: row.get(0),
        ok: row.get::<i64, _>(1) != 0,
        title: row.get(2),
        description: row.get(3),
        site: row.get(4),
        image: row.get(5),
        fetched_ms: row.get(6),
    }))
}

pub async fn put_link_preview(
    pool: &SqlitePool,
    preview: &crate::store::LinkPreview,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO link_previews (url, ok, title, description, site, image, fetched_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (url) DO UPDATE SET ok = excluded.ok, title = excluded.title,
             description = excluded.description, site = excluded.site, image = excluded.image,
             fetched_at = excluded.fetched_at",
    )
    .bind(&preview.url)
    .bind(i64::from(preview.ok))
    .bind(&preview.title)
    .bind(&preview.description)
    .bind(&preview.site)
    .bind(preview.image.as_deref())
    .bind(preview.fetched_ms)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn forget_link_previews(pool: &SqlitePool, before_ms: i64) -> Result<u64, StoreError> {
    let gone = sqlx::query("DELETE FROM link_previews WHERE fetched_at < ?1")
        .bind(before_ms)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(gone)
}

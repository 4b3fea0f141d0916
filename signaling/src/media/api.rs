//! The HTTP endpoints of files left on the server (see the module above and
//! `shared::api`'s table). Every request is authenticated and charged to the account's request
//! quota; uploads are their owner's only; a file is served only to whom
//! `Storage::readable_file` allows, as a download unless it is an image of a safe type, and
//! never as something the browser could run.

use super::images::{self, thumb_mime};
use super::{MAX_CHUNK, MAX_OPEN_UPLOADS, Media, blobs::AppendError};
use crate::error::ApiFailure;
use crate::now_ms;
use crate::request::{Authed, authenticate_metered, check_origin};
use crate::state::AppState;
use crate::store::{SealedFile, StoredFile, UploadRefused};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use shared::RoomId;
use shared::api::{MediaLimits, NewUpload, Upload};
use shared::limits::clean_file_name;
use tokio_util::io::ReaderStream;

/// Where a chunk starts (the tus protocol's name for it).
const UPLOAD_OFFSET: &str = "upload-offset";
/// Audio types played in the page as they are declared (voice notes); anything else that is
/// not a recognised image is served as bytes to download.
const PLAYABLE_AUDIO: [&str; 7] = [
    "audio/webm",
    "audio/ogg",
    "audio/mp4",
    "audio/mpeg",
    "audio/wav",
    "audio/aac",
    "audio/flac",
];
/// RFC 8187 `attr-char`: what a `filename*` keeps as it is.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

fn media(state: &AppState) -> Result<&Media, ApiFailure> {
    match state.media.as_deref() {
        Some(media) if media.max_file > 0 => Ok(media),
        _ => Err(ApiFailure::NotFound),
    }
}

pub async fn limits(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<MediaLimits>, ApiFailure> {
    let media = media(&state)?;
    let authed = authenticate_metered(&state, &headers).await?;
    Ok(Json(MediaLimits {
        max_file: media.max_file,
        quota: media.quota,
        used: state.store.media_used(authed.user).await?,
        max_chunk: MAX_CHUNK as u64,
    }))
}

pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(room): Path<String>,
    body: Result<Json<NewUpload>, JsonRejection>,
) -> Result<(StatusCode, Json<Upload>), ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let media = media(&state)?;
    let authed = authenticate_metered(&state, &headers).await?;
    let Json(new) = body.map_err(|e| ApiFailure::BadRequest(e.body_text()))?;
    let room = RoomId(room);
    match state.store.membership(&room, authed.user).await? {
        None => return Err(ApiFailure::NotFound),
        Some(membership) if membership.muted => {
            return Err(ApiFailure::Forbidden("You are muted in this room."));
        }
        Some(_) => {}
    }
    if new.size == 0 {
        return Err(ApiFailure::BadRequest("the file is empty".to_owned()));
    }
    if new.size > media.max_file {
        return Err(ApiFailure::FileTooLarge(media.max_file));
    }
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|_| ApiFailure::Internal)?;
    let file = StoredFile {
        id: URL_SAFE_NO_PAD.encode(id),
        owner: authed.user,
        room,
        name: clean_file_name(&new.name),
        size: new.size,
        mime: playable_audio(&new.mime)
            .unwrap_or("application/octet-stream")
            .to_owned(),
        hash: None,
        thumb: None,
        width: None,
        height: None,
        released: false,
        carried: false,
        created_ms: now_ms(),
    };
    match state
        .store
        .create_upload(&file, media.quota, MAX_OPEN_UPLOADS)
        .await?
    {
        Ok(()) => Ok((
            StatusCode::CREATED,
            Json(Upload {
                id: file.id,
                offset: 0,
                size: file.size,
                attachment: None,
            }),
        )),
        Err(UploadRefused::Quota { used }) => Err(ApiFailure::QuotaFull {
            used,
            quota: media.quota,
        }),
        Err(UploadRefused::TooManyOpen) => Err(ApiFailure::TooMany(
            "unfinished uploads",
            MAX_OPEN_UPLOADS as usize,
        )),
    }
}

/// An upload of the caller's (others' look like none).
async fn own_upload(state: &AppState, authed: &Authed, id: &str) -> Result<StoredFile, ApiFailure> {
    match state.store.stored_file(id).await? {
        Some(file) if file.owner == authed.user && !file.released => Ok(file),
        _ => Err(ApiFailure::NotFound),
    }
}

async fn progress(media: &Media, file: &StoredFile) -> Result<Upload, ApiFailure> {
    let offset = if file.hash.is_some() {
        file.size
    } else {
        media.blobs.received(&file.id).await.map_err(io_failure)?
    };
    Ok(Upload {
        id: file.id.clone(),
        offset,
        size: file.size,
        attachment: file.hash.is_some().then(|| *file.attachment()),
    })
}

pub async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Upload>, ApiFailure> {
    let media = media(&state)?;
    let authed = authenticate_metered(&state, &headers).await?;
    let file = own_upload(&state, &authed, &id).await?;
    Ok(Json(progress(media, &file).await?))
}

pub async fn append(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    chunk: Bytes,
) -> Result<Json<Upload>, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let media = media(&state)?;
    let authed = authenticate_metered(&state, &headers).await?;
    let offset = headers
        .get(UPLOAD_OFFSET)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| ApiFailure::BadRequest("no Upload-Offset header".to_owned()))?;
    let file = own_upload(&state, &authed, &id).await?;
    if file.hash.is_some() {
        // Every byte arrived before: a resend of the last chunk learns that it is done.
        return Ok(Json(progress(media, &file).await?));
    }
    if offset.saturating_add(chunk.len() as u64) > file.size {
        return Err(ApiFailure::BadRequest(format!(
            "the upload is {} bytes; this chunk goes past its end",
            file.size
        )));
    }
    let Some(_writing) = media.start_writing(&file.id) else {
        return Err(ApiFailure::UploadBusy);
    };
    let received = match media.blobs.append(&file.id, offset, &chunk).await {
        Ok(received) => received,
        Err(AppendError::Offset(at)) => return Err(ApiFailure::UploadOffset(at)),
        Err(AppendError::Io(e)) => return Err(io_failure(e)),
    };
    if received < file.size {
        return Ok(Json(Upload {
            id: file.id,
            offset: received,
            size: file.size,
            attachment: None,
        }));
    }
    let sealed = match seal(media, &file).await {
        Ok(sealed) => sealed,
        Err(SealError::Size(at)) => {
            // More than declared arrived (writers raced): it cannot be trusted; start over.
            tracing::warn!(upload = %file.id, at, size = file.size, "upload discarded: wrong size");
            media.blobs.discard(&file.id).await.map_err(io_failure)?;
            return Err(ApiFailure::UploadOffset(0));
        }
        Err(SealError::Failed(failure)) => return Err(failure),
    };
    // Already sealed by a racing request: that one's row stands; this blob is swept if unused.
    if state.store.seal_upload(&file.id, &sealed).await? {
        metrics::counter!("chat_uploads_total").increment(1);
        metrics::counter!("chat_upload_bytes_total").increment(file.size);
    }
    let file = own_upload(&state, &authed, &id).await?;
    Ok(Json(progress(media, &file).await?))
}

enum SealError {
    /// The upload holds this many bytes, not its size.
    Size(u64),
    Failed(ApiFailure),
}

/// Stores a complete upload as a blob and learns what it is.
async fn seal(media: &Media, file: &StoredFile) -> Result<SealedFile, SealError> {
    let hash = match media.blobs.seal(&file.id, file.size).await {
        Ok(hash) => hash,
        Err(AppendError::Offset(at)) => return Err(SealError::Size(at)),
        Err(AppendError::Io(e)) => return Err(SealError::Failed(io_failure(e))),
    };
    let failed = |e| SealError::Failed(io_failure(e));
    let head = media.blobs.head(&hash, 64).await.map_err(failed)?;
    let examined = if images::looks_like_image(&head) {
        let bytes = media.blobs.read(&hash).await.map_err(failed)?;
        images::examine_off_thread(bytes).await
    } else {
        None
    };
    Ok(match examined {
        Some(image) => SealedFile {
            hash,
            mime: image.mime.to_owned(),
            thumb: Some(media.blobs.put(&image.thumb).await.map_err(failed)?),
            width: Some(image.width),
            height: Some(image.height),
        },
        None => SealedFile {
            hash,
            mime: file.mime.clone(),
            thumb: None,
            width: None,
            height: None,
        },
    })
}

pub async fn discard(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let media = media(&state)?;
    let authed = authenticate_metered(&state, &headers).await?;
    let Some(file) = state.store.discard_upload(&id, authed.user).await? else {
        return Err(ApiFailure::NotFound);
    };
    media.blobs.discard(&file.id).await.map_err(io_failure)?;
    for hash in file.hash.iter().chain(file.thumb.iter()) {
        media
            .release(state.store.as_ref(), hash)
            .await
            .map_err(collect_failure)?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/attachments/{id}`: the file.
pub async fn fetch(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiFailure> {
    serve(&state, &headers, &id, false).await
}

/// `GET /api/attachments/{id}/thumb`: an image's thumbnail.
pub async fn thumb(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiFailure> {
    serve(&state, &headers, &id, true).await
}

async fn serve(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    thumbnail: bool,
) -> Result<Response, ApiFailure> {
    let media = media(state)?;
    let authed = authenticate_metered(state, headers).await?;
    let file = state
        .store
        .readable_file(id, authed.user)
        .await?
        .ok_or(ApiFailure::NotFound)?;
    let (hash, mime, inline) = if thumbnail {
        let hash = file.thumb.clone().ok_or(ApiFailure::NotFound)?;
        (hash, None, true)
    } else {
        let hash = file.hash.clone().ok_or(ApiFailure::NotFound)?;
        let inline = file.mime.starts_with("image/");
        (hash, Some(file.mime.clone()), inline)
    };
    let mime = match mime {
        Some(mime) => mime,
        None => {
            let head = media.blobs.head(&hash, 16).await.map_err(io_failure)?;
            thumb_mime(&head).to_owned()
        }
    };
    // A reader's copy is checked again on each use (cheaply: the content's hash is its tag),
    // so a file stops being shown once its message is deleted or its reader left the room.
    let etag = format!("\"{hash}\"");
    let current = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|tag| tag.as_bytes() == etag.as_bytes());
    let mut response = if current {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let (blob, len) = media.blobs.open(&hash).await.map_err(io_failure)?;
        let mut response = Body::from_stream(ReaderStream::new(blob)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        response
    };
    let out = response.headers_mut();
    let value = |text: &str| HeaderValue::from_str(text).map_err(|_| ApiFailure::Internal);
    super::protect_served(out, value(&mime)?, "private, no-cache");
    out.insert(header::ETAG, value(&etag)?);
    out.insert(
        header::CONTENT_DISPOSITION,
        value(&disposition(&file.name, inline))?,
    );
    Ok(response)
}

/// `inline` or `attachment`, with the name as plain ASCII and, exactly, as UTF-8 (RFC 6266).
fn disposition(name: &str, inline: bool) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let kind = if inline { "inline" } else { "attachment" };
    let exact = utf8_percent_encode(name, ATTR_CHAR);
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{exact}")
}

/// The declared type if it is audio a page plays, without parameters (`;codecs=opus`).
fn playable_audio(declared: &str) -> Option<&'static str> {
    let base = declared.split(';').next().unwrap_or_default().trim();
    PLAYABLE_AUDIO
        .into_iter()
        .find(|audio| audio.eq_ignore_ascii_case(base))
}

pub(super) fn collect_failure(e: super::CollectError) -> ApiFailure {
    tracing::error!(error = %e, "media store failure");
    ApiFailure::Internal
}

pub(super) fn io_failure(e: std::io::Error) -> ApiFailure {
    tracing::error!(error = %e, "media store failure");
    ApiFailure::Internal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_the_disposition_cannot_break_out_of_it() {
        assert_eq!(
            disposition("report \"final\".pdf", false),
            "attachment; filename=\"report _final_.pdf\"; \
             filename*=UTF-8''report%20%22final%22.pdf"
        );
        assert_eq!(
            disposition("été.png", true),
            "inline; filename=\"_t_.png\"; filename*=UTF-8''%C3%A9t%C3%A9.png"
        );
    }

    #[test]
    fn only_audio_keeps_its_declared_type() {
        assert_eq!(playable_audio("audio/webm;codecs=opus"), Some("audio/webm"));
        assert_eq!(playable_audio("text/html"), None);
        assert_eq!(playable_audio("image/svg+xml"), None);
    }
}

//! Pictures of accounts and rooms, in the same blob store as files left on the server.
//!
//! - `PUT /api/avatar` (the image's bytes) sets mine, `DELETE /api/avatar` removes it;
//!   `PUT`/`DELETE /api/rooms/{room}/avatar` do the same for a group room, by its admins.
//! - `GET /api/avatars/{username}` and `GET /api/rooms/{room}/avatar` serve them: a square
//!   made by the server from the image (never the uploaded bytes), or, without one, an
//!   initial drawn on a colour taken from the name, so every account and room has a picture
//!   and a missing one says nothing about whether the account exists. Answers carry the
//!   picture's hash as ETag and must be revalidated, so a new picture shows on the next look.

use super::images;
use super::{Media, api::io_failure};
use crate::error::ApiFailure;
use crate::request::{Authed, authenticate_metered, check_origin};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::RoomId;
use shared::events::Role;
use shared::rooms::RoomKind;

/// Largest image a picture may be made from.
pub const MAX_PICTURE_BYTES: usize = 8 * 1024 * 1024;

fn media(state: &AppState) -> Result<&Media, ApiFailure> {
    state.media.as_deref().ok_or(ApiFailure::NotFound)
}

/// Makes the picture and stores it; returns its hash.
async fn store_picture(media: &Media, image: Bytes) -> Result<String, ApiFailure> {
    let picture = images::avatar_off_thread(image.to_vec())
        .await
        .ok_or_else(|| {
            ApiFailure::BadRequest("a picture must be a PNG, JPEG, GIF or WebP image".to_owned())
        })?;
    media.blobs.put(&picture).await.map_err(io_failure)
}

/// Deletes a replaced picture's bytes unless something else holds the same.
async fn release(state: &AppState, media: &Media, old: Option<String>) -> Result<(), ApiFailure> {
    if let Some(old) = old {
        media
            .release(state.store.as_ref(), &old)
            .await
            .map_err(super::api::collect_failure)?;
    }
    Ok(())
}

pub async fn set_mine(
    State(state): State<AppState>,
    headers: HeaderMap,
    image: Bytes,
) -> Result<StatusCode, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let media = media(&state)?;
    let authed = authenticate_metered(&state, &headers).await?;
    let hash = store_picture(media, image).await?;
    let old = state
        .store
        .set_user_avatar(authed.user, Some(&hash))
        .await?;
    release(&state, media, old.filter(|old| *old != hash)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove_mine(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let media = media(&state)?;
    let authed = authenticate_metered(&state, &headers).await?;
    let old = state.store.set_user_avatar(authed.user, None).await?;
    release(&state, media, old).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn of_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(username): Path<String>,
) -> Result<Response, ApiFailure> {
    let media = media(&state)?;
    let authed = authenticate_metered(&state, &headers).await?;
    let hash = state
        .store
        .user_avatar(&username, authed.user, !state.open_directory)
        .await?;
    picture(media, &headers, hash, &username).await
}

/// A group room of which `authed` is a member: its name; admins only when `manage`.
async fn room_of(
    state: &AppState,
    authed: &Authed,
    room: &RoomId,
    manage: bool,
) -> Result<String, ApiFailure> {
    let summary = state
        .store
        .room_summary(room, authed.user)
        .await?
        .ok_or(ApiFailure::NotFound)?;
    if manage && (summary.kind != RoomKind::Group || summary.role < Role::Admin) {
        return Err(ApiFailure::Forbidden(
            "Only the room's admins may change its picture.",
        ));
    }
    Ok(summary.name)
}

pub async fn set_room(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(room): Path<String>,
    image: Bytes,
) -> Result<StatusCode, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let media = media(&state)?;
    let authed = authenticate_metered(&state, &headers).await?;
    let room = RoomId(room);
    room_of(&state, &authed, &room, true).await?;
    let hash = store_picture(media, image).await?;
    let old = state.store.set_room_avatar(&room, Some(&hash)).await?;
    release(&state, media, old.filter(|old| *old != hash)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove_room(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(room): Path<String>,
) -> Result<StatusCode, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let media = media(&state)?;
    let authed = authenticate_metered(&state, &headers).await?;
    let room = RoomId(room);
    room_of(&state, &authed, &room, true).await?;
    let old = state.store.set_room_avatar(&room, None).await?;
    release(&state, media, old).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn of_room(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(room): Path<String>,
) -> Result<Response, ApiFailure> {
    let media = media(&state)?;
    let authed = authenticate_metered(&state, &headers).await?;
    let room = RoomId(room);
    let name = room_of(&state, &authed, &room, false).await?;
    let hash = state.store.room_avatar(&room).await?;
    picture(media, &headers, hash, &name).await
}

/// The stored picture, or the drawn initial of `name`; 304 when the reader's copy is current.
async fn picture(
    media: &Media,
    headers: &HeaderMap,
    hash: Option<String>,
    name: &str,
) -> Result<Response, ApiFailure> {
    let (etag, body, mime) = match hash {
        Some(hash) => {
            let bytes = media.blobs.read(&hash).await.map_err(io_failure)?;
            let mime = images::thumb_mime(&bytes[..bytes.len().min(16)]);
            (format!("\"{hash}\""), bytes, mime)
        }
        None => {
            let drawn = initial(name);
            let etag = format!("\"drawn-{:x}\"", fnv(drawn.as_bytes()));
            (etag, drawn.into_bytes(), "image/svg+xml")
        }
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|tag| tag.as_bytes() == etag.as_bytes());
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Body::from(body).into_response()
    };
    let out = response.headers_mut();
    super::protect_served(out, HeaderValue::from_static(mime), "private, no-cache");
    out.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).map_err(|_| ApiFailure::Internal)?,
    );
    Ok(response)
}

/// A circle of a colour taken from `name`, with its first letter or digit.
fn initial(name: &str) -> String {
    let letter = name
        .chars()
        .find(|c| c.is_alphanumeric())
        .map_or('#', |c| c.to_uppercase().next().unwrap_or(c));
    let hue = fnv(name.to_lowercase().as_bytes()) % 360;
    let letter = match letter {
        '&' => "&amp;".to_owned(),
        '<' => "&lt;".to_owned(),
        other => other.to_string(),
    };
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 64 64\">\
         <circle cx=\"32\" cy=\"32\" r=\"32\" fill=\"hsl({hue},45%,40%)\"/>\
         <text x=\"32\" y=\"43\" font-family=\"system-ui,sans-serif\" font-size=\"30\" \
         font-weight=\"600\" text-anchor=\"middle\" fill=\"#fff\">{letter}</text></svg>"
    )
}

/// FNV-1a: a stable colour and tag for a name (not for security).
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drawn_initial_is_the_names_first_letter_in_its_own_colour() {
        let ann = initial("ann");
        assert!(ann.contains(">A</text>"), "{ann}");
        assert_eq!(ann, initial("ann"), "the same every time");
        assert_ne!(ann, initial("bob"));
        assert!(initial("__été").contains(">É</text>"));
        assert!(initial("").contains(">#</text>"));
    }
}

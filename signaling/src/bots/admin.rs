//! The administration of bots: `/api/admin/bots`. Only server administrators; every change is
//! in the audit log. A token is shown once, when made; the database keeps its hash.

use crate::admin::api::{admin_only, named};
use crate::admin::audit;
use crate::admin::reports::append_as;
use crate::error::ApiFailure;
use crate::state::AppState;
use crate::store::{Draft, NamedUser};
use crate::ws::mutate::{send_summary, stop_following};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use shared::RoomId;
use shared::limits::{check_display_name, check_username};

/// Bots one server may have.
pub const MAX_BOTS: usize = 100;
/// Rooms one bot may be in.
pub const MAX_ROOMS_PER_BOT: usize = 100;

#[derive(Debug, Deserialize)]
pub struct NewBot {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    /// Room ids: its scope.
    #[serde(default)]
    pub rooms: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct BotRooms {
    pub rooms: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct BotToken {
    pub username: String,
    /// Shown once: only its hash is kept.
    pub token: String,
}

#[derive(Debug, Serialize)]
pub struct RoomRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct BotView {
    pub username: String,
    pub display_name: String,
    pub created_ms: i64,
    pub deactivated: bool,
    pub has_token: bool,
    pub last_used_ms: i64,
    pub rooms: Vec<RoomRef>,
}

/// `GET /api/admin/bots`
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<BotView>>, ApiFailure> {
    admin_only(&state, &headers).await?;
    let bots = state.store.bots().await?;
    Ok(Json(
        bots.into_iter()
            .map(|b| BotView {
                username: b.username,
                display_name: b.display_name,
                created_ms: b.created_ms,
                deactivated: b.deactivated,
                has_token: b.tokens > 0,
                last_used_ms: b.last_used_ms,
                rooms: b
                    .rooms
                    .into_iter()
                    .map(|(id, name)| RoomRef { id: id.0, name })
                    .collect(),
            })
            .collect(),
    ))
}

/// `POST /api/admin/bots`: makes the bot, puts it in its rooms, and returns its token.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<NewBot>, JsonRejection>,
) -> Result<(StatusCode, Json<BotToken>), ApiFailure> {
    let authed = admin_only(&state, &headers).await?;
    let Json(new) = body.map_err(|e| ApiFailure::BadRequest(e.body_text()))?;
    let username = new.username.trim();
    check_username(username).map_err(ApiFailure::Invalid)?;
    let display_name = new.display_name.trim();
    check_display_name(display_name).map_err(ApiFailure::Invalid)?;
    let rooms = room_list(&state, &new.rooms).await?;
    if state.store.bots().await?.len() >= MAX_BOTS {
        return Err(ApiFailure::TooMany("bots", MAX_BOTS));
    }
    let now = crate::now_ms();
    let id = state.store.create_bot(username, display_name, now).await?;
    let (token, hash) = super::new_token();
    state.store.replace_bot_token(id, &hash, now).await?;
    let bot = NamedUser {
        id,
        name: username.to_owned(),
    };
    let admin = NamedUser {
        id: authed.user,
        name: authed.username.clone(),
    };
    for room in &rooms {
        put_in(&state, &admin, &bot, room).await?;
    }
    audit(
        &state,
        &authed.username,
        "create bot",
        username,
        &format!("{} room(s)", rooms.len()),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(BotToken {
            username: username.to_owned(),
            token,
        }),
    ))
}

/// `POST /api/admin/bots/{username}/token`: a new token; the old one stops working and the
/// sockets opened with it close, on every node.
pub async fn new_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(username): Path<String>,
) -> Result<Json<BotToken>, ApiFailure> {
    let authed = admin_only(&state, &headers).await?;
    let bot = a_bot(&state, &username).await?;
    let (token, hash) = super::new_token();
    let ended = state
        .store
        .replace_bot_token(bot.id, &hash, crate::now_ms())
        .await?;
    super::close_sockets(&state, &ended);
    audit(&state, &authed.username, "new bot token", &bot.name, "").await;
    Ok(Json(BotToken {
        username: bot.name,
        token,
    }))
}

/// `PUT /api/admin/bots/{username}/rooms`: the bot's rooms become exactly these. It joins the
/// new ones and is removed from the others, as room events everyone there sees.
pub async fn set_rooms(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(username): Path<String>,
    body: Result<Json<BotRooms>, JsonRejection>,
) -> Result<StatusCode, ApiFailure> {
    let authed = admin_only(&state, &headers).await?;
    let Json(wanted) = body.map_err(|e| ApiFailure::BadRequest(e.body_text()))?;
    let bot = a_bot(&state, &username).await?;
    let wanted = room_list(&state, &wanted.rooms).await?;
    let admin = NamedUser {
        id: authed.user,
        name: authed.username.clone(),
    };
    let current: Vec<RoomId> = state
        .store
        .bots()
        .await?
        .into_iter()
        .find(|b| b.id == bot.id)
        .map(|b| b.rooms.into_iter().map(|(id, _)| id).collect())
        .unwrap_or_default();
    // Every room is checked before any changes: all of them, or none.
    for room in wanted.iter().filter(|r| !current.contains(r)) {
        not_banned(&state, &bot, room).await?;
    }
    let mut changes = Vec::new();
    for room in wanted.iter().filter(|r| !current.contains(r)) {
        put_in(&state, &admin, &bot, room).await?;
        changes.push(format!("+{}", room.0));
    }
    for room in current.iter().filter(|r| !wanted.contains(r)) {
        append_as(
            &state,
            &admin,
            room,
            vec![Draft::Removed { user: bot.clone() }],
            &[],
            &[],
        )
        .await?;
        stop_following(&state, bot.id, room);
        changes.push(format!("-{}", room.0));
    }
    if !changes.is_empty() {
        audit(
            &state,
            &authed.username,
            "set bot rooms",
            &bot.name,
            &changes.join(" "),
        )
        .await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The bot called `username` (404 for a person: the console never acts on one here).
async fn a_bot(state: &AppState, username: &str) -> Result<NamedUser, ApiFailure> {
    let user = named(state, username).await?;
    if state.store.is_bot(user.id).await? {
        Ok(user)
    } else {
        Err(ApiFailure::NotFound)
    }
}

/// The group rooms named by these ids, each once (404 if one is not there).
async fn room_list(state: &AppState, ids: &[String]) -> Result<Vec<RoomId>, ApiFailure> {
    if ids.len() > MAX_ROOMS_PER_BOT {
        return Err(ApiFailure::TooMany("rooms for a bot", MAX_ROOMS_PER_BOT));
    }
    let mut rooms: Vec<RoomId> = Vec::new();
    for id in ids {
        let room = RoomId(id.clone());
        let found = state
            .store
            .admin_room(&room)
            .await?
            .ok_or(ApiFailure::NotFound)?;
        if found.kind != "group" {
            return Err(ApiFailure::Forbidden(
                "A direct conversation belongs to its two people.",
            ));
        }
        if !rooms.contains(&room) {
            rooms.push(room);
        }
    }
    Ok(rooms)
}

async fn not_banned(state: &AppState, bot: &NamedUser, room: &RoomId) -> Result<(), ApiFailure> {
    if state.store.is_banned(room, bot.id).await? {
        return Err(ApiFailure::Conflict(
            "The bot is banned from that room; lift the ban first.",
        ));
    }
    Ok(())
}

/// Adds the bot to `room` as the administrator's room event, and tells its sockets.
async fn put_in(
    state: &AppState,
    admin: &NamedUser,
    bot: &NamedUser,
    room: &RoomId,
) -> Result<(), ApiFailure> {
    not_banned(state, bot, room).await?;
    if state.store.membership(room, bot.id).await?.is_some() {
        return Ok(());
    }
    append_as(
        state,
        admin,
        room,
        vec![Draft::Added { user: bot.clone() }],
        &[bot.id],
        &[],
    )
    .await?;
    send_summary(state, room, bot.id).await;
    Ok(())
}

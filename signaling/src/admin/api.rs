//! The administration console's endpoints (`/api/admin/*`): every one refuses anyone who is
//! not a server administrator (403 `admin_only`), and every change is written to the audit
//! log.

use super::abuse;
use super::reports::append_as;
use crate::error::ApiFailure;
use crate::request::{Authed, authenticate_metered, check_origin};
use crate::state::AppState;
use crate::store::{Draft, NamedUser};
use crate::ws::mutate::{send_summary, stop_following};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use shared::RoomId;
use shared::admin::{
    AdminRoom, AdminRooms, AdminSession, AdminSessions, AdminUsers, AuditLog, MAX_RETENTION_DAYS,
    Retention, RetentionRun, ServerSettings, UserAction, UserActionRequest,
};
use shared::events::Role;
use std::collections::HashMap;

/// Rows a list shows at once.
const LIST_LIMIT: u32 = 100;

/// The signed-in server administrator behind a request, or 401/403. Requests from another
/// origin are refused first (they carry the administrator's cookie).
pub async fn admin_only(state: &AppState, headers: &HeaderMap) -> Result<Authed, ApiFailure> {
    check_origin(headers, &state.allowed_origins)?;
    let authed = authenticate_metered(state, headers).await?;
    if !state.store.is_admin(authed.user).await? {
        return Err(ApiFailure::AdminOnly);
    }
    Ok(authed)
}

/// Whether the query parameter `name` is `value`.
pub fn query_flag(query: &HashMap<String, String>, name: &str, value: &str) -> bool {
    query.get(name).is_some_and(|v| v == value)
}

fn search(query: &HashMap<String, String>) -> String {
    query
        .get("q")
        .map(|q| q.trim().chars().take(64).collect())
        .unwrap_or_default()
}

/// `GET /api/admin/users?q=`: accounts by name.
pub async fn users(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<AdminUsers>, ApiFailure> {
    admin_only(&state, &headers).await?;
    let users = state
        .store
        .admin_users(&search(&query), LIST_LIMIT, crate::now_ms())
        .await?;
    Ok(Json(AdminUsers { users }))
}

pub(crate) async fn named(state: &AppState, username: &str) -> Result<NamedUser, ApiFailure> {
    state
        .store
        .user_by_name(username)
        .await?
        .ok_or(ApiFailure::NotFound)
}

/// `GET /api/admin/users/{username}/sessions`.
pub async fn sessions(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(username): Path<String>,
) -> Result<Json<AdminSessions>, ApiFailure> {
    admin_only(&state, &headers).await?;
    let user = named(&state, &username).await?;
    let sessions = state
        .store
        .sessions_of(user.id, crate::now_ms())
        .await?
        .into_iter()
        .map(|s| AdminSession {
            device: s.origin.device,
            created_at_ms: s.created_ms,
            last_used_ms: s.last_used_ms,
        })
        .collect();
    Ok(Json(AdminSessions { sessions }))
}

/// `POST /api/admin/users/{username}`: deactivate, reactivate, sign out, make or unmake an
/// administrator.
pub async fn user_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(username): Path<String>,
    body: Result<Json<UserActionRequest>, JsonRejection>,
) -> Result<StatusCode, ApiFailure> {
    let authed = admin_only(&state, &headers).await?;
    let Json(request) = body.map_err(|e| ApiFailure::BadRequest(e.body_text()))?;
    let user = named(&state, &username).await?;
    let myself = user.id == authed.user;
    let (action, detail) = match request.action {
        UserAction::Deactivate => {
            if myself {
                return Err(ApiFailure::Conflict(
                    "You cannot deactivate your own account.",
                ));
            }
            // First no new session can start, then the open ones end: no gap to log in.
            state
                .store
                .set_deactivated(user.id, Some(crate::now_ms()))
                .await?;
            let ended = crate::devices::end_sessions(&state, user.id, None).await?
                + crate::bots::end_tokens(&state, user.id).await?;
            ("deactivate", sessions_ended(ended))
        }
        UserAction::Reactivate => {
            state.store.set_deactivated(user.id, None).await?;
            ("reactivate", String::new())
        }
        UserAction::SignOut => {
            let ended = crate::devices::end_sessions(&state, user.id, None).await?
                + crate::bots::end_tokens(&state, user.id).await?;
            ("sign out", sessions_ended(ended))
        }
        UserAction::MakeAdmin => {
            if state.store.is_bot(user.id).await? {
                return Err(ApiFailure::Forbidden(
                    "A bot cannot be a server administrator.",
                ));
            }
            if state.store.is_guest(user.id).await? {
                return Err(ApiFailure::Forbidden(
                    "A guest of the support desk cannot be a server administrator.",
                ));
            }
            state.store.set_admin(user.id, true).await?;
            ("make admin", String::new())
        }
        UserAction::LiftSilence => {
            state.store.set_silenced(user.id, 0).await?;
            state.admin.flood.lift(user.id);
            ("lift silence", String::new())
        }
        UserAction::RemoveAdmin => {
            if myself {
                return Err(ApiFailure::Conflict(
                    "You cannot remove your own administrator rights; ask another administrator.",
                ));
            }
            state.store.set_admin(user.id, false).await?;
            ("remove admin", String::new())
        }
    };
    super::audit(&state, &authed.username, action, &user.name, &detail).await;
    Ok(StatusCode::NO_CONTENT)
}

fn sessions_ended(ended: usize) -> String {
    match ended {
        1 => "1 session ended".to_owned(),
        n => format!("{n} sessions ended"),
    }
}

/// `GET /api/admin/rooms?q=`.
pub async fn rooms(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<AdminRooms>, ApiFailure> {
    admin_only(&state, &headers).await?;
    let rooms = state.store.admin_rooms(&search(&query), LIST_LIMIT).await?;
    Ok(Json(AdminRooms { rooms }))
}

/// `DELETE /api/admin/rooms/{room}`: the room goes for everyone; its members' apps drop it.
pub async fn delete_room(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(room): Path<String>,
) -> Result<StatusCode, ApiFailure> {
    let authed = admin_only(&state, &headers).await?;
    let room = RoomId(room);
    let label = room_label(&state, &room).await?;
    let in_order = state.room_log.in_order().await;
    let members = state
        .store
        .delete_room(&room)
        .await?
        .ok_or(ApiFailure::NotFound)?;
    for user in &members {
        stop_following(&state, *user, &room);
    }
    drop(in_order);
    if let Some(media) = &state.media {
        media.wake_collector();
    }
    super::audit(
        &state,
        &authed.username,
        "delete room",
        &label,
        &format!("{} members", members.len()),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

async fn room_label(state: &AppState, room: &RoomId) -> Result<String, ApiFailure> {
    let found = state
        .store
        .admin_room(room)
        .await?
        .ok_or(ApiFailure::NotFound)?;
    Ok(label(found))
}

/// How the audit log names a room: its name, or its id when it has none (a direct one).
fn label(room: AdminRoom) -> String {
    if room.name.is_empty() {
        format!("room {}", room.id.0)
    } else {
        room.name
    }
}

/// `POST /api/admin/rooms/{room}/take-over`: the administrator becomes the owner of a group
/// (its owner, if any, becomes an admin), joining it if need be.
pub async fn take_over(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(room): Path<String>,
) -> Result<StatusCode, ApiFailure> {
    let authed = admin_only(&state, &headers).await?;
    let room = RoomId(room);
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
    let me = NamedUser {
        id: authed.user,
        name: authed.username.clone(),
    };
    let membership = state.store.membership(&room, me.id).await?;
    if membership.is_some_and(|m| m.role == Role::Owner) {
        return Err(ApiFailure::Conflict("You own this room already."));
    }
    if state.store.is_banned(&room, me.id).await? {
        // A ban holds the account out; lift it first, as the room's rules say.
        append_as(
            &state,
            &me,
            &room,
            vec![Draft::Banned {
                user: me.clone(),
                banned: false,
            }],
            &[],
            &[],
        )
        .await?;
    }
    let mut drafts = Vec::new();
    let mut joined = Vec::new();
    if membership.is_none() {
        drafts.push(Draft::Joined);
        joined.push(me.id);
    }
    let mut old_owner = None;
    if let Some(owner) = &found.owner {
        let owner = named(&state, owner).await?;
        drafts.push(Draft::RoleChanged {
            user: owner.clone(),
            role: Role::Admin,
        });
        old_owner = Some(owner.id);
    }
    drafts.push(Draft::RoleChanged {
        user: me.clone(),
        role: Role::Owner,
    });
    append_as(&state, &me, &room, drafts, &joined, &[]).await?;
    send_summary(&state, &room, me.id).await;
    if let Some(owner) = old_owner {
        send_summary(&state, &room, owner).await;
    }
    super::audit(
        &state,
        &authed.username,
        "take over room",
        &label(found.clone()),
        &found
            .owner
            .map(|o| format!("owner was {o}"))
            .unwrap_or_default(),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

fn check_days(days: Option<u32>) -> Result<(), ApiFailure> {
    if days.is_some_and(|d| d > MAX_RETENTION_DAYS) {
        return Err(ApiFailure::BadRequest(format!(
            "Retention is at most {MAX_RETENTION_DAYS} days."
        )));
    }
    Ok(())
}

/// `PUT /api/admin/rooms/{room}/retention`: `{"days": n}` (0 keeps everything) or
/// `{"days": null}` for the server's setting.
pub async fn room_retention(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(room): Path<String>,
    body: Result<Json<Retention>, JsonRejection>,
) -> Result<StatusCode, ApiFailure> {
    let authed = admin_only(&state, &headers).await?;
    let Json(retention) = body.map_err(|e| ApiFailure::BadRequest(e.body_text()))?;
    check_days(retention.days)?;
    let room = RoomId(room);
    let label = room_label(&state, &room).await?;
    if !state
        .store
        .set_room_retention(&room, retention.days)
        .await?
    {
        return Err(ApiFailure::NotFound);
    }
    let detail = retention
        .days
        .map_or_else(|| "server default".to_owned(), |d| format!("{d} days"));
    super::audit(
        &state,
        &authed.username,
        "set room retention",
        &label,
        &detail,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/admin/settings`.
pub async fn settings(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<ServerSettings>, ApiFailure> {
    admin_only(&state, &headers).await?;
    // Read from the database: another node may have changed them a moment ago.
    state.admin.load(state.store.as_ref()).await?;
    Ok(Json(state.admin.current().settings.clone()))
}

/// `PUT /api/admin/settings`: retention and abuse controls for every node.
pub async fn put_settings(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<ServerSettings>, JsonRejection>,
) -> Result<Json<ServerSettings>, ApiFailure> {
    let authed = admin_only(&state, &headers).await?;
    let Json(mut settings) = body.map_err(|e| ApiFailure::BadRequest(e.body_text()))?;
    check_days(settings.retention_days)?;
    abuse::check_word_list(&settings.blocked_words).map_err(ApiFailure::BadRequest)?;
    if settings.flood_repeats == 1 {
        return Err(ApiFailure::BadRequest(
            "Flood detection needs at least 2 repeats (0 turns it off): 1 would silence every \
             first message."
                .to_owned(),
        ));
    }
    settings.blocked_words = settings
        .blocked_words
        .iter()
        .map(|w| w.trim().to_owned())
        .filter(|w| !w.is_empty())
        .collect();
    settings
        .blocked_words
        .sort_unstable_by_key(|w| w.to_lowercase());
    settings.blocked_words.dedup_by_key(|w| w.to_lowercase());
    let before = state.admin.current().settings.clone();
    state
        .admin
        .save(state.store.as_ref(), settings.clone())
        .await?;
    super::audit(
        &state,
        &authed.username,
        "change settings",
        "server",
        &settings_change(&before, &settings),
    )
    .await;
    Ok(Json(settings))
}

/// What changed, for the audit log (the words themselves are not repeated there).
fn settings_change(before: &ServerSettings, after: &ServerSettings) -> String {
    let mut changes = Vec::new();
    if before.retention_days != after.retention_days {
        changes.push(format!(
            "retention {:?} → {:?} days",
            before.retention_days, after.retention_days
        ));
    }
    if before.blocked_words != after.blocked_words || before.word_action != after.word_action {
        changes.push(format!(
            "word list: {} words, {:?}",
            after.blocked_words.len(),
            after.word_action
        ));
    }
    if (before.new_account_hours, before.new_account_links)
        != (after.new_account_hours, after.new_account_links)
    {
        changes.push(format!(
            "new accounts ({} h): {} links",
            after.new_account_hours, after.new_account_links
        ));
    }
    if (
        before.flood_repeats,
        before.flood_window_secs,
        before.flood_mute_minutes,
    ) != (
        after.flood_repeats,
        after.flood_window_secs,
        after.flood_mute_minutes,
    ) {
        changes.push(format!(
            "flood: {} in {} s mutes {} min",
            after.flood_repeats, after.flood_window_secs, after.flood_mute_minutes
        ));
    }
    if changes.is_empty() {
        "no change".to_owned()
    } else {
        changes.join("; ")
    }
}

/// `POST /api/admin/retention/run`: applies retention now instead of at the next hour.
pub async fn run_retention(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<RetentionRun>, ApiFailure> {
    let authed = admin_only(&state, &headers).await?;
    let run = super::retention::run(&state).await?;
    super::audit(
        &state,
        &authed.username,
        "run retention",
        "server",
        &format!("{} messages in {} rooms", run.deleted, run.rooms),
    )
    .await;
    Ok(Json(run))
}

/// `GET /api/admin/audit?before=ID`: newest first, 100 at a time.
pub async fn audit_log(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<AuditLog>, ApiFailure> {
    admin_only(&state, &headers).await?;
    let before = query.get("before").and_then(|b| b.parse().ok());
    let entries = state.store.audit_log(before, LIST_LIMIT).await?;
    Ok(Json(AuditLog { entries }))
}

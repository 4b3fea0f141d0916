//! Reports of messages: any member reports one with a reason; the room's owner and admins,
//! and the server's administrators, see it in their queue and answer it (delete the message,
//! mute, remove or ban its sender, or dismiss). Every open report of the message gets the
//! outcome, and each reporter is told on every node (a `notice` frame to their sockets).

use super::api::query_flag;
use crate::error::ApiFailure;
use crate::frames::encode_value;
use crate::hub::Audience;
use crate::request::{authenticate_metered, check_origin};
use crate::rules;
use crate::state::AppState;
use crate::store::{Draft, NamedUser, ReportDraft, ReportRow, UserId};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use shared::admin::{
    MAX_REPORT_REASON, NewReport, Notice, ReportAction, ReportActionRequest, ReportCreated,
    ReportHandled, ReportStatus, Reports,
};
use shared::events::{EventKind, Role};
use shared::{RoomId, Seq};
use std::collections::HashMap;

/// Open reports one account may have waiting at once.
const OPEN_REPORTS_PER_USER: u64 = 50;
/// Reports a queue shows at once.
const QUEUE_LIMIT: u32 = 200;

/// `POST /api/reports`: report a message of someone else in a room I am in.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<NewReport>, JsonRejection>,
) -> Result<Response, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let authed = authenticate_metered(&state, &headers).await?;
    let Json(report) = body.map_err(|e| ApiFailure::BadRequest(e.body_text()))?;
    let reason = report.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REPORT_REASON {
        return Err(ApiFailure::BadRequest(format!(
            "Give a reason of 1 to {MAX_REPORT_REASON} characters."
        )));
    }
    // Only members report, and only what they can read: anyone else learns nothing.
    if state
        .store
        .membership(&report.room, authed.user)
        .await?
        .is_none()
    {
        return Err(ApiFailure::NotFound);
    }
    let floor = state.store.history_floor(&report.room).await?;
    let event = match state.store.event_at(&report.room, Seq(report.seq)).await? {
        Some(event) if event.seq > floor => event,
        _ => return Err(ApiFailure::NotFound),
    };
    let EventKind::Message {
        body,
        deleted,
        attachment,
        ..
    } = &event.kind
    else {
        return Err(ApiFailure::NotFound);
    };
    // A file sent without words is named, so the moderators see what was reported.
    let body = match attachment {
        Some(file) if body.is_empty() => format!("📎 {}", file.name),
        _ => body.clone(),
    };
    if *deleted {
        return Err(ApiFailure::Conflict("That message was deleted already."));
    }
    if event.sender == authed.username {
        return Err(ApiFailure::Conflict("You cannot report your own message."));
    }
    let sender = state
        .store
        .user_by_name(&event.sender)
        .await?
        .ok_or(ApiFailure::NotFound)?;
    if state.store.open_reports_by(authed.user).await? >= OPEN_REPORTS_PER_USER {
        return Err(ApiFailure::TooMany(
            "open reports",
            OPEN_REPORTS_PER_USER as usize,
        ));
    }
    let draft = ReportDraft {
        room: report.room.clone(),
        seq: event.seq,
        sender,
        body,
        reporter: authed.user,
        reason: reason.to_owned(),
        at_ms: crate::now_ms(),
    };
    let id = state
        .store
        .add_report(&draft)
        .await?
        .ok_or(ApiFailure::Conflict("You reported this message already."))?;
    tracing::info!(report = id, user = authed.user.0, "message reported");
    Ok((StatusCode::CREATED, Json(ReportCreated { id })).into_response())
}

/// `GET /api/reports`: my reports and what became of them.
pub async fn mine(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Reports>, ApiFailure> {
    let authed = authenticate_metered(&state, &headers).await?;
    let rows = state.store.reports_by(authed.user, QUEUE_LIMIT).await?;
    Ok(Json(Reports {
        reports: rows
            .into_iter()
            .map(|row| {
                let mut report = row.report;
                // Who handled it stays with the moderators.
                report.reporter = None;
                report.handled_by = None;
                report
            })
            .collect(),
    }))
}

/// `GET /api/moderation/reports?status=open|all`: the queue of reports I may answer: every
/// report for server administrators, those of the rooms I own or administer for others.
pub async fn queue(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Reports>, ApiFailure> {
    let authed = authenticate_metered(&state, &headers).await?;
    let moderator = if state.store.is_admin(authed.user).await? {
        None
    } else {
        Some(authed.user)
    };
    let handled = query_flag(&query, "status", "all");
    let rows = state.store.reports(moderator, handled, QUEUE_LIMIT).await?;
    Ok(Json(Reports {
        reports: rows.into_iter().map(|row| row.report).collect(),
    }))
}

/// `POST /api/moderation/reports/{id}`: answers a report.
pub async fn act(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Result<Json<ReportActionRequest>, JsonRejection>,
) -> Result<Json<ReportHandled>, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let authed = authenticate_metered(&state, &headers).await?;
    let Json(request) = body.map_err(|e| ApiFailure::BadRequest(e.body_text()))?;
    let row = state.store.report(id).await?.ok_or(ApiFailure::NotFound)?;
    let server_admin = state.store.is_admin(authed.user).await?;
    let my_role = state
        .store
        .membership(&row.report.room, authed.user)
        .await?
        .map(|m| m.role);
    let their_role = state
        .store
        .membership(&row.report.room, row.sender)
        .await?
        .map(|m| m.role);
    // A room's owner and admins answer reports about members ranked below them (a report
    // about one of them goes to the server's administrators); server administrators answer
    // every report.
    let room_moderator = my_role.is_some_and(|mine| {
        row.sender != authed.user && rules::may_moderate(mine, their_role.unwrap_or(Role::Member))
    });
    if !server_admin && !room_moderator {
        // Not a queue of mine: as if it did not exist.
        return Err(ApiFailure::NotFound);
    }
    if row.report.status != ReportStatus::Open {
        return Err(ApiFailure::Conflict("This report was answered already."));
    }
    let me = NamedUser {
        id: authed.user,
        name: authed.username.clone(),
    };
    let sender = NamedUser {
        id: row.sender,
        name: row.report.sender.clone(),
    };
    let status = request.action.outcome();
    let now = crate::now_ms();
    let seq = Seq(row.report.seq);
    // The answer is claimed first, so of two moderators answering at once exactly one acts.
    let reporters = state
        .store
        .close_reports(&row.report.room, seq, status, &me.name, now)
        .await?;
    if reporters.is_empty() {
        return Err(ApiFailure::Conflict("This report was answered already."));
    }
    if let Err(e) = apply(
        &state,
        &me,
        &row,
        &sender,
        their_role.is_some(),
        request.action,
    )
    .await
    {
        // Not carried out: the reports wait for another answer.
        state
            .store
            .reopen_reports(&row.report.room, seq, &me.name, now)
            .await?;
        return Err(e);
    }
    tell_reporters(&state, &row, status, &reporters);
    super::audit(
        &state,
        &me.name,
        &format!("report {}", status.as_str()),
        &format!(
            "{}'s message {} in {}",
            sender.name,
            row.report.seq,
            room_label(&row)
        ),
        &row.report.reason,
    )
    .await;
    Ok(Json(ReportHandled { status }))
}

fn room_label(row: &ReportRow) -> String {
    if row.report.room_name.is_empty() {
        format!("room {}", row.report.room.0)
    } else {
        row.report.room_name.clone()
    }
}

/// Carries out a moderator's answer as ordinary room events, so every client and node sees
/// it like any other change.
async fn apply(
    state: &AppState,
    me: &NamedUser,
    row: &ReportRow,
    sender: &NamedUser,
    sender_is_member: bool,
    action: ReportAction,
) -> Result<(), ApiFailure> {
    let room = &row.report.room;
    let group = state
        .store
        .admin_room(room)
        .await?
        .is_some_and(|r| r.kind == "group");
    let draft = match action {
        ReportAction::Dismiss => return Ok(()),
        ReportAction::Delete => {
            let info = state
                .store
                .message_info(room, Seq(row.report.seq), None)
                .await?;
            match info {
                Some(info) if !info.deleted => Draft::Delete {
                    target: Seq(row.report.seq),
                },
                // Deleted meanwhile (by its author): the outcome stands.
                _ => return Ok(()),
            }
        }
        _ if !group => {
            return Err(ApiFailure::Forbidden(
                "A direct conversation has nobody to mute, remove or ban: delete the message.",
            ));
        }
        ReportAction::Mute if sender_is_member => Draft::Muted {
            user: sender.clone(),
            muted: true,
        },
        ReportAction::Remove if sender_is_member => Draft::Removed {
            user: sender.clone(),
        },
        ReportAction::Ban => {
            if state.store.is_banned(room, sender.id).await? {
                return Ok(());
            }
            Draft::Banned {
                user: sender.clone(),
                banned: true,
            }
        }
        // Mute or remove someone who left already: nothing left to do.
        ReportAction::Mute | ReportAction::Remove => return Ok(()),
    };
    let leaves = matches!(draft, Draft::Removed { .. })
        || (matches!(draft, Draft::Banned { .. }) && sender_is_member);
    let muted = matches!(draft, Draft::Muted { .. });
    let left: &[UserId] = if leaves {
        std::slice::from_ref(&sender.id)
    } else {
        &[]
    };
    append_as(state, me, room, vec![draft], &[], left).await?;
    if muted {
        send_summary(state, room, sender.id).await;
    }
    if action == ReportAction::Delete
        && let Some(media) = &state.media
    {
        media.wake_collector();
    }
    Ok(())
}

/// Appends `drafts` to `room` as `actor` under the order, publishes them, and makes `joined`
/// follow the room first and `left` stop following it after (telling them).
pub async fn append_as(
    state: &AppState,
    actor: &NamedUser,
    room: &RoomId,
    drafts: Vec<Draft>,
    joined: &[UserId],
    left: &[UserId],
) -> Result<(), ApiFailure> {
    let in_order = state.room_log.in_order().await;
    let drafts = drafts.into_iter().map(|d| (None, d)).collect();
    let events = state
        .room_log
        .append(&in_order, room, actor, drafts)
        .await?;
    for user in joined {
        state.fanout.set_membership(*user, room, true);
    }
    for event in events {
        state.room_log.publish(&in_order, event, None);
    }
    for user in left {
        state.fanout.set_membership(*user, room, false);
        let frame =
            crate::frames::encode(&shared::ws::ServerMessage::RoomRemoved { room: room.clone() });
        state.fanout.send(Audience::User(*user), frame, None);
    }
    Ok(())
}

/// Sends `user`'s sockets the room's new summary (a role or mute changed).
pub async fn send_summary(state: &AppState, room: &RoomId, user: UserId) {
    match state.store.room_summary(room, user).await {
        Ok(Some(summary)) => {
            let frame =
                crate::frames::encode(&shared::ws::ServerMessage::RoomUpdated { room: summary });
            state.fanout.send(Audience::User(user), frame, None);
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "room summary not sent"),
    }
}

fn tell_reporters(state: &AppState, row: &ReportRow, status: ReportStatus, reporters: &[UserId]) {
    let outcome = match status {
        ReportStatus::Deleted => "the message was deleted",
        ReportStatus::Muted => "its sender was muted in the room",
        ReportStatus::Removed => "its sender was removed from the room",
        ReportStatus::Banned => "its sender was banned from the room",
        ReportStatus::Dismissed | ReportStatus::Open => "no action was needed",
    };
    let text = format!(
        "Your report about {}'s message in {} was answered: {outcome}.",
        row.report.sender,
        if row.report.room_name.is_empty() {
            "a conversation".to_owned()
        } else {
            row.report.room_name.clone()
        }
    );
    let frame = encode_value(&Notice { text });
    for reporter in reporters {
        state
            .fanout
            .send(Audience::User(*reporter), frame.clone(), None);
    }
}

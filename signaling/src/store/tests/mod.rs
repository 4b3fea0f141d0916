//! The stores' conformance suite: every test of `accounts`, `calls`, `rooms` and `timeline` runs on
//! SQLite (in a temporary directory) and on PostgreSQL (in a database of its own), as
//! `store::tests::sqlite::<test>` and `store::tests::postgres::<test>`. A store is done when
//! the suite passes on it; a storage feature is done when the suite covers it on both.
//!
//! Tests of one store: `sqlite_only` (databases of earlier releases carried over) and
//! `several_writers` (PostgreSQL pools standing in for several server processes); `open`
//! checks that the database URL picks the store.
//!
//! PostgreSQL must be reachable (`CHAT_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`, a role that may create databases); the
//! tests fail, never skip, when it is not.

mod accounts;
mod admin;
mod calls;
mod fixtures;
mod integrations;
mod media;
mod open;
mod rooms;
mod several_writers;
mod sqlite_only;
mod support;
mod timeline;

use super::*;
use std::sync::Arc;

/// Instantiates each listed test (an `async fn(Arc<dyn Storage>)`) once per store. A test
/// left out of the list is dead code, which the lints refuse.
macro_rules! conformance {
    ($($module:ident::$test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    super::fixtures::on_sqlite(super::$module::$test).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    super::fixtures::on_postgres(super::$module::$test).await;
                }
            )*
        }
    };
}

conformance!(
    integrations::a_bot_made_first_leaves_the_first_person_the_administrator,
    support::a_support_conversation_goes_from_the_assistant_to_one_agent_and_back,
    support::a_guest_is_not_an_account_and_an_agent_hands_a_conversation_back,
    integrations::a_bot_has_one_live_token_and_only_the_rooms_it_is_put_in,
    integrations::a_webhook_is_leased_to_one_node_and_resumes_where_delivery_stopped,
    admin::a_deactivated_account_gets_no_session_and_loses_its_own,
    admin::retention_deletes_an_unbroken_run_and_raises_the_floor,
    admin::reports_reach_the_rooms_moderators_and_close_together,
    admin::audit_settings_insight_and_deleting_a_room,
    accounts::usernames_are_unique_and_found_whatever_their_case,
    accounts::only_the_first_account_signs_up_on_an_empty_server,
    accounts::the_first_account_runs_the_lobby,
    accounts::the_first_account_is_the_administrator,
    accounts::session_use_moves_forward_and_idle_sessions_are_purged,
    accounts::sessions_are_listed_newest_first_and_ended,
    accounts::two_factor_codes_and_recovery_codes_work_once,
    accounts::a_passkey_belongs_to_one_account_and_their_number_is_capped,
    accounts::a_ceremony_is_taken_once_by_its_kind_before_it_expires,
    accounts::an_account_keeps_a_few_ceremonies_and_the_newest_win,
    accounts::a_pending_single_sign_on_is_taken_once_and_their_number_is_bounded,
    accounts::a_single_sign_on_identity_finds_its_account_until_the_account_is_deleted,
    accounts::display_names_show_in_member_lists_and_go_with_the_account,
    accounts::a_deleted_account_frees_its_name_and_leaves_its_events,
    calls::a_call_ends_when_its_last_socket_leaves_and_says_if_it_was_missed,
    calls::an_unanswered_call_rings_out_or_is_declined_and_calls_are_capped,
    calls::the_sockets_of_a_stopped_node_leave_and_only_one_departure_ends_a_call,
    rooms::member_counts_follow_joins_and_leaves,
    rooms::a_direct_conversation_is_found_by_its_pair_and_named_after_the_other,
    rooms::invite_links_expire_are_revoked_and_end_with_their_creator,
    rooms::blocks_are_seen_from_both_sides,
    rooms::a_notification_level_is_each_members_own,
    rooms::file_offers_wait_for_their_receiver_until_answered_or_old,
    rooms::push_subscriptions_and_the_outbox,
    timeline::a_thread_gathers_the_replies_to_a_message,
    rooms::receipts_only_move_forward_and_stop_at_the_last_seq,
    timeline::concurrent_appends_get_consecutive_seqs,
    timeline::unread_counts_skip_my_own_and_deleted_messages,
    timeline::a_group_commit_stores_in_order_and_checks_each_message_again,
    timeline::a_group_commit_refuses_muted_and_blocked_senders,
    timeline::every_kind_of_event_reads_back_as_it_was_stored,
    timeline::history_pages_back_over_visible_events_with_their_reactions,
    media::uploads_respect_quotas_and_only_members_read_sent_files,
    media::deleted_messages_and_stale_uploads_are_collected,
    media::pictures_belong_to_accounts_and_rooms_and_hold_their_blobs,
    media::link_previews_are_kept_replaced_and_forgotten,
);

fn message(body: &str) -> Draft {
    Draft::Message {
        attachment: None,
        body: body.into(),
        reply_to: None,
        mentions: Vec::new(),
    }
}

async fn user(store: &Arc<dyn Storage>, name: &str) -> NamedUser {
    let id = store.create_user(name, "hash", 1).await.unwrap();
    NamedUser {
        id,
        name: name.into(),
    }
}

fn pending(room: &RoomId, sender: &NamedUser, key: &str) -> PendingMessage {
    PendingMessage {
        attachment: None,
        room: room.clone(),
        sender: sender.clone(),
        client_id: ClientMsgId(key.into()),
        body: format!("body of {key}"),
        reply_to: None,
        mentions: Vec::new(),
    }
}

/// A group room `id` made by `creator`, with `others` added.
async fn group(
    store: &Arc<dyn Storage>,
    id: &str,
    creator: &NamedUser,
    others: &[&NamedUser],
) -> RoomId {
    let room = RoomId(id.into());
    store
        .create_room(
            NewRoom {
                id: room.clone(),
                kind: RoomKind::Group,
                name: id,
                topic: "",
                creator,
                client_id: &ClientMsgId(format!("create {id}")),
                direct: None,
            },
            2,
        )
        .await
        .unwrap();
    let added = others
        .iter()
        .map(|u| (None, Draft::Added { user: (*u).clone() }))
        .collect();
    store.append_all(&room, creator, added, 3).await.unwrap();
    room
}

//! Fault injection: the real SQLite store, wrapped so a test can hold one operation at a chosen
//! point and let another run in between, making a race happen every time instead of once in
//! thousands of tries (as zed's collab tests pause a connection).

use async_trait::async_trait;
use shared::events::Event;
use shared::rooms::RoomSummary;
use shared::{ClientMsgId, RoomId, Seq};
use signaling::calls::{CallInfo, CallKey, CallSocket, Ended, JoinError, Leaving, Left};
use signaling::store::{
    Appended, CeremonyKind, Draft, MemberRecord, Membership, MessageInfo, NamedUser, NewRoom,
    PendingMessage, SessionOrigin, SessionRecord, SessionUser, SqliteStore, SsoLogin, Storage,
    StoreError, StoredPasskey, TwoFactor, UserCredentials, UserId,
};
use std::sync::Mutex;
use tokio::sync::oneshot;

/// Holds the next `room_ids` read of `user` after it has read, until `go` fires.
struct Gate {
    user: UserId,
    read: oneshot::Sender<()>,
    go: oneshot::Receiver<()>,
}

pub struct GatedStore {
    inner: SqliteStore,
    gate: Mutex<Option<Gate>>,
}

/// The test's side of an armed gate.
pub struct Held {
    /// Fires once the held read has read.
    pub read: oneshot::Receiver<()>,
    /// Fire to let it return.
    pub go: oneshot::Sender<()>,
}

impl GatedStore {
    pub fn new(inner: SqliteStore) -> Self {
        Self {
            inner,
            gate: Mutex::new(None),
        }
    }

    /// The next `room_ids(user)` returns only after the test says so.
    pub fn hold_room_read(&self, user: UserId) -> Held {
        let (read_tx, read_rx) = oneshot::channel();
        let (go_tx, go_rx) = oneshot::channel();
        *self.gate.lock().unwrap() = Some(Gate {
            user,
            read: read_tx,
            go: go_rx,
        });
        Held {
            read: read_rx,
            go: go_tx,
        }
    }
}

#[async_trait]
impl Storage for GatedStore {
    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<UserId, StoreError> {
        self.inner
            .create_user(username, password_hash, now_ms)
            .await
    }

    async fn find_user(&self, username: &str) -> Result<Option<UserCredentials>, StoreError> {
        self.inner.find_user(username).await
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<NamedUser>, StoreError> {
        self.inner.user_by_name(username).await
    }

    async fn create_session(
        &self,
        token_hash: &[u8],
        user: UserId,
        now_ms: i64,
        expires_at_ms: i64,
        origin: &SessionOrigin,
    ) -> Result<(), StoreError> {
        self.inner
            .create_session(token_hash, user, now_ms, expires_at_ms, origin)
            .await
    }

    async fn sessions_of(
        &self,
        user: UserId,
        now_ms: i64,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        self.inner.sessions_of(user, now_ms).await
    }

    async fn end_sessions(
        &self,
        user: UserId,
        keep: Option<&[u8]>,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        self.inner.end_sessions(user, keep).await
    }

    async fn end_session(&self, user: UserId, token_hash: &[u8]) -> Result<bool, StoreError> {
        self.inner.end_session(user, token_hash).await
    }

    async fn live_messages_of(&self, user: UserId) -> Result<Vec<(RoomId, Seq)>, StoreError> {
        self.inner.live_messages_of(user).await
    }

    async fn forget_account(&self, user: UserId) -> Result<(), StoreError> {
        self.inner.forget_account(user).await
    }

    async fn add_sso_login(
        &self,
        login: &SsoLogin,
        expired_before_ms: i64,
        max_pending: u32,
    ) -> Result<bool, StoreError> {
        self.inner
            .add_sso_login(login, expired_before_ms, max_pending)
            .await
    }

    async fn take_sso_login(&self, state: &str) -> Result<Option<SsoLogin>, StoreError> {
        self.inner.take_sso_login(state).await
    }

    async fn sso_user(&self, issuer: &str, subject: &str) -> Result<Option<NamedUser>, StoreError> {
        self.inner.sso_user(issuer, subject).await
    }

    async fn create_sso_user(
        &self,
        issuer: &str,
        subject: &str,
        username: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<UserId, StoreError> {
        self.inner
            .create_sso_user(issuer, subject, username, password_hash, now_ms)
            .await
    }

    async fn two_factor(&self, user: UserId) -> Result<Option<TwoFactor>, StoreError> {
        self.inner.two_factor(user).await
    }

    async fn begin_two_factor(&self, user: UserId, secret: &[u8]) -> Result<bool, StoreError> {
        self.inner.begin_two_factor(user, secret).await
    }

    async fn enable_two_factor(
        &self,
        user: UserId,
        step: i64,
        recovery_hashes: &[[u8; 32]],
    ) -> Result<(), StoreError> {
        self.inner
            .enable_two_factor(user, step, recovery_hashes)
            .await
    }

    async fn use_two_factor_step(&self, user: UserId, step: i64) -> Result<bool, StoreError> {
        self.inner.use_two_factor_step(user, step).await
    }

    async fn use_recovery_code(&self, user: UserId, hash: &[u8; 32]) -> Result<bool, StoreError> {
        self.inner.use_recovery_code(user, hash).await
    }

    async fn recovery_codes_left(&self, user: UserId) -> Result<usize, StoreError> {
        self.inner.recovery_codes_left(user).await
    }

    async fn disable_two_factor(&self, user: UserId) -> Result<(), StoreError> {
        self.inner.disable_two_factor(user).await
    }

    async fn messages_by(
        &self,
        room: &RoomId,
        sender: UserId,
        after: Seq,
        limit: u32,
    ) -> Result<(Vec<Event>, bool), StoreError> {
        self.inner.messages_by(room, sender, after, limit).await
    }

    async fn display_name(&self, user: UserId) -> Result<String, StoreError> {
        self.inner.display_name(user).await
    }

    async fn set_display_name(&self, user: UserId, name: &str) -> Result<(), StoreError> {
        self.inner.set_display_name(user, name).await
    }

    async fn has_sso_identity(&self, user: UserId) -> Result<bool, StoreError> {
        self.inner.has_sso_identity(user).await
    }

    async fn has_accounts(&self) -> Result<bool, StoreError> {
        self.inner.has_accounts().await
    }

    async fn make_admins(&self, usernames: &[String]) -> Result<Vec<String>, StoreError> {
        self.inner.make_admins(usernames).await
    }

    async fn create_first_user(
        &self,
        username: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<Option<UserId>, StoreError> {
        self.inner
            .create_first_user(username, password_hash, now_ms)
            .await
    }

    async fn is_admin(&self, user: UserId) -> Result<bool, StoreError> {
        self.inner.is_admin(user).await
    }

    async fn passkeys(&self, user: UserId) -> Result<Vec<StoredPasskey>, StoreError> {
        self.inner.passkeys(user).await
    }

    async fn add_passkey(
        &self,
        user: UserId,
        passkey: &StoredPasskey,
        max_per_user: usize,
    ) -> Result<bool, StoreError> {
        self.inner.add_passkey(user, passkey, max_per_user).await
    }

    async fn passkey_used(
        &self,
        credential_id: &[u8],
        passkey: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.inner
            .passkey_used(credential_id, passkey, now_ms)
            .await
    }

    async fn remove_passkey(&self, user: UserId, credential_id: &[u8]) -> Result<bool, StoreError> {
        self.inner.remove_passkey(user, credential_id).await
    }

    async fn put_ceremony(
        &self,
        id_hash: &[u8],
        user: UserId,
        kind: CeremonyKind,
        state: &str,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        self.inner
            .put_ceremony(id_hash, user, kind, state, expires_at_ms)
            .await
    }

    async fn take_ceremony(
        &self,
        id_hash: &[u8],
        kind: CeremonyKind,
        now_ms: i64,
    ) -> Result<Option<(UserId, String)>, StoreError> {
        self.inner.take_ceremony(id_hash, kind, now_ms).await
    }

    async fn set_password_hash(&self, user: UserId, password_hash: &str) -> Result<(), StoreError> {
        self.inner.set_password_hash(user, password_hash).await
    }

    async fn session_user(
        &self,
        token_hash: &[u8],
        now_ms: i64,
    ) -> Result<Option<SessionUser>, StoreError> {
        self.inner.session_user(token_hash, now_ms).await
    }

    async fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        self.inner.delete_session(token_hash).await
    }

    async fn purge_expired_sessions(
        &self,
        now_ms: i64,
        idle_since_ms: i64,
    ) -> Result<u64, StoreError> {
        self.inner
            .purge_expired_sessions(now_ms, idle_since_ms)
            .await
    }

    async fn touch_session(&self, token_hash: &[u8], now_ms: i64) -> Result<(), StoreError> {
        self.inner.touch_session(token_hash, now_ms).await
    }

    async fn set_last_seen(&self, user: UserId, at_ms: i64) -> Result<(), StoreError> {
        self.inner.set_last_seen(user, at_ms).await
    }

    async fn set_blocked(
        &self,
        blocker: UserId,
        blocked: UserId,
        on: bool,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.inner.set_blocked(blocker, blocked, on, now_ms).await
    }

    async fn blocked_either_way(&self, a: UserId, b: UserId) -> Result<bool, StoreError> {
        self.inner.blocked_either_way(a, b).await
    }

    async fn has_blocked(&self, blocker: UserId, blocked: UserId) -> Result<bool, StoreError> {
        self.inner.has_blocked(blocker, blocked).await
    }

    async fn blocked_by(&self, blocker: UserId) -> Result<Vec<String>, StoreError> {
        self.inner.blocked_by(blocker).await
    }

    async fn room_ids(&self, user: UserId) -> Result<Vec<RoomId>, StoreError> {
        let rooms = self.inner.room_ids(user).await?;
        let gate = self.gate.lock().unwrap().take_if(|g| g.user == user);
        if let Some(gate) = gate {
            let _ = gate.read.send(());
            let _ = gate.go.await;
        }
        Ok(rooms)
    }

    async fn small_room_ids(
        &self,
        user: UserId,
        max_members: u32,
    ) -> Result<Vec<RoomId>, StoreError> {
        self.inner.small_room_ids(user, max_members).await
    }

    async fn room_summaries(&self, user: UserId) -> Result<Vec<RoomSummary>, StoreError> {
        self.inner.room_summaries(user).await
    }

    async fn room_summary(
        &self,
        room: &RoomId,
        user: UserId,
    ) -> Result<Option<RoomSummary>, StoreError> {
        self.inner.room_summary(room, user).await
    }

    async fn membership(
        &self,
        room: &RoomId,
        user: UserId,
    ) -> Result<Option<Membership>, StoreError> {
        self.inner.membership(room, user).await
    }

    async fn members(&self, room: &RoomId) -> Result<Vec<MemberRecord>, StoreError> {
        self.inner.members(room).await
    }

    async fn put_file_offer(&self, offer: &signaling::store::FileOffer) -> Result<(), StoreError> {
        self.inner.put_file_offer(offer).await
    }

    async fn remove_file_offer(
        &self,
        session: &str,
        a: UserId,
        b: UserId,
    ) -> Result<(), StoreError> {
        self.inner.remove_file_offer(session, a, b).await
    }

    async fn file_offers_for(
        &self,
        to: UserId,
        since_ms: i64,
    ) -> Result<Vec<signaling::store::FileOffer>, StoreError> {
        self.inner.file_offers_for(to, since_ms).await
    }

    async fn create_upload(
        &self,
        file: &signaling::store::StoredFile,
        quota: u64,
        max_open: u32,
    ) -> Result<Result<(), signaling::store::UploadRefused>, StoreError> {
        self.inner.create_upload(file, quota, max_open).await
    }

    async fn stored_file(
        &self,
        id: &str,
    ) -> Result<Option<signaling::store::StoredFile>, StoreError> {
        self.inner.stored_file(id).await
    }

    async fn seal_upload(
        &self,
        id: &str,
        sealed: &signaling::store::SealedFile,
    ) -> Result<bool, StoreError> {
        self.inner.seal_upload(id, sealed).await
    }

    async fn discard_upload(
        &self,
        id: &str,
        owner: UserId,
    ) -> Result<Option<signaling::store::StoredFile>, StoreError> {
        self.inner.discard_upload(id, owner).await
    }

    async fn media_used(&self, user: UserId) -> Result<u64, StoreError> {
        self.inner.media_used(user).await
    }

    async fn readable_file(
        &self,
        id: &str,
        reader: UserId,
    ) -> Result<Option<signaling::store::StoredFile>, StoreError> {
        self.inner.readable_file(id, reader).await
    }

    async fn collect_files(
        &self,
        stale_before_ms: i64,
        limit: u32,
    ) -> Result<Vec<signaling::store::StoredFile>, StoreError> {
        self.inner.collect_files(stale_before_ms, limit).await
    }

    async fn blob_in_use(&self, hash: &str) -> Result<bool, StoreError> {
        self.inner.blob_in_use(hash).await
    }

    async fn set_user_avatar(
        &self,
        user: UserId,
        hash: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        self.inner.set_user_avatar(user, hash).await
    }

    async fn user_avatar(
        &self,
        username: &str,
        reader: UserId,
        only_shared: bool,
    ) -> Result<Option<String>, StoreError> {
        self.inner.user_avatar(username, reader, only_shared).await
    }

    async fn set_room_avatar(
        &self,
        room: &RoomId,
        hash: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        self.inner.set_room_avatar(room, hash).await
    }

    async fn room_avatar(&self, room: &RoomId) -> Result<Option<String>, StoreError> {
        self.inner.room_avatar(room).await
    }

    async fn link_preview(
        &self,
        url: &str,
    ) -> Result<Option<signaling::store::LinkPreview>, StoreError> {
        self.inner.link_preview(url).await
    }

    async fn put_link_preview(
        &self,
        preview: &signaling::store::LinkPreview,
    ) -> Result<(), StoreError> {
        self.inner.put_link_preview(preview).await
    }

    async fn forget_link_previews(&self, before_ms: i64) -> Result<u64, StoreError> {
        self.inner.forget_link_previews(before_ms).await
    }

    async fn server_key(
        &self,
        name: &str,
        fresh: &[u8],
        now_ms: i64,
    ) -> Result<Vec<u8>, StoreError> {
        self.inner.server_key(name, fresh, now_ms).await
    }

    async fn add_push_subscription(
        &self,
        subscription: &signaling::store::PushSubscription,
        per_user: i64,
    ) -> Result<(), StoreError> {
        self.inner
            .add_push_subscription(subscription, per_user)
            .await
    }

    async fn remove_push_subscription(
        &self,
        endpoint: &str,
        user: Option<UserId>,
    ) -> Result<bool, StoreError> {
        self.inner.remove_push_subscription(endpoint, user).await
    }

    async fn push_text(&self, user: UserId) -> Result<bool, StoreError> {
        self.inner.push_text(user).await
    }

    async fn set_push_text(&self, user: UserId, on: bool) -> Result<(), StoreError> {
        self.inner.set_push_text(user, on).await
    }

    async fn push_targets(
        &self,
        room: &RoomId,
        except: UserId,
    ) -> Result<Vec<signaling::store::PushTarget>, StoreError> {
        self.inner.push_targets(room, except).await
    }

    async fn claim_pushes(
        &self,
        now_ms: i64,
        until_ms: i64,
        limit: u32,
    ) -> Result<Vec<(RoomId, Seq)>, StoreError> {
        self.inner.claim_pushes(now_ms, until_ms, limit).await
    }

    async fn finish_push(&self, room: &RoomId, seq: Seq) -> Result<(), StoreError> {
        self.inner.finish_push(room, seq).await
    }

    async fn event_at(&self, room: &RoomId, seq: Seq) -> Result<Option<Event>, StoreError> {
        self.inner.event_at(room, seq).await
    }

    async fn threads(
        &self,
        room: &RoomId,
        limit: u32,
    ) -> Result<Vec<shared::api::ThreadSummary>, StoreError> {
        self.inner.threads(room, limit).await
    }

    async fn thread(
        &self,
        room: &RoomId,
        root: Seq,
        after: Seq,
        limit: u32,
    ) -> Result<(Vec<Event>, bool), StoreError> {
        self.inner.thread(room, root, after, limit).await
    }

    async fn set_notify(
        &self,
        room: &RoomId,
        user: UserId,
        level: shared::rooms::NotifyLevel,
    ) -> Result<bool, StoreError> {
        self.inner.set_notify(room, user, level).await
    }

    async fn direct_room(&self, key: &str) -> Result<Option<RoomId>, StoreError> {
        self.inner.direct_room(key).await
    }

    async fn create_room(&self, room: NewRoom<'_>, now_ms: i64) -> Result<Event, StoreError> {
        self.inner.create_room(room, now_ms).await
    }

    async fn create_invite(
        &self,
        token_hash: &[u8],
        room: &RoomId,
        by: UserId,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        self.inner
            .create_invite(token_hash, room, by, now_ms, expires_at_ms)
            .await
    }

    async fn invite_creator(
        &self,
        token_hash: &[u8],
        room: &RoomId,
    ) -> Result<Option<UserId>, StoreError> {
        self.inner.invite_creator(token_hash, room).await
    }

    async fn revoke_invites(
        &self,
        room: &RoomId,
        token_hash: Option<&[u8]>,
    ) -> Result<u64, StoreError> {
        self.inner.revoke_invites(room, token_hash).await
    }

    async fn is_banned(&self, room: &RoomId, user: UserId) -> Result<bool, StoreError> {
        self.inner.is_banned(room, user).await
    }

    async fn room_counts(&self, user: UserId) -> Result<(usize, usize), StoreError> {
        self.inner.room_counts(user).await
    }

    async fn invite_room(
        &self,
        token_hash: &[u8],
        now_ms: i64,
    ) -> Result<Option<RoomId>, StoreError> {
        self.inner.invite_room(token_hash, now_ms).await
    }

    async fn event_by_client_id(
        &self,
        sender: UserId,
        client_id: &ClientMsgId,
    ) -> Result<Option<Event>, StoreError> {
        self.inner.event_by_client_id(sender, client_id).await
    }

    async fn append_all(
        &self,
        room: &RoomId,
        sender: &NamedUser,
        drafts: Vec<(Option<ClientMsgId>, Draft)>,
        now_ms: i64,
    ) -> Result<Vec<Event>, StoreError> {
        self.inner.append_all(room, sender, drafts, now_ms).await
    }

    async fn append_messages(
        &self,
        batch: &[PendingMessage],
        now_ms: i64,
    ) -> Result<Vec<Appended>, StoreError> {
        self.inner.append_messages(batch, now_ms).await
    }

    async fn message_info(
        &self,
        room: &RoomId,
        seq: Seq,
        emoji: Option<&str>,
    ) -> Result<Option<MessageInfo>, StoreError> {
        self.inner.message_info(room, seq, emoji).await
    }

    async fn history(
        &self,
        room: &RoomId,
        before: Option<Seq>,
        limit: u32,
    ) -> Result<(Vec<Event>, bool, Seq), StoreError> {
        self.inner.history(room, before, limit).await
    }

    async fn events_after(
        &self,
        room: &RoomId,
        after: Seq,
        limit: u32,
    ) -> Result<(Vec<Event>, bool), StoreError> {
        self.inner.events_after(room, after, limit).await
    }

    async fn advance_receipts(
        &self,
        room: &RoomId,
        user: UserId,
        delivered: Seq,
        read: Seq,
    ) -> Result<Option<(Seq, Seq)>, StoreError> {
        self.inner
            .advance_receipts(room, user, delivered, read)
            .await
    }

    async fn start_call(
        &self,
        key: &CallKey,
        video: bool,
        caller: UserId,
        at: CallSocket,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.inner.start_call(key, video, caller, at, now_ms).await
    }

    async fn join_call(
        &self,
        key: &CallKey,
        user: UserId,
        at: CallSocket,
        max_users: usize,
    ) -> Result<Result<Vec<String>, JoinError>, StoreError> {
        self.inner.join_call(key, user, at, max_users).await
    }

    async fn leave_calls(
        &self,
        who: Leaving<'_>,
        only: Option<&CallKey>,
        now_ms: i64,
    ) -> Result<Vec<Left>, StoreError> {
        self.inner.leave_calls(who, only, now_ms).await
    }

    async fn end_unanswered_call(
        &self,
        key: &CallKey,
        declined_by: Option<UserId>,
        now_ms: i64,
    ) -> Result<Option<Ended>, StoreError> {
        self.inner
            .end_unanswered_call(key, declined_by, now_ms)
            .await
    }

    async fn calls_in(&self, rooms: &[RoomId]) -> Result<Vec<CallInfo>, StoreError> {
        self.inner.calls_in(rooms).await
    }

    async fn set_deactivated(&self, user: UserId, at_ms: Option<i64>) -> Result<bool, StoreError> {
        self.inner.set_deactivated(user, at_ms).await
    }

    async fn is_deactivated(&self, user: UserId) -> Result<bool, StoreError> {
        self.inner.is_deactivated(user).await
    }

    async fn set_admin(&self, user: UserId, admin: bool) -> Result<bool, StoreError> {
        self.inner.set_admin(user, admin).await
    }

    async fn admin_users(
        &self,
        query: &str,
        limit: u32,
        now_ms: i64,
    ) -> Result<Vec<shared::admin::AdminUser>, StoreError> {
        self.inner.admin_users(query, limit, now_ms).await
    }

    async fn admin_rooms(
        &self,
        query: &str,
        limit: u32,
    ) -> Result<Vec<shared::admin::AdminRoom>, StoreError> {
        self.inner.admin_rooms(query, limit).await
    }

    async fn delete_room(&self, room: &RoomId) -> Result<Option<Vec<UserId>>, StoreError> {
        self.inner.delete_room(room).await
    }

    async fn set_room_retention(
        &self,
        room: &RoomId,
        days: Option<u32>,
    ) -> Result<bool, StoreError> {
        self.inner.set_room_retention(room, days).await
    }

    async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.inner.setting(key).await
    }

    async fn put_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.inner.put_setting(key, value).await
    }

    async fn retention_rooms(
        &self,
        default_days: Option<u32>,
    ) -> Result<Vec<(RoomId, u32)>, StoreError> {
        self.inner.retention_rooms(default_days).await
    }

    async fn expire_room(
        &self,
        room: &RoomId,
        cutoff_ms: i64,
        chunk: i64,
    ) -> Result<u64, StoreError> {
        self.inner.expire_room(room, cutoff_ms, chunk).await
    }

    async fn admin_room(
        &self,
        room: &RoomId,
    ) -> Result<Option<shared::admin::AdminRoom>, StoreError> {
        self.inner.admin_room(room).await
    }

    async fn reopen_reports(
        &self,
        room: &RoomId,
        seq: Seq,
        by: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        self.inner.reopen_reports(room, seq, by, at_ms).await
    }

    async fn create_bot(
        &self,
        username: &str,
        display_name: &str,
        now_ms: i64,
    ) -> Result<UserId, StoreError> {
        self.inner.create_bot(username, display_name, now_ms).await
    }

    async fn room_bots(&self, room: &RoomId) -> Result<Vec<UserId>, StoreError> {
        self.inner.room_bots(room).await
    }

    async fn is_bot(&self, user: UserId) -> Result<bool, StoreError> {
        self.inner.is_bot(user).await
    }

    async fn bots(&self) -> Result<Vec<signaling::store::BotRow>, StoreError> {
        self.inner.bots().await
    }

    async fn replace_bot_token(
        &self,
        user: UserId,
        token_hash: &[u8],
        now_ms: i64,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        self.inner.replace_bot_token(user, token_hash, now_ms).await
    }

    async fn end_bot_tokens(&self, user: UserId) -> Result<Vec<Vec<u8>>, StoreError> {
        self.inner.end_bot_tokens(user).await
    }

    async fn bot_by_token(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<signaling::store::BotSession>, StoreError> {
        self.inner.bot_by_token(token_hash).await
    }

    async fn touch_bot_token(&self, token_hash: &[u8], now_ms: i64) -> Result<(), StoreError> {
        self.inner.touch_bot_token(token_hash, now_ms).await
    }

    async fn set_bot_commands(
        &self,
        user: UserId,
        commands: &[signaling::store::BotCommand],
    ) -> Result<(), StoreError> {
        self.inner.set_bot_commands(user, commands).await
    }

    async fn room_commands(
        &self,
        room: &RoomId,
    ) -> Result<Vec<(String, signaling::store::BotCommand)>, StoreError> {
        self.inner.room_commands(room).await
    }

    async fn create_webhook(
        &self,
        hook: &signaling::store::NewWebhook,
    ) -> Result<bool, StoreError> {
        self.inner.create_webhook(hook).await
    }

    async fn webhooks(
        &self,
    ) -> Result<Vec<(signaling::store::WebhookRow, String, Seq)>, StoreError> {
        self.inner.webhooks().await
    }

    async fn delete_webhook(&self, id: &str) -> Result<bool, StoreError> {
        self.inner.delete_webhook(id).await
    }

    async fn claim_webhooks(
        &self,
        lease: &str,
        now_ms: i64,
        until_ms: i64,
        limit: u32,
    ) -> Result<Vec<signaling::store::WebhookRow>, StoreError> {
        self.inner
            .claim_webhooks(lease, now_ms, until_ms, limit)
            .await
    }

    async fn webhook_progress(
        &self,
        id: &str,
        lease: &str,
        progress: &signaling::store::WebhookProgress,
    ) -> Result<bool, StoreError> {
        self.inner.webhook_progress(id, lease, progress).await
    }

    async fn open_support(
        &self,
        room: &RoomId,
        customer: UserId,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.inner.open_support(room, customer, now_ms).await
    }

    async fn support_conversation(
        &self,
        room: &RoomId,
    ) -> Result<Option<signaling::store::SupportConversation>, StoreError> {
        self.inner.support_conversation(room).await
    }

    async fn support_answered(
        &self,
        room: &RoomId,
        unsure: bool,
    ) -> Result<Option<u32>, StoreError> {
        self.inner.support_answered(room, unsure).await
    }

    async fn escalate_support(
        &self,
        room: &RoomId,
        reason: &str,
        summary: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.inner
            .escalate_support(room, reason, summary, now_ms)
            .await
    }

    async fn claim_support(
        &self,
        room: &RoomId,
        agent: UserId,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.inner.claim_support(room, agent, now_ms).await
    }

    async fn support_replied(
        &self,
        room: &RoomId,
        agent: UserId,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.inner.support_replied(room, agent, now_ms).await
    }

    async fn resolve_support(
        &self,
        room: &RoomId,
        agent: UserId,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.inner.resolve_support(room, agent, now_ms).await
    }

    async fn support_to_assistant(&self, room: &RoomId) -> Result<bool, StoreError> {
        self.inner.support_to_assistant(room).await
    }

    async fn support_queue(
        &self,
        agent: UserId,
        limit: u32,
    ) -> Result<Vec<signaling::store::SupportConversation>, StoreError> {
        self.inner.support_queue(agent, limit).await
    }

    async fn support_figures(
        &self,
        since_ms: i64,
    ) -> Result<signaling::store::SupportFigures, StoreError> {
        self.inner.support_figures(since_ms).await
    }

    async fn open_supports_of(&self, customer: UserId) -> Result<i64, StoreError> {
        self.inner.open_supports_of(customer).await
    }

    async fn unassign_support(&self, room: &RoomId, agent: UserId) -> Result<bool, StoreError> {
        self.inner.unassign_support(room, agent).await
    }

    async fn create_guest(
        &self,
        username: &str,
        display_name: &str,
        now_ms: i64,
    ) -> Result<UserId, StoreError> {
        self.inner
            .create_guest(username, display_name, now_ms)
            .await
    }

    async fn is_guest(&self, user: UserId) -> Result<bool, StoreError> {
        self.inner.is_guest(user).await
    }

    async fn history_floor(&self, room: &RoomId) -> Result<Seq, StoreError> {
        self.inner.history_floor(room).await
    }

    async fn add_report(
        &self,
        report: &signaling::store::ReportDraft,
    ) -> Result<Option<i64>, StoreError> {
        self.inner.add_report(report).await
    }

    async fn open_reports_by(&self, reporter: UserId) -> Result<u64, StoreError> {
        self.inner.open_reports_by(reporter).await
    }

    async fn reports(
        &self,
        moderator: Option<UserId>,
        handled: bool,
        limit: u32,
    ) -> Result<Vec<signaling::store::ReportRow>, StoreError> {
        self.inner.reports(moderator, handled, limit).await
    }

    async fn reports_by(
        &self,
        reporter: UserId,
        limit: u32,
    ) -> Result<Vec<signaling::store::ReportRow>, StoreError> {
        self.inner.reports_by(reporter, limit).await
    }

    async fn report(&self, id: i64) -> Result<Option<signaling::store::ReportRow>, StoreError> {
        self.inner.report(id).await
    }

    async fn close_reports(
        &self,
        room: &RoomId,
        seq: Seq,
        status: shared::admin::ReportStatus,
        by: &str,
        at_ms: i64,
    ) -> Result<Vec<UserId>, StoreError> {
        self.inner.close_reports(room, seq, status, by, at_ms).await
    }

    async fn audit(
        &self,
        at_ms: i64,
        actor: &str,
        action: &str,
        target: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        self.inner.audit(at_ms, actor, action, target, detail).await
    }

    async fn audit_log(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<shared::admin::AuditEntry>, StoreError> {
        self.inner.audit_log(before, limit).await
    }

    async fn set_silenced(&self, user: UserId, until_ms: i64) -> Result<(), StoreError> {
        self.inner.set_silenced(user, until_ms).await
    }

    async fn silenced_until(&self, user: UserId) -> Result<i64, StoreError> {
        self.inner.silenced_until(user).await
    }

    async fn record_activity(
        &self,
        hours: &[(i64, RoomId, u64)],
        latencies: &[(i64, u32, u64)],
        active: &[(i64, UserId)],
    ) -> Result<(), StoreError> {
        self.inner.record_activity(hours, latencies, active).await
    }

    async fn insight(&self, now_ms: i64) -> Result<signaling::store::InsightRows, StoreError> {
        self.inner.insight(now_ms).await
    }

    async fn prune_activity(&self, before_ms: i64) -> Result<(), StoreError> {
        self.inner.prune_activity(before_ms).await
    }

    async fn checkpoint(&self) -> Result<u64, StoreError> {
        self.inner.checkpoint().await
    }

    async fn close(&self) {
        self.inner.close().await;
    }
}

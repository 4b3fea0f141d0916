//! The local copy of the user's chats in IndexedDB: messages per room, each room's sync cursor,
//! the room list, and the outbox of messages not yet acknowledged.
//!
//! One database per account (`chat-<username>`), deleted on log-out. The schema is versioned:
//! [`upgrade`] runs every step from the stored version to [`VERSION`], so a newer client opens
//! an older database in place.
//!
//! Stores (values are JSON text):
//! - `messages`: key `[room, seq]` → a stored timeline [`Entry`] in its current state;
//! - `rooms`: key room id → [`RoomState`] (cursor and whether history reaches the start);
//! - `outbox`: key client id → [`OutboxItem`];
//! - `meta`: key `"rooms"` → the room list.
//!
//! A room's cursor is written in the same transaction as the messages it covers, so after a
//! crash the cursor never claims messages the database does not hold.

pub use client_core::outbox::OutboxItem;
use client_core::timeline::Entry;
pub use client_core::timeline::RoomState;
use js_sys::{Array, Promise};
use serde::{Serialize, de::DeserializeOwned};
use shared::events::Event;
use shared::rooms::RoomSummary;
use shared::{ClientMsgId, RoomId, Seq};
use std::collections::HashMap;
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    IdbCursorDirection, IdbCursorWithValue, IdbDatabase, IdbKeyRange, IdbObjectStore,
    IdbOpenDbRequest, IdbRequest, IdbTransaction, IdbTransactionMode,
};

/// The schema version this client writes.
pub const VERSION: u32 = 1;
const MESSAGES: &str = "messages";
const ROOMS: &str = "rooms";
const OUTBOX: &str = "outbox";
const META: &str = "meta";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError(pub String);

impl From<JsValue> for DbError {
    fn from(value: JsValue) -> Self {
        let text = value
            .dyn_ref::<web_sys::DomException>()
            .map(|e| format!("{}: {}", e.name(), e.message()))
            .or_else(|| value.as_string())
            .or_else(|| js_sys::JSON::stringify(&value).ok().map(String::from))
            .unwrap_or_default();
        Self(text)
    }
}

impl From<serde_json::Error> for DbError {
    fn from(e: serde_json::Error) -> Self {
        Self(e.to_string())
    }
}

/// Creates or migrates the stores, one version step at a time.
fn upgrade(db: &IdbDatabase, old_version: u32) -> Result<(), JsValue> {
    if old_version < 1 {
        db.create_object_store(MESSAGES)?;
        db.create_object_store(ROOMS)?;
        db.create_object_store(OUTBOX)?;
        db.create_object_store(META)?;
    }
    Ok(())
}

/// Waits for a request's success and returns its result.
async fn finished(request: &IdbRequest) -> Result<JsValue, DbError> {
    let promise = Promise::new(&mut |resolve, reject| {
        let source = request.clone();
        let on_success = Closure::once_into_js(move || {
            let result = source.result().unwrap_or(JsValue::UNDEFINED);
            let _ = resolve.call1(&JsValue::NULL, &result);
        });
        let source = request.clone();
        let on_error = Closure::once_into_js(move || {
            let error = source
                .error()
                .ok()
                .flatten()
                .map_or(JsValue::from_str("request failed"), JsValue::from);
            let _ = reject.call1(&JsValue::NULL, &error);
        });
        request.set_onsuccess(Some(on_success.unchecked_ref()));
        request.set_onerror(Some(on_error.unchecked_ref()));
    });
    Ok(JsFuture::from(promise).await?)
}

/// Waits until a write transaction is committed.
async fn committed(tx: &IdbTransaction) -> Result<(), DbError> {
    let promise = Promise::new(&mut |resolve, reject| {
        let on_complete = Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::NULL);
        });
        // A failed transaction fires `error` and then `abort`; a one-shot handler on both would
        // be called twice. Every failure ends in `abort`, so that is the one listened to.
        let aborted = Closure::once_into_js(move || {
            let _ = reject.call1(&JsValue::NULL, &JsValue::from_str("transaction failed"));
        });
        tx.set_oncomplete(Some(on_complete.unchecked_ref()));
        tx.set_onabort(Some(aborted.unchecked_ref()));
    });
    JsFuture::from(promise).await?;
    Ok(())
}

fn message_key(room: &RoomId, seq: Seq) -> JsValue {
    Array::of2(
        &JsValue::from_str(&room.0),
        &JsValue::from_f64(seq.0 as f64),
    )
    .into()
}

fn to_json<T: Serialize>(value: &T) -> Result<JsValue, DbError> {
    Ok(JsValue::from_str(&serde_json::to_string(value)?))
}

fn from_json<T: DeserializeOwned>(value: &JsValue) -> Result<T, DbError> {
    let text = value
        .as_string()
        .ok_or_else(|| DbError("stored value is not text".into()))?;
    Ok(serde_json::from_str(&text)?)
}

/// The database name of an account.
fn name_for(user: &str) -> String {
    format!("chat-{}", user.to_ascii_lowercase())
}

pub struct Db {
    db: IdbDatabase,
}

impl Db {
    /// Opens (creating or upgrading) the account's database.
    pub async fn open(user: &str) -> Result<Self, DbError> {
        let factory = web_sys::window()
            .ok_or_else(|| DbError("no window".into()))?
            .indexed_db()?
            .ok_or_else(|| DbError("IndexedDB is not available".into()))?;
        let request: IdbOpenDbRequest = factory.open_with_u32(&name_for(user), VERSION)?;
        let on_upgrade = Closure::<dyn FnMut(web_sys::IdbVersionChangeEvent)>::new(
            move |event: web_sys::IdbVersionChangeEvent| {
                let Some(request) = event
                    .target()
                    .and_then(|t| t.dyn_into::<IdbOpenDbRequest>().ok())
                else {
                    return;
                };
                if let Ok(db) = request.result().and_then(|r| r.dyn_into::<IdbDatabase>()) {
                    let old = event.old_version() as u32;
                    if let Err(e) = upgrade(&db, old) {
                        leptos::logging::warn!("IndexedDB upgrade failed: {}", DbError::from(e).0);
                    }
                }
            },
        );
        request.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
        let result = finished(&request).await;
        request.set_onupgradeneeded(None);
        drop(on_upgrade);
        let db: IdbDatabase = result?.dyn_into()?;
        // Another tab deleting this database (log-out) must not wait for us.
        let closing = db.clone();
        let on_version_change = Closure::<dyn FnMut()>::new(move || closing.close());
        db.set_onversionchange(Some(on_version_change.as_ref().unchecked_ref()));
        on_version_change.forget();
        Ok(Self { db })
    }

    /// Deletes an account's local data (log-out).
    pub async fn delete(user: &str) -> Result<(), DbError> {
        let factory = web_sys::window()
            .ok_or_else(|| DbError("no window".into()))?
            .indexed_db()?
            .ok_or_else(|| DbError("IndexedDB is not available".into()))?;
        let request = factory.delete_database(&name_for(user))?;
        finished(&request).await?;
        Ok(())
    }

    pub fn close(&self) {
        self.db.close();
    }

    fn transaction(
        &self,
        stores: &[&str],
        mode: IdbTransactionMode,
    ) -> Result<IdbTransaction, DbError> {
        let names = Array::new();
        for store in stores {
            names.push(&JsValue::from_str(store));
        }
        Ok(self
            .db
            .transaction_with_str_sequence_and_mode(&names, mode)?)
    }

    /// Stores what changed in `room` in one transaction: new and changed messages, operations
    /// on stored messages that are not in memory, the acknowledged messages leaving the
    /// outbox, and the room's sync state. All or nothing, so the cursor never runs ahead of the
    /// messages and an acknowledged message is never both stored and still in the outbox.
    pub async fn save_room(
        &self,
        room: &RoomId,
        entries: &[Entry],
        operations: &[Event],
        acked: &[ClientMsgId],
        state: &RoomState,
        forget_through: Option<Seq>,
    ) -> Result<(), DbError> {
        let tx = self.transaction(&[MESSAGES, ROOMS, OUTBOX], IdbTransactionMode::Readwrite)?;
        let messages = tx.object_store(MESSAGES)?;
        // Retention deleted these on the server: the offline copy lets them go too.
        if let Some(floor) = forget_through {
            let range = IdbKeyRange::bound(&message_key(room, Seq(0)), &message_key(room, floor))?;
            messages.delete(&range)?;
        }
        for entry in entries {
            if let Some(seq) = entry.id {
                messages.put_with_key(&to_json(entry)?, &message_key(room, seq))?;
            }
        }
        for operation in operations {
            apply_operation(&messages, operation).await?;
        }
        let outbox = tx.object_store(OUTBOX)?;
        for id in acked {
            outbox.delete(&JsValue::from_str(&id.0))?;
        }
        tx.object_store(ROOMS)?
            .put_with_key(&to_json(state)?, &JsValue::from_str(&room.0))?;
        committed(&tx).await
    }

    /// Up to `limit` stored messages of `room` older than `before` (the newest when `None`),
    /// oldest first.
    pub async fn messages(
        &self,
        room: &RoomId,
        before: Option<Seq>,
        limit: usize,
    ) -> Result<Vec<Entry>, DbError> {
        let tx = self.transaction(&[MESSAGES], IdbTransactionMode::Readonly)?;
        let store = tx.object_store(MESSAGES)?;
        let upper = before.map_or(Seq(i64::MAX >> 11), |b| Seq(b.0 - 1));
        let range = IdbKeyRange::bound(&message_key(room, Seq(0)), &message_key(room, upper))?;
        let mut values = collect(&store, &range, IdbCursorDirection::Prev, limit).await?;
        values.reverse();
        values.iter().map(from_json).collect()
    }

    /// Every room's sync state.
    pub async fn room_states(&self) -> Result<HashMap<RoomId, RoomState>, DbError> {
        let tx = self.transaction(&[ROOMS], IdbTransactionMode::Readonly)?;
        let store = tx.object_store(ROOMS)?;
        let keys: Array = finished(&store.get_all_keys()?).await?.dyn_into()?;
        let values: Array = finished(&store.get_all()?).await?.dyn_into()?;
        let mut states = HashMap::new();
        for (key, value) in keys.iter().zip(values.iter()) {
            if let Some(room) = key.as_string() {
                states.insert(RoomId(room), from_json(&value)?);
            }
        }
        Ok(states)
    }

    pub async fn save_room_list(&self, rooms: &[RoomSummary]) -> Result<(), DbError> {
        let tx = self.transaction(&[META], IdbTransactionMode::Readwrite)?;
        tx.object_store(META)?
            .put_with_key(&to_json(&rooms)?, &JsValue::from_str("rooms"))?;
        committed(&tx).await
    }

    pub async fn room_list(&self) -> Result<Vec<RoomSummary>, DbError> {
        let tx = self.transaction(&[META], IdbTransactionMode::Readonly)?;
        let value = finished(&tx.object_store(META)?.get(&JsValue::from_str("rooms"))?).await?;
        if value.is_undefined() {
            return Ok(Vec::new());
        }
        from_json(&value)
    }

    /// Keeps an unsent message; durable when this returns.
    pub async fn outbox_put(&self, item: &OutboxItem) -> Result<(), DbError> {
        let tx = self.transaction(&[OUTBOX], IdbTransactionMode::Readwrite)?;
        tx.object_store(OUTBOX)?
            .put_with_key(&to_json(item)?, &JsValue::from_str(&item.client_id.0))?;
        committed(&tx).await
    }

    /// Every unsent message, oldest first.
    pub async fn outbox(&self) -> Result<Vec<OutboxItem>, DbError> {
        let tx = self.transaction(&[OUTBOX], IdbTransactionMode::Readonly)?;
        let values: Array = finished(&tx.object_store(OUTBOX)?.get_all()?)
            .await?
            .dyn_into()?;
        let mut items = values
            .iter()
            .map(|v| from_json::<OutboxItem>(&v))
            .collect::<Result<Vec<_>, _>>()?;
        items.sort_by_key(|i| i.created_at_ms);
        Ok(items)
    }

    /// Applies an edit, delete or reaction to a stored message that is not loaded in memory.
    pub async fn apply_to_stored(&self, event: &Event) -> Result<(), DbError> {
        let tx = self.transaction(&[MESSAGES], IdbTransactionMode::Readwrite)?;
        apply_operation(&tx.object_store(MESSAGES)?, event).await?;
        committed(&tx).await
    }
}

/// Applies an edit, delete or reaction to the stored copy of its target, if there is one,
/// within the caller's transaction.
async fn apply_operation(messages: &IdbObjectStore, event: &Event) -> Result<(), DbError> {
    let Some(target) = event.target() else {
        return Ok(());
    };
    let key = message_key(&event.room, target);
    let value = finished(&messages.get(&key)?).await?;
    if value.is_undefined() {
        return Ok(());
    }
    let mut entry: Entry = from_json(&value)?;
    if entry.apply_operation(&event.kind, &event.sender) {
        messages.put_with_key(&to_json(&entry)?, &key)?;
    }
    Ok(())
}

/// Reads up to `limit` values from `range` in `direction`.
async fn collect(
    store: &IdbObjectStore,
    range: &IdbKeyRange,
    direction: IdbCursorDirection,
    limit: usize,
) -> Result<Vec<JsValue>, DbError> {
    let request = store.open_cursor_with_range_and_direction(range, direction)?;
    let mut values = Vec::new();
    while values.len() < limit {
        let result = finished(&request).await?;
        if result.is_null() || result.is_undefined() {
            break;
        }
        let cursor: IdbCursorWithValue = result.dyn_into()?;
        values.push(cursor.value()?);
        // Advance only when the loop will wait for it: the success handler of a step is used
        // once, and a step nobody waits for would call it after it is gone.
        if values.len() < limit {
            cursor.continue_()?;
        }
    }
    Ok(values)
}

//! The shapes of the protocol's JSON, as the generator needs them: tag names and the fields of
//! every variant with the kind of value each holds. Copied from `shared/src/ws.rs`, `calls.rs`,
//! `events.rs`, `rooms.rs`, `transfer.rs` and `api.rs`; [`check_tags`] fails a target at start
//! if the tag names here and the decoders' disagree, so a new variant cannot go unfuzzed.

use serde::de::DeserializeOwned;

/// Which kind of text a string field holds; the generator makes plausible ones of that kind
/// (and, some of the time, anything at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    /// A username: `[A-Za-z0-9._-]{3,32}`.
    User,
    /// A password.
    Password,
    /// An id: room, client id, call or transfer session, invite token (`[A-Za-z0-9_-]`).
    Id,
    /// A message body: words, `@mentions`, `**bold**`, `*italic*`, `` `code` ``, links.
    Body,
    /// A room name or topic.
    Name,
    Emoji,
    /// A session description or ICE candidate line.
    Sdp,
    FileName,
    Mime,
    /// Lowercase hex of a SHA-256.
    Hex,
    Url,
    /// Anything.
    Free,
}

/// Which range an integer field has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Int {
    /// `Seq`, a timestamp or a duration (`i64`).
    I64,
    U64,
    U32,
    U16,
}

#[derive(Debug, Clone, Copy)]
pub enum Shape {
    Str(Text),
    Int(Int),
    Bool,
    /// A string from a fixed set (a unit enum such as a role).
    Word(&'static [&'static str]),
    /// May be absent or `null`.
    Opt(&'static Shape),
    List(&'static Shape),
    Obj(&'static [Field]),
    Tagged(&'static Tagged),
    /// One of these, chosen by the generator.
    Either(&'static [Shape]),
}

pub type Field = (&'static str, Shape);

/// An internally tagged enum: `{tag: variant, common fields..., variant fields...}`.
#[derive(Debug)]
pub struct Tagged {
    pub tag: &'static str,
    /// Fields every variant has (an [`shared::events::Event`]'s flattened envelope).
    pub common: &'static [Field],
    pub variants: &'static [(&'static str, &'static [Field])],
}

const ID: Shape = Shape::Str(Text::Id);
const USER: Shape = Shape::Str(Text::User);
const SEQ: Shape = Shape::Int(Int::I64);
const MS: Shape = Shape::Int(Int::I64);
const BOOL: Shape = Shape::Bool;
const ROOM: Field = ("room", ID);
const CLIENT_ID: Field = ("client_id", ID);

pub static ROLE: Shape = Shape::Word(&["member", "admin", "owner"]);
pub static PRESENCE: Shape = Shape::Word(&["online", "away", "offline"]);
pub static NOTIFY_LEVEL: Shape = Shape::Word(&["all", "mentions", "none"]);
pub static ROOM_KIND: Shape = Shape::Word(&["group", "direct"]);
pub static ERROR_CODE: Shape = Shape::Word(&[
    "bad_frame",
    "unsupported_frame",
    "invalid_message",
    "no_such_room",
    "no_such_message",
    "no_such_user",
    "forbidden",
    "already_member",
    "invalid_invite",
    "no_such_call",
    "client_id_reused",
    "limit_reached",
    "rate_limited",
    "internal",
]);

static OPT_SEQ: Shape = Shape::Opt(&SEQ);
static OPT_MS: Shape = Shape::Opt(&MS);
static OPT_ID: Shape = Shape::Opt(&ID);
static OPT_BOOL: Shape = Shape::Opt(&BOOL);
static OPT_USER: Shape = Shape::Opt(&USER);
static USERS: Shape = Shape::List(&USER);
static OPT_USERS: Shape = Shape::Opt(&USERS);

/// `shared::transfer::FileMeta`.
pub static FILE_META: Shape = Shape::Obj(&[
    ("name", Shape::Str(Text::FileName)),
    ("size", Shape::Int(Int::U64)),
    ("mime", Shape::Opt(&Shape::Str(Text::Mime))),
]);
pub static FILES: Shape = Shape::List(&FILE_META);

/// `shared::calls::SignalData`.
pub static SIGNAL_DATA: Tagged = Tagged {
    tag: "kind",
    common: &[],
    variants: &[
        ("offer", &[("sdp", Shape::Str(Text::Sdp))]),
        ("answer", &[("sdp", Shape::Str(Text::Sdp))]),
        (
            "candidate",
            &[
                ("candidate", Shape::Str(Text::Sdp)),
                ("sdp_mid", OPT_ID),
                ("sdp_m_line_index", Shape::Opt(&Shape::Int(Int::U16))),
            ],
        ),
        ("files", &[("files", FILES)]),
        ("bye", &[]),
        ("muted", &[("muted", BOOL)]),
    ],
};
pub static SIGNAL: Shape = Shape::Tagged(&SIGNAL_DATA);

/// `shared::ws::ClientMessage`.
pub static CLIENT_MESSAGE: Tagged = Tagged {
    tag: "type",
    common: &[],
    variants: &[
        (
            "send",
            &[
                ROOM,
                CLIENT_ID,
                ("body", Shape::Str(Text::Body)),
                ("reply_to", OPT_SEQ),
                ("attachment", Shape::Opt(&ID)),
            ],
        ),
        (
            "edit",
            &[
                ROOM,
                CLIENT_ID,
                ("target", SEQ),
                ("body", Shape::Str(Text::Body)),
            ],
        ),
        ("delete", &[ROOM, CLIENT_ID, ("target", SEQ)]),
        (
            "react",
            &[
                ROOM,
                CLIENT_ID,
                ("target", SEQ),
                ("emoji", Shape::Str(Text::Emoji)),
                ("add", BOOL),
            ],
        ),
        (
            "history",
            &[ROOM, ("before", OPT_SEQ), ("limit", Shape::Int(Int::U32))],
        ),
        (
            "catch_up",
            &[ROOM, ("after", SEQ), ("limit", Shape::Int(Int::U32))],
        ),
        ("list_rooms", &[]),
        ("list_members", &[ROOM]),
        (
            "create_room",
            &[
                CLIENT_ID,
                ("name", Shape::Str(Text::Name)),
                ("topic", Shape::Opt(&Shape::Str(Text::Name))),
            ],
        ),
        (
            "rename",
            &[ROOM, CLIENT_ID, ("name", Shape::Str(Text::Name))],
        ),
        (
            "set_topic",
            &[ROOM, CLIENT_ID, ("topic", Shape::Str(Text::Name))],
        ),
        ("add_member", &[ROOM, CLIENT_ID, ("user", USER)]),
        ("remove_member", &[ROOM, CLIENT_ID, ("user", USER)]),
        ("mute", &[ROOM, CLIENT_ID, ("user", USER), ("muted", BOOL)]),
        (
            "set_role",
            &[ROOM, CLIENT_ID, ("user", USER), ("role", ROLE)],
        ),
        ("leave", &[ROOM, CLIENT_ID]),
        ("create_invite", &[ROOM]),
        ("revoke_invites", &[ROOM, ("token", OPT_ID)]),
        ("ban", &[ROOM, CLIENT_ID, ("user", USER), ("banned", BOOL)]),
        ("join_by_invite", &[CLIENT_ID, ("token", ID)]),
        ("open_direct", &[CLIENT_ID, ("user", USER)]),
        ("block", &[("user", USER), ("blocked", BOOL)]),
        ("mark_delivered", &[ROOM, ("seq", SEQ)]),
        ("mark_read", &[ROOM, ("seq", SEQ)]),
        ("typing", &[ROOM]),
        ("set_presence", &[("status", PRESENCE)]),
        ("set_notify", &[ROOM, ("level", NOTIFY_LEVEL)]),
        (
            "start_call",
            &[ROOM, CLIENT_ID, ("call", ID), ("video", BOOL)],
        ),
        ("join_call", &[ROOM, ("call", ID)]),
        ("leave_call", &[ROOM, ("call", ID)]),
        ("decline_call", &[ROOM, ("call", ID)]),
        (
            "signal",
            &[ROOM, ("to", USER), ("session", ID), ("data", SIGNAL)],
        ),
        (
            "ice_servers",
            &[("room", OPT_ID), ("call", OPT_ID), ("peer", OPT_USER)],
        ),
        ("ping", &[("nonce", Shape::Int(Int::U64))]),
    ],
};

/// `shared::api::Credentials`, the body of sign-up and log-in.
pub static CREDENTIALS: Shape = Shape::Obj(&[
    ("username", USER),
    ("password", Shape::Str(Text::Password)),
    ("invite", Shape::Str(Text::Id)),
]);

/// What a client sends: mostly WebSocket frames, sometimes an account request body.
pub static CLIENT_INPUT: Shape = Shape::Either(&[
    Shape::Tagged(&CLIENT_MESSAGE),
    Shape::Tagged(&CLIENT_MESSAGE),
    Shape::Tagged(&CLIENT_MESSAGE),
    CREDENTIALS,
]);

static REACTION: Shape = Shape::Obj(&[("emoji", Shape::Str(Text::Emoji)), ("users", USERS)]);
static REACTIONS: Shape = Shape::List(&REACTION);
static ATTACHMENT: Shape = Shape::Obj(&[
    ("id", ID),
    ("name", Shape::Str(Text::FileName)),
    ("mime", Shape::Str(Text::Mime)),
    ("size", Shape::Int(Int::U64)),
    ("width", Shape::Opt(&Shape::Int(Int::U32))),
    ("height", Shape::Opt(&Shape::Int(Int::U32))),
]);

/// `shared::events::Event` with its flattened `EventKind`.
pub static EVENT_TAGGED: Tagged = Tagged {
    tag: "kind",
    common: &[
        ROOM,
        ("seq", SEQ),
        ("sender", USER),
        ("at_ms", MS),
        ("client_id", OPT_ID),
    ],
    variants: &[
        (
            "message",
            &[
                ("body", Shape::Str(Text::Body)),
                ("reply_to", OPT_SEQ),
                ("mentions", OPT_USERS),
                ("edited_at_ms", OPT_MS),
                ("deleted", OPT_BOOL),
                ("reactions", Shape::Opt(&REACTIONS)),
                ("attachment", Shape::Opt(&ATTACHMENT)),
            ],
        ),
        ("edit", &[("target", SEQ), ("body", Shape::Str(Text::Body))]),
        ("delete", &[("target", SEQ)]),
        (
            "reaction",
            &[
                ("target", SEQ),
                ("emoji", Shape::Str(Text::Emoji)),
                ("added", BOOL),
            ],
        ),
        ("created", &[("name", Shape::Str(Text::Name))]),
        ("renamed", &[("name", Shape::Str(Text::Name))]),
        ("topic_changed", &[("topic", Shape::Str(Text::Name))]),
        ("joined", &[]),
        ("added", &[("user", USER)]),
        ("left", &[]),
        ("removed", &[("user", USER)]),
        ("role_changed", &[("user", USER), ("role", ROLE)]),
        ("muted", &[("user", USER), ("muted", BOOL)]),
        ("banned", &[("user", USER), ("banned", BOOL)]),
        ("call_started", &[("call", ID), ("video", BOOL)]),
        (
            "call_ended",
            &[
                ("call", ID),
                ("duration_ms", MS),
                ("missed", BOOL),
                ("declined", OPT_BOOL),
            ],
        ),
    ],
};
pub static EVENT: Shape = Shape::Tagged(&EVENT_TAGGED);
static EVENTS: Shape = Shape::List(&EVENT);

static PREVIEW: Shape = Shape::Obj(&[
    ("seq", SEQ),
    ("sender", USER),
    ("text", Shape::Str(Text::Body)),
    ("deleted", BOOL),
    ("at_ms", MS),
]);

/// `shared::rooms::RoomSummary`.
pub static SUMMARY: Shape = Shape::Obj(&[
    ("id", ID),
    ("kind", ROOM_KIND),
    ("name", Shape::Str(Text::Name)),
    ("topic", Shape::Str(Text::Name)),
    ("role", ROLE),
    ("muted", BOOL),
    ("member_count", Shape::Int(Int::U32)),
    ("last_seq", SEQ),
    ("read_seq", SEQ),
    ("unread", Shape::Int(Int::U32)),
    ("unread_mentions", Shape::Int(Int::U32)),
    ("last_message", Shape::Opt(&PREVIEW)),
    ("notify", Shape::Opt(&NOTIFY_LEVEL)),
]);
static SUMMARIES: Shape = Shape::List(&SUMMARY);

static MEMBER: Shape = Shape::Obj(&[
    ("username", USER),
    ("display_name", Shape::Opt(&Shape::Str(Text::Name))),
    ("role", ROLE),
    ("muted", BOOL),
    ("presence", PRESENCE),
    ("last_seen_ms", OPT_MS),
    ("delivered_seq", SEQ),
    ("read_seq", SEQ),
]);

static ICE_SERVER: Shape = Shape::Obj(&[
    ("urls", Shape::List(&Shape::Str(Text::Url))),
    ("username", OPT_USER),
    ("credential", Shape::Opt(&Shape::Str(Text::Free))),
]);

/// `shared::ws::ServerMessage`.
pub static SERVER_MESSAGE: Tagged = Tagged {
    tag: "type",
    common: &[],
    variants: &[
        (
            "welcome",
            &[("username", USER), ("rooms", SUMMARIES), ("blocked", USERS)],
        ),
        ("event", &[("event", EVENT)]),
        ("ack", &[CLIENT_ID, ("event", EVENT)]),
        (
            "history",
            &[
                ROOM,
                ("before", OPT_SEQ),
                ("events", EVENTS),
                ("complete", BOOL),
                ("last_seq", SEQ),
            ],
        ),
        (
            "caught_up",
            &[
                ROOM,
                ("after", SEQ),
                ("events", EVENTS),
                ("up_to_date", BOOL),
            ],
        ),
        ("rooms", &[("rooms", SUMMARIES)]),
        ("room_updated", &[("room", SUMMARY)]),
        ("room_removed", &[ROOM]),
        ("members", &[ROOM, ("members", Shape::List(&MEMBER))]),
        ("invite", &[ROOM, ("token", ID), ("expires_at_ms", MS)]),
        ("blocked", &[("user", USER), ("blocked", BOOL)]),
        (
            "invites_revoked",
            &[ROOM, ("revoked", Shape::Int(Int::U64))],
        ),
        (
            "receipt",
            &[
                ROOM,
                ("user", USER),
                ("delivered_seq", SEQ),
                ("read_seq", SEQ),
            ],
        ),
        ("typing", &[ROOM, ("user", USER)]),
        (
            "presence",
            &[
                ("user", USER),
                ("status", PRESENCE),
                ("last_seen_ms", OPT_MS),
            ],
        ),
        (
            "call_state",
            &[
                ROOM,
                ("call", ID),
                ("video", OPT_BOOL),
                ("caller", OPT_USER),
                ("participants", USERS),
            ],
        ),
        (
            "signal",
            &[ROOM, ("from", USER), ("session", ID), ("data", SIGNAL)],
        ),
        (
            "ice_servers",
            &[("servers", Shape::List(&ICE_SERVER)), ("expires_at_ms", MS)],
        ),
        ("pong", &[("nonce", Shape::Int(Int::U64))]),
        (
            "error",
            &[
                ("code", ERROR_CODE),
                ("message", Shape::Str(Text::Free)),
                ("client_id", OPT_ID),
            ],
        ),
    ],
};

/// `shared::transfer::ChannelMessage`, the data channel's control messages.
pub static CHANNEL_MESSAGE: Tagged = Tagged {
    tag: "type",
    common: &[],
    variants: &[
        (
            "get",
            &[
                ("file", Shape::Int(Int::U32)),
                ("offset", Shape::Int(Int::U64)),
            ],
        ),
        (
            "ack",
            &[
                ("file", Shape::Int(Int::U32)),
                ("offset", Shape::Int(Int::U64)),
            ],
        ),
        (
            "end",
            &[
                ("file", Shape::Int(Int::U32)),
                ("sha256", Shape::Str(Text::Hex)),
            ],
        ),
        ("verified", &[("file", Shape::Int(Int::U32)), ("ok", BOOL)]),
        ("cancel", &[("reason", Shape::Opt(&Shape::Str(Text::Free)))]),
    ],
};

/// What crosses a transfer: control messages, and the offered files' metadata.
pub static TRANSFER_INPUT: Shape = Shape::Either(&[
    Shape::Tagged(&CHANNEL_MESSAGE),
    Shape::Tagged(&CHANNEL_MESSAGE),
    FILES,
    FILE_META,
]);

/// Panics unless `tagged` names exactly the variants that `T`'s decoder accepts: serde's error
/// for an unknown variant lists the expected ones (the tag is read before any field is missed).
pub fn check_tags<T: DeserializeOwned>(tagged: &Tagged) {
    let text = format!(r#"{{"{}": "no such variant"}}"#, tagged.tag);
    let err = match serde_json::from_str::<T>(&text) {
        Ok(_) => panic!("{text} decoded"),
        Err(e) => e.to_string(),
    };
    let expected = err
        .split_once("expected one of ")
        .unwrap_or_else(|| panic!("no variant list in {err:?}"))
        .1;
    let mut known: Vec<&str> = expected
        .split(", ")
        .map(|s| s.trim_start_matches('`'))
        .map(|s| s.split('`').next().unwrap_or(s))
        .collect();
    let mut ours: Vec<&str> = tagged.variants.iter().map(|(name, _)| *name).collect();
    known.sort_unstable();
    ours.sort_unstable();
    assert_eq!(
        ours,
        known,
        "fuzz/src/schema.rs is out of date for {}: update its variants",
        std::any::type_name::<T>()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_lists_match_the_decoders() {
        check_tags::<shared::ws::ClientMessage>(&CLIENT_MESSAGE);
        check_tags::<shared::ws::ServerMessage>(&SERVER_MESSAGE);
        check_tags::<shared::calls::SignalData>(&SIGNAL_DATA);
        check_tags::<shared::transfer::ChannelMessage>(&CHANNEL_MESSAGE);
        check_tags::<shared::events::Event>(&EVENT_TAGGED);
    }
}

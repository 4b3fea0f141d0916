//! The support desk served: a customer opens a conversation (a room of its own, owned by the
//! assistant bot), the assistant answers each of the customer's messages from the knowledge
//! base, the rules hand the conversation to a person, and an agent claims it. Every change of
//! hands is a topic change in the room, so every client sees it, and the conversation's row
//! (`support_conversations`) is the state every node reads.

use super::assistant::{self, Answer};
use super::kb::KnowledgeBase;
use super::llm::Llm;
use super::rules::{Escalation, Rules};
use crate::admin::reports::append_as;
use crate::error::ApiFailure;
use crate::state::AppState;
use crate::store::{Draft, NamedUser, NewRoom, SupportState};
use shared::events::{Event, EventKind};
use shared::{ClientMsgId, RoomId, Seq};
use std::sync::OnceLock;

/// Support rooms' ids start with this, so a message's room says at once whether the
/// assistant has anything to do with it.
pub const ROOM_PREFIX: &str = "support-";
/// Events read back for the summary written when a conversation goes to a person.
const SUMMARY_EVENTS: u32 = 100;
/// The customer's messages quoted in the summary, the newest.
const SUMMARY_QUESTIONS: usize = 5;

pub const WELCOME: &str = "Hi! I'm the assistant. I answer from our help pages, and I say \
    so when I'm not sure. Ask for a person at any time.";
pub const HANDED_OVER: &str = "I'm handing this conversation to a person from the team. They see everything above, so \
     you won't need to repeat yourself.";

pub const TOPIC_ASSISTANT: &str = "Support · with the assistant";
pub const TOPIC_WAITING: &str = "Support · waiting for a person";
pub const TOPIC_RESOLVED: &str = "Support · resolved";

pub struct Desk {
    pub kb: KnowledgeBase,
    pub llm: Option<Llm>,
    pub rules: Rules,
    /// Where links to the documents point (`/kb`: this server serves the folder there).
    pub link_base: String,
    /// Usernames of the support team (server administrators are on it too).
    pub agents: Vec<String>,
    pub assistant_name: String,
    /// The folder of documents, served at `/kb`.
    pub kb_dir: std::path::PathBuf,
    /// New guests per address and their messages (`super::guests`).
    pub guests: super::guests::GuestLimits,
    assistant: OnceLock<NamedUser>,
}

impl Desk {
    pub fn new(
        kb: KnowledgeBase,
        llm: Option<Llm>,
        rules: Rules,
        link_base: String,
        agents: Vec<String>,
        assistant_name: String,
        kb_dir: std::path::PathBuf,
    ) -> Self {
        Self {
            kb,
            llm,
            rules,
            link_base,
            agents: agents
                .into_iter()
                .map(|a| a.trim().to_lowercase())
                .collect(),
            assistant_name,
            kb_dir,
            guests: super::guests::GuestLimits::default(),
            assistant: OnceLock::new(),
        }
    }

    /// The assistant's account, made on first start (any node; a second one finds it).
    pub async fn start(&self, state: &AppState) -> Result<(), String> {
        let name = &self.assistant_name;
        let id = match state.store.user_by_name(name).await {
            Ok(Some(user)) => {
                if !state.store.is_bot(user.id).await.unwrap_or(false) {
                    return Err(format!(
                        "the support assistant's name {name:?} belongs to a person's account"
                    ));
                }
                user.id
            }
            Ok(None) => match state
                .store
                .create_bot(name, "Assistant", crate::now_ms())
                .await
            {
                Ok(id) => id,
                Err(crate::store::StoreError::UsernameTaken) => {
                    state
                        .store
                        .user_by_name(name)
                        .await
                        .ok()
                        .flatten()
                        .ok_or("the assistant's account vanished")?
                        .id
                }
                Err(e) => return Err(e.to_string()),
            },
            Err(e) => return Err(e.to_string()),
        };
        let _ = self.assistant.set(NamedUser {
            id,
            name: name.clone(),
        });
        Ok(())
    }

    fn assistant(&self) -> Option<&NamedUser> {
        self.assistant.get()
    }

    /// Whether `user` answers customers.
    pub async fn is_agent(&self, state: &AppState, user: &NamedUser) -> Result<bool, ApiFailure> {
        Ok(
            self.agents.contains(&user.name.to_lowercase())
                || state.store.is_admin(user.id).await?,
        )
    }
}

pub fn is_support_room(room: &RoomId) -> bool {
    room.0.starts_with(ROOM_PREFIX)
}

/// Opens a support conversation for `customer` (called `label` in the room's name): a room
/// the assistant owns, with the customer in it and the assistant's welcome.
pub async fn open(
    state: &AppState,
    customer: &NamedUser,
    label: &str,
) -> Result<RoomId, ApiFailure> {
    let desk = state.support.as_ref().ok_or(ApiFailure::NotFound)?;
    let assistant = desk.assistant().ok_or(ApiFailure::Internal)?.clone();
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the OS random number generator is available");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let room = RoomId(format!("{ROOM_PREFIX}{hex}"));
    let name = format!("Support: {label}");
    {
        let in_order = state.room_log.in_order().await;
        let created = state
            .room_log
            .create_room(
                &in_order,
                NewRoom {
                    id: room.clone(),
                    kind: shared::rooms::RoomKind::Group,
                    name: &name,
                    topic: TOPIC_ASSISTANT,
                    creator: &assistant,
                    client_id: &ClientMsgId(format!("support-open-{hex}")),
                    direct: None,
                },
            )
            .await?;
        state.room_log.publish(&in_order, created, None);
    }
    state
        .store
        .open_support(&room, customer.id, crate::now_ms())
        .await?;
    append_as(
        state,
        &assistant,
        &room,
        vec![Draft::Added {
            user: customer.clone(),
        }],
        &[customer.id],
        &[],
    )
    .await?;
    crate::ws::mutate::send_summary(state, &room, customer.id).await;
    say(state, &assistant, &room, WELCOME.to_owned(), None).await?;
    Ok(room)
}

async fn say(
    state: &AppState,
    assistant: &NamedUser,
    room: &RoomId,
    body: String,
    reply_to: Option<Seq>,
) -> Result<(), ApiFailure> {
    append_as(
        state,
        assistant,
        room,
        vec![Draft::Message {
            body,
            reply_to,
            mentions: Vec::new(),
            attachment: None,
        }],
        &[],
        &[],
    )
    .await
}

async fn set_topic(state: &AppState, assistant: &NamedUser, room: &RoomId, topic: &str) {
    let draft = Draft::TopicChanged {
        topic: topic.to_owned(),
    };
    if let Err(e) = append_as(state, assistant, room, vec![draft], &[], &[]).await {
        tracing::warn!(error = ?e, "support: the topic was not changed");
    }
}

/// A message stored in a support room (called once, by the node that stored it).
pub fn on_message(state: &AppState, event: &Event) {
    if state.support.is_none() || !is_support_room(&event.room) {
        return;
    }
    let (state, event) = (state.clone(), event.clone());
    tokio::spawn(async move {
        if let Err(e) = handle(&state, &event).await {
            tracing::warn!(error = ?e, room = %event.room, "support: a message was not handled");
        }
    });
}

async fn handle(state: &AppState, event: &Event) -> Result<(), ApiFailure> {
    let Some(desk) = state.support.as_ref() else {
        return Ok(());
    };
    let Some(assistant) = desk.assistant() else {
        return Ok(());
    };
    let EventKind::Message {
        body,
        deleted: false,
        ..
    } = &event.kind
    else {
        return Ok(());
    };
    let room = &event.room;
    let Some(conversation) = state.store.support_conversation(room).await? else {
        return Ok(());
    };
    let Some(sender) = state.store.user_by_name(&event.sender).await? else {
        return Ok(());
    };
    if Some(sender.id) == conversation.agent {
        state
            .store
            .support_replied(room, sender.id, crate::now_ms())
            .await?;
        return Ok(());
    }
    if sender.id != conversation.customer {
        return Ok(());
    }
    match conversation.state {
        SupportState::Waiting | SupportState::Agent => return Ok(()),
        SupportState::Resolved => {
            // The customer wrote again: the assistant has it once more.
            if state.store.support_to_assistant(room).await? {
                set_topic(state, assistant, room, TOPIC_ASSISTANT).await;
            }
        }
        SupportState::Assistant => {}
    }
    if let Some(escalation) = desk.rules.on_message(body) {
        return hand_over(state, desk, assistant, room, escalation).await;
    }
    let Answer {
        text, confident, ..
    } = assistant::answer(&desk.kb, desk.llm.as_ref(), body, &desk.link_base).await;
    say(state, assistant, room, text, Some(event.seq)).await?;
    if let Some(unsure) = state.store.support_answered(room, !confident).await?
        && let Some(escalation) = desk.rules.after_answer(unsure)
    {
        hand_over(state, desk, assistant, room, escalation).await?;
    }
    Ok(())
}

/// To a person: the state first (once, whichever node gets here), then the room is told.
async fn hand_over(
    state: &AppState,
    desk: &Desk,
    assistant: &NamedUser,
    room: &RoomId,
    escalation: Escalation,
) -> Result<(), ApiFailure> {
    let summary = summary(state, assistant, room, &escalation).await?;
    let reason = escalation.reason.as_str();
    let now = crate::now_ms();
    if !state
        .store
        .escalate_support(room, reason, &summary, now)
        .await?
    {
        return Ok(());
    }
    let mut told = HANDED_OVER.to_owned();
    if let Some(later) = desk.rules.hours.as_ref().and_then(|h| h.expectation(now)) {
        told = format!("{told} {later}");
    }
    say(state, assistant, room, told, None).await?;
    set_topic(state, assistant, room, TOPIC_WAITING).await;
    Ok(())
}

/// What the agent reads first: what the customer asked, what the assistant answered from
/// which document, and why it came to a person.
async fn summary(
    state: &AppState,
    assistant: &NamedUser,
    room: &RoomId,
    escalation: &Escalation,
) -> Result<String, ApiFailure> {
    let (events, _, _) = state.store.history(room, None, SUMMARY_EVENTS).await?;
    let mut asked = Vec::new();
    let mut sources = Vec::new();
    for event in &events {
        let EventKind::Message {
            body,
            deleted: false,
            ..
        } = &event.kind
        else {
            continue;
        };
        if event.sender == assistant.name {
            for line in body.lines() {
                let line = line.trim();
                if let Some(source) = line
                    .strip_prefix("Source: ")
                    .or_else(|| line.strip_prefix("Sources: "))
                    && !sources.contains(&source.to_owned())
                {
                    sources.push(source.to_owned());
                }
            }
        } else {
            asked.push(
                body.lines()
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect::<String>(),
            );
        }
    }
    let asked: Vec<String> = asked
        .iter()
        .rev()
        .take(SUMMARY_QUESTIONS)
        .rev()
        .map(|q| format!("• {q}"))
        .collect();
    let answered = if sources.is_empty() {
        "The assistant found nothing in the documents.".to_owned()
    } else {
        format!("The assistant answered from: {}", sources.join("; "))
    };
    Ok(format!(
        "Why: {} ({}).\nThe customer asked:\n{}\n{answered}",
        escalation.reason.explain(),
        escalation.detail,
        asked.join("\n")
    ))
}

/// An agent takes a waiting conversation; of agents claiming at once (on any nodes) exactly
/// one gets it. The agent joins the room and the topic says who has it.
pub async fn claim(state: &AppState, agent: &NamedUser, room: &RoomId) -> Result<bool, ApiFailure> {
    let desk = state.support.as_ref().ok_or(ApiFailure::NotFound)?;
    let assistant = desk.assistant().ok_or(ApiFailure::Internal)?.clone();
    if !state
        .store
        .claim_support(room, agent.id, crate::now_ms())
        .await?
    {
        return Ok(false);
    }
    if state.store.membership(room, agent.id).await?.is_none() {
        append_as(
            state,
            &assistant,
            room,
            vec![Draft::Added {
                user: agent.clone(),
            }],
            &[agent.id],
            &[],
        )
        .await?;
        crate::ws::mutate::send_summary(state, room, agent.id).await;
    }
    set_topic(
        state,
        &assistant,
        room,
        &format!("Support · with {}", agent.name),
    )
    .await;
    Ok(true)
}

/// The agent who has it puts it back in the queue, for another agent to take.
pub async fn unassign(
    state: &AppState,
    agent: &NamedUser,
    room: &RoomId,
) -> Result<bool, ApiFailure> {
    let desk = state.support.as_ref().ok_or(ApiFailure::NotFound)?;
    let assistant = desk.assistant().ok_or(ApiFailure::Internal)?.clone();
    if !state.store.unassign_support(room, agent.id).await? {
        return Ok(false);
    }
    set_topic(state, &assistant, room, TOPIC_WAITING).await;
    Ok(true)
}

/// The agent who has it marks it resolved.
pub async fn resolve(
    state: &AppState,
    agent: &NamedUser,
    room: &RoomId,
) -> Result<bool, ApiFailure> {
    let desk = state.support.as_ref().ok_or(ApiFailure::NotFound)?;
    let assistant = desk.assistant().ok_or(ApiFailure::Internal)?.clone();
    if !state
        .store
        .resolve_support(room, agent.id, crate::now_ms())
        .await?
    {
        return Ok(false);
    }
    set_topic(state, &assistant, room, TOPIC_RESOLVED).await;
    Ok(true)
}

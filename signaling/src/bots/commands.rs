//! Slash commands. The app's own (`/topic`, `/invite`, `/me`, `/help`) run in the browser
//! (public/slash.js) as the frames the app would send. A bot registers its own with
//! `PUT /api/bot/commands`: the composer lists them in the bot's rooms
//! (`GET /api/rooms/{room}/commands`), and running one posts it as an ordinary message, which
//! the bot reads like any other (socket or webhook) and answers.

use crate::error::ApiFailure;
use crate::request::{authenticate_metered, check_origin};
use crate::state::AppState;
use crate::store::BotCommand;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use shared::RoomId;

/// Commands one bot may offer.
pub const MAX_COMMANDS: usize = 20;
const MAX_DESCRIPTION_CHARS: usize = 100;
const MAX_USAGE_CHARS: usize = 60;
/// The app's own commands: a bot cannot take their names.
pub const BUILT_IN: [&str; 4] = ["topic", "invite", "me", "help"];

#[derive(Debug, Deserialize)]
pub struct Commands {
    pub commands: Vec<BotCommand>,
}

#[derive(Debug, Serialize)]
pub struct RoomCommand {
    pub name: String,
    pub description: String,
    pub usage: String,
    /// The bot that answers it.
    pub bot: String,
}

#[derive(Debug, Serialize)]
pub struct RoomCommands {
    pub commands: Vec<RoomCommand>,
}

/// Why a command cannot be registered, in words for the bot's author.
pub fn check(commands: &[BotCommand]) -> Result<(), String> {
    if commands.len() > MAX_COMMANDS {
        return Err(format!("A bot offers at most {MAX_COMMANDS} commands."));
    }
    for (i, command) in commands.iter().enumerate() {
        let name = &command.name;
        let valid = !name.is_empty()
            && name.len() <= 32
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !valid {
            return Err(format!(
                "\"{name}\": a command is 1 to 32 of a-z, 0-9, '_' and '-', without the slash."
            ));
        }
        if BUILT_IN.contains(&name.as_str()) {
            return Err(format!("/{name} is one of the app's own commands."));
        }
        if commands[..i].iter().any(|c| &c.name == name) {
            return Err(format!("/{name} is listed twice."));
        }
        let description = command.description.trim();
        if description.is_empty() || description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(format!(
                "/{name} needs a description of at most {MAX_DESCRIPTION_CHARS} characters."
            ));
        }
        if command.usage.chars().count() > MAX_USAGE_CHARS
            || command.usage.chars().any(char::is_control)
            || description.chars().any(char::is_control)
        {
            return Err(format!(
                "/{name}: usage is at most {MAX_USAGE_CHARS} characters, on one line."
            ));
        }
    }
    Ok(())
}

/// `PUT /api/bot/commands`: the bot's commands become exactly these.
pub async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<Commands>, JsonRejection>,
) -> Result<StatusCode, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let authed = super::authenticate(&state, &headers).await?;
    if state.user_event_limiter.check_key(&authed.user).is_err() {
        return Err(ApiFailure::RateLimited);
    }
    let Json(Commands { mut commands }) =
        body.map_err(|e| ApiFailure::BadRequest(e.body_text()))?;
    check(&commands).map_err(ApiFailure::BadRequest)?;
    for command in &mut commands {
        command.description = command.description.trim().to_owned();
        command.usage = command.usage.trim().to_owned();
    }
    state.store.set_bot_commands(authed.user, &commands).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/rooms/{room}/commands`: the commands of the bots in a room I am in.
pub async fn of_room(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(room): Path<String>,
) -> Result<Json<RoomCommands>, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let authed = authenticate_metered(&state, &headers).await?;
    let room = RoomId(room);
    if state.store.membership(&room, authed.user).await?.is_none() {
        return Err(ApiFailure::NotFound);
    }
    let commands = state
        .store
        .room_commands(&room)
        .await?
        .into_iter()
        .map(|(bot, c)| RoomCommand {
            name: c.name,
            description: c.description,
            usage: c.usage,
            bot,
        })
        .collect();
    Ok(Json(RoomCommands { commands }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(name: &str, description: &str) -> BotCommand {
        BotCommand {
            name: name.into(),
            description: description.into(),
            usage: String::new(),
        }
    }

    #[test]
    fn command_names_are_plain_and_the_apps_own_are_kept() {
        assert!(check(&[command("weather", "The weather"), command("echo-2", "x")]).is_ok());
        for bad in [
            "",
            "Weather",
            "we ather",
            "/weather",
            "topic",
            &"x".repeat(33),
        ] {
            assert!(check(&[command(bad, "d")]).is_err(), "{bad:?}");
        }
        assert!(
            check(&[command("a", "")]).is_err(),
            "a description is needed"
        );
        assert!(
            check(&[command("a", "x"), command("a", "y")]).is_err(),
            "twice"
        );
        let many: Vec<_> = (0..=MAX_COMMANDS)
            .map(|i| command(&format!("c{i}"), "d"))
            .collect();
        assert!(check(&many).is_err());
        let mut multi_line = command("a", "d");
        multi_line.usage = "one\ntwo".into();
        assert!(check(&[multi_line]).is_err());
    }
}

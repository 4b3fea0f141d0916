//! Who may create accounts (`--registration`), and server administrators.

use crate::harness::{TestServer, session_cookie};
use serde_json::{Value, json};
use shared::RoomId;
use shared::ws::{ClientMessage, ServerMessage};
use signaling::config::Registration;

const PASSWORD: &str = "correct horse battery";

async fn sign_up(server: &TestServer, name: &str, invite: Option<&str>) -> reqwest::Response {
    let mut body = json!({"username": name, "password": PASSWORD});
    if let Some(token) = invite {
        body["invite"] = json!(token);
    }
    server.post("/api/signup", body).await
}

async fn code(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    body["code"].as_str().unwrap().to_owned()
}

async fn whoami(server: &TestServer, cookie: &str) -> Value {
    server.get_json("/api/session", Some(cookie)).await
}

async fn create_as(server: &TestServer, cookie: &str, name: &str) -> reqwest::Response {
    server
        .http
        .post(format!("{}/api/admin/users", server.base))
        .header("Origin", server.origin())
        .header("Cookie", cookie)
        .json(&json!({"username": name, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
}

async fn options(server: &TestServer) -> Value {
    server.get_json("/api/auth-options", None).await
}

#[tokio::test]
async fn the_first_account_and_named_ones_are_administrators() {
    // A name listed before its account exists makes nobody an administrator: whoever signed
    // up with it would be one.
    let server = TestServer::start_with(|c| c.admins = vec!["Carol".into()]).await;
    let alice = server.create_user("alice").await;
    let bob = server.create_user("bob").await;
    let squatter = server.create_user("carol").await;
    assert_eq!(whoami(&server, &squatter).await.get("admin"), None);
    // Listed once the account exists (the operator restarts with the flag), it is one.
    let server = server
        .restart_with(|c| c.admins = vec!["Carol".into()])
        .await;
    let carol = server
        .post(
            "/api/login",
            json!({"username": "carol", "password": PASSWORD}),
        )
        .await;
    let carol = session_cookie(&carol).unwrap();
    // Sessions outlive the restart.
    assert_eq!(
        whoami(&server, &alice).await["admin"],
        true,
        "the first account"
    );
    assert_eq!(
        whoami(&server, &bob).await.get("admin"),
        None,
        "not an admin"
    );
    assert_eq!(
        whoami(&server, &carol).await["admin"],
        true,
        "named by --admin"
    );

    // Only administrators create accounts for others.
    let refused = create_as(&server, &bob, "dave").await;
    assert_eq!(refused.status(), 403);
    assert_eq!(code(refused).await, "admin_only");
    let created = create_as(&server, &carol, "dave").await;
    assert_eq!(created.status(), 201);
    assert!(
        session_cookie(&created).is_none(),
        "the admin stays who they are"
    );
    let login = server
        .post(
            "/api/login",
            json!({"username": "dave", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        login.status(),
        200,
        "the new account logs in with its password"
    );
    let taken = create_as(&server, &alice, "DAVE").await;
    assert_eq!(code(taken).await, "username_taken");
    let weak = server
        .http
        .post(format!("{}/api/admin/users", server.base))
        .header("Origin", server.origin())
        .header("Cookie", &alice)
        .json(&json!({"username": "erin", "password": "short"}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(weak).await, "invalid_input");
}

#[tokio::test]
async fn a_closed_server_takes_no_sign_ups_but_admins_create_accounts() {
    let server = TestServer::start_with(|c| {
        c.registration = Registration::Closed;
        c.admins = vec!["root".into()];
    })
    .await;
    assert_eq!(options(&server).await["registration"], "closed");
    // The app's session check, without a session, says the same: its form asks nothing more.
    let signed_out = server
        .http
        .get(format!("{}/api/session", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), 401);
    let signed_out: Value = signed_out.json().await.unwrap();
    assert_eq!(signed_out["code"], "unauthenticated");
    assert_eq!(signed_out["auth_options"], options(&server).await);
    // The first account runs the server, so it may sign up; nobody after it.
    let first = sign_up(&server, "owner", None).await;
    assert_eq!(first.status(), 201);
    let owner = session_cookie(&first).unwrap();
    assert_eq!(whoami(&server, &owner).await["admin"], true);
    let refused = sign_up(&server, "mallory", None).await;
    assert_eq!(refused.status(), 403);
    assert!(session_cookie(&refused).is_none());
    assert_eq!(code(refused).await, "registration_closed");
    assert_eq!(create_as(&server, &owner, "mallory").await.status(), 201);
}

#[tokio::test]
async fn an_invite_only_server_lets_in_whoever_holds_a_live_invite_link() {
    // The first account exists before the mode changes (as when an operator closes a server
    // that ran open), then the server restarts invite-only on the same data.
    let server = TestServer::start().await;
    let alice = server.create_user("alice").await;
    let server = server
        .restart_with(|c| c.registration = Registration::InviteOnly)
        .await;
    assert_eq!(options(&server).await["registration"], "invite_only");

    let without = sign_up(&server, "bob", None).await;
    assert_eq!(without.status(), 403);
    assert_eq!(code(without).await, "invite_required");
    let made_up = sign_up(&server, "bob", Some("not-a-token")).await;
    assert_eq!(code(made_up).await, "invite_required");

    let mut alice_socket = server.connect(&alice).await;
    alice_socket
        .send(&ClientMessage::CreateInvite {
            room: RoomId::lobby(),
        })
        .await;
    let token = alice_socket
        .wait_for(|m| match m {
            ServerMessage::Invite { token, .. } => Some(token),
            _ => None,
        })
        .await;
    let admitted = sign_up(&server, "bob", Some(&token)).await;
    assert_eq!(admitted.status(), 201);

    // A revoked link lets nobody else in.
    alice_socket
        .send(&ClientMessage::RevokeInvites {
            room: RoomId::lobby(),
            token: Some(token.clone()),
        })
        .await;
    alice_socket
        .wait_for(|m| matches!(m, ServerMessage::InvitesRevoked { .. }).then_some(()))
        .await;
    let revoked = sign_up(&server, "carol", Some(&token)).await;
    assert_eq!(code(revoked).await, "invite_required");
}

async fn lobby_members(client: &mut crate::harness::Client) -> Vec<String> {
    client
        .send(&ClientMessage::ListMembers {
            room: RoomId::lobby(),
        })
        .await;
    client
        .wait_for(|m| match m {
            ServerMessage::Members { members, .. } => {
                Some(members.into_iter().map(|m| m.username).collect())
            }
            _ => None,
        })
        .await
}

#[tokio::test]
async fn with_a_closed_directory_only_administrators_list_the_lobby() {
    let server = TestServer::start_with(|c| {
        c.user_directory = signaling::config::UserDirectory::Admins;
    })
    .await;
    let root = server.create_user("root").await;
    let bob = server.create_user("bob").await;
    server.create_user("carol").await;
    let mut bob_socket = server.connect(&bob).await;
    assert_eq!(
        lobby_members(&mut bob_socket).await,
        ["bob"],
        "only himself"
    );
    let mut root_socket = server.connect(&root).await;
    assert_eq!(
        lobby_members(&mut root_socket).await,
        ["root", "bob", "carol"],
        "the administrator sees every account"
    );

    // Nor does the lobby say who comes online or reads along.
    root_socket
        .post(&RoomId::lobby(), "r1", "welcome, all")
        .await;
    bob_socket
        .wait_for(|m| matches!(m, ServerMessage::Event { .. }).then_some(()))
        .await;
    let carol = server
        .post(
            "/api/login",
            json!({"username": "carol", "password": PASSWORD}),
        )
        .await;
    let mut carol_socket = server.connect(&session_cookie(&carol).unwrap()).await;
    carol_socket
        .send(&ClientMessage::MarkRead {
            room: RoomId::lobby(),
            seq: shared::Seq(1),
        })
        .await;
    bob_socket.expect_silence(700).await;
    // Offers (and the relay for them) through the lobby would tell who has an account.
    bob_socket
        .send(&ClientMessage::IceServers {
            room: Some(RoomId::lobby()),
            call: None,
            peer: Some("carol".into()),
        })
        .await;
    let refused = bob_socket
        .wait_for(|m| match m {
            ServerMessage::Error { code, .. } => Some(code),
            _ => None,
        })
        .await;
    assert_eq!(refused, shared::ws::ErrorCode::NoSuchUser);

    // An open directory (the default) lists everyone to everyone.
    let open = TestServer::start().await;
    open.create_user("root").await;
    let bob = open.create_user("bob").await;
    let mut bob_socket = open.connect(&bob).await;
    assert_eq!(lobby_members(&mut bob_socket).await, ["root", "bob"]);
}

#[tokio::test]
async fn only_one_first_account_on_a_closed_server_however_many_try_at_once() {
    let server = TestServer::start_with(|c| c.registration = Registration::Closed).await;
    let names: Vec<String> = (0..6).map(|i| format!("racer{i}")).collect();
    let attempts = names.iter().map(|name| sign_up(&server, name, None));
    let answers = futures_util::future::join_all(attempts).await;
    let created = answers.iter().filter(|r| r.status() == 201).count();
    assert_eq!(
        created, 1,
        "one first account; the others meet the closed door"
    );
    for answer in answers.into_iter().filter(|r| r.status() != 201) {
        assert_eq!(code(answer).await, "registration_closed");
    }
}

//! Sign-up and log-in form.

use super::focus;
use crate::api;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::Credentials;
use shared::limits::{check_password, check_username};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    SignUp,
    LogIn,
}

#[component]
pub fn AuthForm(
    /// Called with the username once a session exists.
    on_authed: Callback<String>,
    /// A message to show above the form (why the user was logged out, say).
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    // Asked for once the server says the account has two-factor on.
    let code = RwSignal::new(String::new());
    let needs_code = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    // What the server offers besides passwords is applied to the form by hand, not through
    // reactive views, which cost the first load about 0.75 KB each: the single sign-on link
    // gets its label (it is hidden while empty), a closed server's sign-up button goes, and
    // with passkeys `/passkey.js` is loaded: it shows the passkey button and runs the log-in
    // (then reloads the page, which starts the chat with the new session).
    spawn_local(async move {
        let Some(options) = api::auth_options().await else {
            return;
        };
        let field = |key: &str| js_sys::Reflect::get(&options, &key.into()).ok();
        let element = |id: &str| {
            web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id(id))
        };
        if let (Some(name), Some(link)) = (field("sso").and_then(|v| v.as_string()), element("sso"))
        {
            link.set_text_content(Some(&("Sign in with ".to_owned() + &name)));
        }
        if field("passkeys").is_some_and(|v| v.is_truthy())
            && let Some(document) = web_sys::window().and_then(|w| w.document())
            && let Ok(script) = document.create_element("script")
            && let Some(body) = document.body()
        {
            let _ = script.set_attribute("type", "module");
            let _ = script.set_attribute("src", "/passkey.js");
            let _ = body.append_child(&script);
        }
        if field("registration").and_then(|v| v.as_string()).as_deref() == Some("closed")
            && let Some(button) = element("sign-up")
        {
            button.remove();
        }
    });

    let submit = move |action: Action| {
        if busy.get_untracked() {
            return;
        }
        let creds = Credentials {
            username: username.get_untracked().trim().to_owned(),
            password: password.get_untracked(),
            code: (action == Action::LogIn && needs_code.get_untracked())
                .then(|| code.get_untracked().trim().to_owned()),
            // An invite-only server lets in whoever came with a room's invite link.
            invite: (action == Action::SignUp)
                .then(crate::route::invite_token_in_address)
                .flatten(),
        };
        if action == Action::SignUp {
            // Log-in checks only what the server knows; sign-up explains the rules up front.
            let local =
                check_username(&creds.username).and_then(|()| check_password(&creds.password));
            if let Err(why) = local {
                error.set(Some(why.explain()));
                return;
            }
        } else if creds.username.is_empty() || creds.password.is_empty() {
            error.set(Some("Enter your username and password.".to_owned()));
            return;
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = match action {
                Action::SignUp => api::sign_up(&creds).await,
                Action::LogIn => api::log_in(&creds).await,
            };
            busy.set(false);
            match result {
                Ok(session) => on_authed.run(session.username),
                Err(problem) => {
                    if problem.1.as_deref() == Some("two_factor_required") {
                        needs_code.set(true);
                        focus("code");
                    }
                    let mut text = problem.0;
                    // Enter logs in; someone new who pressed it has no account yet. Where
                    // sign-up is open, say what to do instead (the server does not say whether
                    // the name exists).
                    let sign_up_offered = web_sys::window()
                        .and_then(|w| w.document())
                        .and_then(|d| d.get_element_by_id("sign-up"))
                        .is_some();
                    if problem.1.as_deref() == Some("invalid_credentials") && sign_up_offered {
                        text.push_str(" New here? Choose Sign up to create this account.");
                    }
                    error.set(Some(text));
                }
            }
        });
    };

    view! {
        <section class="auth card" aria-labelledby="auth-title">
            <h1 id="auth-title">"Chat"</h1>
            <p class="tagline">"Sign up or log in to join the conversation."</p>
            <p class="notice" hidden=move || notice.with(Option::is_none)>{move || notice.get()}</p>
            <form on:submit=move |ev| {
                ev.prevent_default();
                submit(Action::LogIn);
            }>
                <label for="username">"Username"</label>
                <input
                    id="username"
                    name="username"
                    type="text"
                    autocomplete="username"
                    autocapitalize="none"
                    spellcheck="false"
                    required
                    bind:value=username
                />
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required
                    bind:value=password
                />
                {move || needs_code.get().then(|| view! {
                    <label for="code">"Authentication code"</label>
                    <input
                        id="code"
                        name="code"
                        type="text"
                        inputmode="numeric"
                        autocomplete="one-time-code"
                        autocapitalize="none"
                        spellcheck="false"
                        required
                        bind:value=code
                    />
                })}
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <div class="actions">
                    <button type="submit" class="primary" disabled=move || busy.get()>"Log in"</button>
                    <button type="button" id="sign-up" disabled=move || busy.get() on:click=move |_| submit(Action::SignUp)>
                        "Sign up"
                    </button>
                </div>
                <button type="button" id="passkey" class="passkey" hidden>"Log in with a passkey"</button>
            </form>
            <a id="sso" class="sso" href="/api/sso/start"></a>
        </section>
    }
}

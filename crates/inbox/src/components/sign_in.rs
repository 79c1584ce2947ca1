//! The sign-in page: email and password; a refusal keeps the member here
//! with the reason, in the page and in the live region.

use leptos::html;
use leptos::prelude::*;

use super::use_inbox;
use crate::state::Account;

#[component]
pub fn SignIn() -> impl IntoView {
    let inbox = use_inbox();
    let email = NodeRef::<html::Input>::new();
    let password = NodeRef::<html::Input>::new();
    let state = move || match inbox.account.get() {
        Account::SignedOut { busy, error } => (busy, error),
        _ => (false, None),
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (Some(email), Some(password)) = (email.get_untracked(), password.get_untracked()) else { return };
        inbox.sign_in(email.value().trim().to_owned(), password.value());
    };
    view! {
        <main class="sign-in">
            <h1>"Connect360 inbox"</h1>
            <form on:submit=on_submit>
                <label for="email">"Email"</label>
                <input id="email" type="email" name="email" autocomplete="username" required node_ref=email />
                <label for="password">"Password"</label>
                <input id="password" type="password" name="password" autocomplete="current-password" required
                    node_ref=password />
                // A live region from the start, so the refusal is read out.
                <p class="error" role="alert">{move || state().1}</p>
                <button type="submit" disabled=move || state().0>"Sign in"</button>
            </form>
        </main>
    }
}

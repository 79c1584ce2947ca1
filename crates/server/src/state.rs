//! What the handlers share. Each resource's router asks only for the parts
//! it uses (axum's `FromRef` sub-states), so no resource module imports this
//! one: the application builds it and hands it to the merged router.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRef;

use crate::ai::Ai;
use crate::attachments::storage::FileStorage;
use crate::attachments::upload::SpoolDir;
use crate::attachments::url::UrlSigner;
use crate::auth::Authenticator;
use crate::backend::Backend;
use crate::csrf::PublicOrigin;
use crate::events::EventStreams;
use crate::hub::EventBus;
use crate::limits::Limits;
use crate::sign_in::SignInLimits;
use crate::store::Store;
use crate::visitor_token::TokenSigner;

/// The handlers' shared parts behind one `Arc`: axum clones the state for
/// every request it routes, and a clone of each part was one reference
/// count per `Arc` inside it, touched from every worker thread.
#[derive(Clone)]
pub struct AppState(Arc<SharedState>);

impl AppState {
    pub fn new(shared: SharedState) -> Self {
        AppState(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

/// Each part as a sub-state (`State<Limits>` and the like).
macro_rules! sub_states {
    ($($field:ident: $ty:ty),* $(,)?) => {
        $(impl FromRef<AppState> for $ty {
            fn from_ref(state: &AppState) -> Self {
                state.0.$field.clone()
            }
        })*
    };
}

sub_states! {
    store: Arc<dyn Store>,
    backend: Arc<dyn Backend>,
    auth: Authenticator,
    signer: TokenSigner,
    files: Arc<dyn FileStorage>,
    spool: SpoolDir,
    urls: UrlSigner,
    ai: Ai,
    limits: Limits,
    sign_in_limits: SignInLimits,
    origin: PublicOrigin,
    events: Arc<dyn EventBus>,
    streams: EventStreams,
}

pub struct SharedState {
    pub store: Arc<dyn Store>,
    /// Conversations and messages: [`crate::backend::LocalBackend`] on the
    /// store, or the upstream in upstream mode.
    pub backend: Arc<dyn Backend>,
    /// Resolves credentials: the store's keys and the signer's tokens.
    pub auth: Authenticator,
    pub signer: TokenSigner,
    /// Attachments' bytes.
    pub files: Arc<dyn FileStorage>,
    /// Where uploads are written until the whole request has arrived.
    pub spool: SpoolDir,
    /// Signs the file URLs handed to visitors.
    pub urls: UrlSigner,
    /// Wakes the AI runner; carries the replies it writes to their watchers.
    pub ai: Ai,
    /// What one address, widget, visitor or API key may do per period.
    pub limits: Limits,
    /// Sign-in attempts per email and per address.
    pub sign_in_limits: SignInLimits,
    /// Where signed-in requests must come from.
    pub origin: PublicOrigin,
    /// Messages and replies as they happen, to the event streams.
    pub events: Arc<dyn EventBus>,
    /// The event streams' caps and buffer.
    pub streams: EventStreams,
}

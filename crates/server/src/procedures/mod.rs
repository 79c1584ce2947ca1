//! The procedures: one dispatch table built from the api crate's list of
//! [`Procedure`]s (`for_each_procedure!`), so a path, its kind and its types
//! are declared once for both ends of the wire, and a procedure without a
//! handler here does not compile.

mod conversations;
mod guests;
mod inbox;
mod messages;
mod templates;

use std::future::Future;
use std::pin::Pin;

use connect360_api::{self as api, Procedure, ProcedureKind};
use serde_json::value::RawValue;

use crate::attachments::url::UrlSigner;
use crate::auth::Principal;
use crate::backend::Backend;
use crate::domain::Permission;
use crate::error::ApiError;
use crate::extract::decode;
use crate::store::{Actor, Store};

/// What a call runs with.
pub struct Ctx<'a> {
    pub store: &'a dyn Store,
    /// Where messages are sent and listed: the store, or the upstream.
    pub backend: &'a dyn Backend,
    /// Resolved once per request; each call fails with the error if it is one.
    pub principal: &'a Result<Principal, ApiError>,
    /// The request's `Idempotency-Key`, made distinct per call in a batch.
    pub idempotency_key: Option<String>,
    /// Signs the attachment URLs of answers to visitors.
    pub urls: &'a UrlSigner,
    /// Woken by a send that asks for an AI reply.
    pub ai: &'a crate::ai::Ai,
    /// A visitor's sends are counted.
    pub limits: &'a crate::limits::Limits,
}

impl Ctx<'_> {
    fn principal(&self) -> Result<&Principal, ApiError> {
        self.principal.as_ref().map_err(Clone::clone)
    }

    /// The workspace member the call acts as; workspace-only procedures call this.
    fn actor(&self) -> Result<Actor, ApiError> {
        match self.principal()? {
            Principal::Member(m) => Ok(Actor { workspace_id: m.workspace_id.clone(), member_id: m.member_id.clone() }),
            Principal::Visitor(_) => Err(visitor_refused()),
        }
    }
}

fn visitor_refused() -> ApiError {
    ApiError::forbidden("Visitor tokens may only send and list messages, and hand off to a person.")
}

/// A procedure's behaviour on the server.
trait Handle: Procedure {
    const PERMISSION: Permission;
    /// Whether a visitor token may call it (scoped to its own conversation).
    const VISITORS: bool = false;
    fn handle(ctx: &Ctx<'_>, input: Self::Input) -> impl Future<Output = Result<Self::Output, ApiError>> + Send;
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
/// A call's output is serialized once, straight to its JSON text, which the
/// answer then carries as it is.
type Call = for<'a> fn(&'a Ctx<'a>, Option<&'a RawValue>) -> BoxFuture<'a, Result<Box<RawValue>, ApiError>>;

#[derive(Clone, Copy)]
pub struct Route {
    pub path: &'static str,
    pub kind: ProcedureKind,
    pub call: Call,
}

impl Route {
    fn of<P: Handle>() -> Route {
        Route { path: P::PATH, kind: P::KIND, call: call::<P> }
    }
}

macro_rules! dispatch {
    ($($(#[$doc:meta])* $name:ident = $path:literal, $kind:ident, $input:ty => $output:ty;)*) => {
        /// The route of a procedure's path.
        pub fn route(path: &str) -> Option<Route> {
            match path {
                $($path => Some(Route::of::<api::$name>()),)*
                _ => None,
            }
        }
    };
}

api::for_each_procedure!(dispatch);

/// Authorise, decode, run, encode: in that order, as tRPC's middlewares do.
fn call<'a, P: Handle>(ctx: &'a Ctx<'a>, raw: Option<&'a RawValue>) -> BoxFuture<'a, Result<Box<RawValue>, ApiError>> {
    Box::pin(async move {
        let principal = ctx.principal()?;
        if matches!(principal, Principal::Visitor(_)) && !P::VISITORS {
            return Err(visitor_refused());
        }
        principal.require(P::PERMISSION)?;
        let input = decode::<P::Input>(raw)?;
        let output = P::handle(ctx, input).await?;
        serde_json::value::to_raw_value(&output).map_err(ApiError::internal)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_procedure_of_the_api_is_routed() {
        assert!(api::PROCEDURE_PATHS.contains(&api::HandOff::PATH));
        for path in api::PROCEDURE_PATHS {
            assert!(route(path).is_some(), "{path} is not routed");
        }
        assert!(route("v1.connect.nope").is_none());
    }
}

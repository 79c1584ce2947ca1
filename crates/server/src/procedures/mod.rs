//! The procedures: one dispatch table built from the api crate's
//! [`Procedure`] definitions, so a path, its kind and its types are
//! declared once for both ends of the wire.

mod conversations;
mod messages;
mod templates;

use std::future::Future;
use std::pin::Pin;

use connect360_api::{self as api, Procedure, ProcedureKind};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::attachments::url::UrlSigner;
use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::store::{Actor, Store};

/// What a call runs with.
pub struct Ctx<'a> {
    pub store: &'a dyn Store,
    /// Resolved once per request; each call fails with the error if it is one.
    pub principal: &'a Result<Principal, ApiError>,
    /// The request's `Idempotency-Key`, made distinct per call in a batch.
    pub idempotency_key: Option<String>,
    /// Signs the attachment URLs of answers to visitors.
    pub urls: &'a UrlSigner,
    /// Woken by a send that asks for an AI reply.
    pub ai: &'a crate::ai::Ai,
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
type Call = for<'a> fn(&'a Ctx<'a>, Option<Value>) -> BoxFuture<'a, Result<Value, ApiError>>;

#[derive(Clone, Copy)]
pub struct Route {
    pub kind: ProcedureKind,
    pub call: Call,
}

impl Route {
    fn of<P: Handle>() -> Route {
        Route { kind: P::KIND, call: call::<P> }
    }
}

pub fn route(path: &str) -> Option<Route> {
    Some(match path {
        api::GetOrCreateConversation::PATH => Route::of::<api::GetOrCreateConversation>(),
        api::CreateSubConversation::PATH => Route::of::<api::CreateSubConversation>(),
        api::UpdateConversation::PATH => Route::of::<api::UpdateConversation>(),
        api::DeleteConversation::PATH => Route::of::<api::DeleteConversation>(),
        api::HandOff::PATH => Route::of::<api::HandOff>(),
        api::SendMessage::PATH => Route::of::<api::SendMessage>(),
        api::ListMessages::PATH => Route::of::<api::ListMessages>(),
        api::CreateTemplate::PATH => Route::of::<api::CreateTemplate>(),
        _ => return None,
    })
}

/// Authorise, decode, run, encode: in that order, as tRPC's middlewares do.
fn call<'a, P: Handle>(ctx: &'a Ctx<'a>, raw: Option<Value>) -> BoxFuture<'a, Result<Value, ApiError>> {
    Box::pin(async move {
        let principal = ctx.principal()?;
        if matches!(principal, Principal::Visitor(_)) && !P::VISITORS {
            return Err(visitor_refused());
        }
        principal.require(P::PERMISSION)?;
        let input = decode::<P::Input>(raw)?;
        let output = P::handle(ctx, input).await?;
        serde_json::to_value(output).map_err(ApiError::internal)
    })
}

/// Decodes an input, naming the field at fault: `content.fr: unknown locale…`.
pub(crate) fn decode<T: DeserializeOwned>(raw: Option<Value>) -> Result<T, ApiError> {
    let value = match raw {
        Some(value @ Value::Object(_)) => value,
        None | Some(Value::Null) => return Err(ApiError::invalid("input", "required: a JSON object")),
        Some(_) => return Err(ApiError::invalid("input", "must be a JSON object")),
    };
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let message = err.inner().to_string();
        let (field, rule) = describe(&path, &message);
        ApiError::invalid(field, rule)
    })
}

/// Rewrites serde's wording for fields into `field: rule`.
fn describe(path: &str, message: &str) -> (String, String) {
    let join = |name: &str| if path == "." { name.to_owned() } else { format!("{path}.{name}") };
    let quoted = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    if let Some(name) = quoted("missing field `") {
        return (join(&name), "required".into());
    }
    // serde_path_to_error's path already ends with an unknown field's name.
    if message.starts_with("unknown field `") {
        return (path.to_owned(), "unknown field".into());
    }
    let field = if path == "." { "input".to_owned() } else { path.to_owned() };
    (field, message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error_of(raw: Value) -> String {
        decode::<api::SendInput>(Some(raw)).unwrap_err().message
    }

    #[test]
    fn decode_names_the_field_and_rule() {
        assert_eq!(error_of(json!({})), "conversationId: required");
        assert_eq!(error_of(json!({"conversationId": "c", "contnt": {}})), "contnt: unknown field");
        assert_eq!(
            error_of(json!({"conversationId": "c", "content": {"fr": "Bonjour"}})),
            "content.fr: unknown locale \"fr\"; expected en, ar or tr"
        );
        assert!(error_of(json!({"conversationId": 5})).starts_with("conversationId: invalid type: integer `5`"));
        assert!(error_of(json!({"conversationId": "c", "sender": "bot"})).starts_with("sender: unknown variant `bot`"));
        assert_eq!(error_of(json!({"conversationId": "c", "customer": {"x": 1}})), "customer.x: unknown field");
    }

    #[test]
    fn decode_wants_an_object() {
        assert_eq!(decode::<api::SendInput>(None).unwrap_err().message, "input: required: a JSON object");
        assert_eq!(decode::<api::SendInput>(Some(json!([1]))).unwrap_err().message, "input: must be a JSON object");
    }

    #[test]
    fn every_procedure_of_the_api_is_routed() {
        for path in [
            api::GetOrCreateConversation::PATH,
            api::CreateSubConversation::PATH,
            api::UpdateConversation::PATH,
            api::DeleteConversation::PATH,
            api::SendMessage::PATH,
            api::ListMessages::PATH,
            api::CreateTemplate::PATH,
        ] {
            assert!(route(path).is_some(), "{path}");
        }
        assert!(route("v1.connect.nope").is_none());
    }
}

//! What more than one resource module of a backend uses.

use super::*;

/// A JSON column, read from the serde_json text both backends store (sqlx's
/// `Json` would want PostgreSQL's `json` type, whose text binds do not cast).
pub(super) struct JsonText<T>(pub T);

impl<T> sqlx::Type<Db> for JsonText<T> {
    fn type_info() -> <Db as sqlx::Database>::TypeInfo {
        <String as sqlx::Type<Db>>::type_info()
    }

    fn compatible(ty: &<Db as sqlx::Database>::TypeInfo) -> bool {
        <String as sqlx::Type<Db>>::compatible(ty)
    }
}

impl<'r, T: serde::de::DeserializeOwned> sqlx::Decode<'r, Db> for JsonText<T> {
    fn decode(value: <Db as sqlx::Database>::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <&str as sqlx::Decode<Db>>::decode(value)?;
        Ok(JsonText(serde_json::from_str(text)?))
    }
}

/// The sends of a store: committed a batch at a time in transactions that
/// `begin` opens, each new message published to `events` (if any) once committed.
pub(in super::super) fn group_commit(
    pool: sqlx::Pool<Db>,
    begin: BeginFn<Db>,
    events: Option<Arc<dyn EventBus>>,
) -> GroupCommit<NewMessage, Sent> {
    GroupCommit::spawn::<Db, SendBatch>(pool, begin, move |sent| {
        if let (Sent::New(stored), Some(events)) = (sent, &events) {
            events.publish(Event::Message(Box::new(stored.clone())));
        }
    })
}

/// What a send stored.
pub(in super::super) enum Sent {
    New(StoredMessage),
    /// A retried send (same idempotency key): the first one's message, not published again.
    Again(Message),
}

pub(super) fn json_text<T: serde::Serialize>(value: &T) -> Result<String> {
    Ok(serde_json::to_string(value)?)
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    Ok(serde_json::from_str(text)?)
}

/// Merges `patch` into `base`: a `null` value removes the key; the other
/// keys keep their order.
pub(super) fn merge_metadata(base: &mut Metadata, patch: &Metadata) {
    for (key, value) in patch {
        if value.is_null() {
            base.shift_remove(key);
        } else {
            base.insert(key.clone(), value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn metadata_merge_sets_and_removes() {
        let mut base: Metadata = serde_json::from_value(json!({"a": 1, "b": 2})).unwrap();
        let patch: Metadata = serde_json::from_value(json!({"b": null, "c": 3})).unwrap();
        merge_metadata(&mut base, &patch);
        assert_eq!(Value::Object(base), json!({"a": 1, "c": 3}));
    }

    #[test]
    fn metadata_merge_keeps_the_order_of_keys() {
        let mut base: Metadata = serde_json::from_str(r#"{"z":1,"a":2,"m":3}"#).unwrap();
        merge_metadata(&mut base, &serde_json::from_str(r#"{"z":null,"b":4}"#).unwrap());
        assert_eq!(serde_json::to_string(&base).unwrap(), r#"{"a":2,"m":3,"b":4}"#);
    }
}

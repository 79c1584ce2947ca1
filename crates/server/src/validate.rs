//! Field rules shared by the procedures. Each check names the field it failed.

use connect360_api::{Content, CustomerInput, Metadata};
use serde_json::Value;

pub use crate::domain::MAX_METADATA_BYTES;
use crate::domain::{CustomerFields, CustomerKey, CustomerRef};
use crate::error::ApiError;

type Result<T> = std::result::Result<T, ApiError>;

pub const MAX_NAME: usize = 200;
pub const MAX_ID: usize = 255;
pub const MAX_CONTENT_BYTES: usize = 64 * 1024;
/// The values a template is filled in with.
pub const MAX_TEMPLATE_CONTEXT_BYTES: usize = 16 * 1024;
pub const MAX_FLAGS: usize = 32;
pub const MAX_FLAG: usize = 64;
pub const MAX_ATTACHMENTS: usize = 10;

/// Trimmed, non-empty, at most `max` characters, no control characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(ApiError::invalid(field, format!("at most {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::invalid(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    value.map(|v| text(field, v, max)).transpose()
}

/// An id given by a caller: its existence is the store's to check.
pub fn id(field: &str, value: &str) -> Result<String> {
    text(field, value, MAX_ID)
}

pub fn email(field: &str, value: &str) -> Result<String> {
    let value = text(field, value, 254)?;
    let valid = value.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !value.contains(char::is_whitespace)
    });
    if valid { Ok(value) } else { Err(ApiError::invalid(field, "must be an email address")) }
}

pub fn phone(field: &str, value: &str) -> Result<String> {
    let value = text(field, value, 32)?;
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let allowed = value.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if allowed && digits >= 3 { Ok(value) } else { Err(ApiError::invalid(field, "must be a phone number")) }
}

/// An absolute http(s) URL, as images are linked from the panel.
pub fn http_url(field: &str, value: &str) -> Result<String> {
    let value = text(field, value, 2048)?;
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or_else(|| ApiError::invalid(field, "must be an http or https URL"))?;
    if rest.is_empty() || rest.starts_with('/') || value.contains(char::is_whitespace) {
        return Err(ApiError::invalid(field, "must be an http or https URL"));
    }
    Ok(value)
}

/// At most `max` bytes once written as JSON.
pub fn json_size(field: &str, value: &impl serde::Serialize, max: usize) -> Result<()> {
    let size = serde_json::to_vec(value).map_err(ApiError::internal)?.len();
    if size > max {
        return Err(ApiError::invalid(field, format!("at most {max} bytes of JSON")));
    }
    Ok(())
}

pub fn metadata(field: &str, value: &Metadata) -> Result<()> {
    json_size(field, value, MAX_METADATA_BYTES)
}

/// Every locale present carries something: not null, not blank text.
pub fn content(field: &str, value: &Content) -> Result<()> {
    for (locale, v) in value {
        let blank = match v {
            Value::Null => true,
            Value::String(s) => s.trim().is_empty(),
            _ => false,
        };
        if blank {
            return Err(ApiError::invalid(format!("{field}.{locale}"), "must not be empty"));
        }
    }
    json_size(field, value, MAX_CONTENT_BYTES)
}

/// A list of ids without repeats, at most `max` long.
pub fn id_list(field: &str, values: &[String], max: usize) -> Result<Vec<String>> {
    if values.len() > max {
        return Err(ApiError::invalid(field, format!("at most {max} items")));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let v = id(&format!("{field}[{i}]"), v)?;
        if out.contains(&v) {
            return Err(ApiError::invalid(format!("{field}[{i}]"), "listed twice"));
        }
        out.push(v);
    }
    Ok(out)
}

pub fn flags(field: &str, values: &[String]) -> Result<Vec<String>> {
    let flags = id_list(field, values, MAX_FLAGS)?;
    for (i, flag) in flags.iter().enumerate() {
        if flag.chars().count() > MAX_FLAG {
            return Err(ApiError::invalid(format!("{field}[{i}]"), format!("at most {MAX_FLAG} characters")));
        }
    }
    Ok(flags)
}

/// `customerId` and/or `customer` as `send` and `getOrCreateConversation` take them.
pub fn customer(customer_id: Option<&str>, customer: Option<&CustomerInput>) -> Result<Option<CustomerRef>> {
    let by_id = match (customer_id, customer.and_then(|c| c.id.as_deref())) {
        (Some(a), Some(b)) if a.trim() != b.trim() => {
            return Err(ApiError::invalid("customer.id", "differs from customerId"));
        }
        (Some(a), _) => Some(id("customerId", a)?),
        (None, Some(b)) => Some(id("customer.id", b)?),
        (None, None) => None,
    };
    let external =
        customer.and_then(|c| c.external_id.as_deref()).map(|v| text("customer.externalId", v, MAX_ID)).transpose()?;
    let (key, external_id) = match (by_id, external) {
        (Some(id), external) => (CustomerKey::Id(id), external),
        (None, Some(external)) => (CustomerKey::ExternalId(external), None),
        (None, None) if customer.is_some() => {
            return Err(ApiError::invalid("customer", "needs id or externalId"));
        }
        (None, None) => return Ok(None),
    };
    let fields = match customer {
        None => CustomerFields::default(),
        Some(c) => CustomerFields {
            external_id,
            name: optional_text("customer.name", c.name.as_deref(), MAX_NAME)?,
            email: c.email.as_deref().map(|v| email("customer.email", v)).transpose()?,
            phone: c.phone.as_deref().map(|v| phone("customer.phone", v)).transpose()?,
            image: c.image.as_deref().map(|v| http_url("customer.image", v)).transpose()?,
            metadata: match &c.metadata {
                Some(m) => {
                    metadata("customer.metadata", m)?;
                    Some(m.clone())
                }
                None => None,
            },
        },
    };
    Ok(Some(CustomerRef { key, fields }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("name", "  Jane ", 10).unwrap(), "Jane");
        assert_eq!(text("name", "   ", 10).unwrap_err().message, "name: must not be empty");
        assert_eq!(text("name", "abcdef", 5).unwrap_err().message, "name: at most 5 characters");
        assert!(text("name", "a\u{0}b", 5).is_err());
    }

    #[test]
    fn emails_urls_and_phones() {
        assert!(email("e", "jane@example.com").is_ok());
        for bad in ["jane", "jane@", "@example.com", "jane@example", "ja ne@example.com", "a@b@c.com"] {
            assert!(email("e", bad).is_err(), "{bad}");
        }
        assert!(http_url("i", "https://cdn.example.com/a.png").is_ok());
        for bad in ["javascript:alert(1)", "ftp://x", "https://", "https:///x", "data:image/png;base64,xx"] {
            assert!(http_url("i", bad).is_err(), "{bad}");
        }
        assert!(phone("p", "+90 (212) 555-0101").is_ok());
        assert!(phone("p", "call me").is_err());
    }

    #[test]
    fn blank_content_is_named_by_locale() {
        let value: Content = serde_json::from_str(r#"{"en":"hi","tr":"  "}"#).unwrap();
        assert_eq!(content("content", &value).unwrap_err().message, "content.tr: must not be empty");
    }

    #[test]
    fn id_lists_reject_repeats() {
        let err = id_list("attachmentIds", &["a".into(), "a".into()], 5).unwrap_err();
        assert_eq!(err.message, "attachmentIds[1]: listed twice");
    }

    #[test]
    fn customer_needs_a_key() {
        let input = CustomerInput { name: Some("Jane".into()), ..Default::default() };
        assert_eq!(customer(None, Some(&input)).unwrap_err().message, "customer: needs id or externalId");
        let input = CustomerInput { external_id: Some("u1".into()), ..Default::default() };
        assert_eq!(customer(None, Some(&input)).unwrap().unwrap().key, CustomerKey::ExternalId("u1".into()));
        assert_eq!(customer(Some("cus_1"), Some(&input)).unwrap().unwrap().key, CustomerKey::Id("cus_1".into()));
        assert_eq!(customer(None, None).unwrap(), None);
    }
}

//! Rendering a template's content with `send`'s `templateContext`.
//!
//! Placeholders are `{{ name }}` or `{{ order.id }}` inside string values, at
//! any depth of the template's JSON. A placeholder with no value is an error:
//! a customer must never receive "Hello {{name}}".

use connect360_api::Content;
use serde_json::Value;

use crate::error::ApiError;

pub fn render(content: &Content, context: Option<&Value>) -> Result<Content, ApiError> {
    let context = match context {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map),
        Some(_) => return Err(ApiError::invalid("templateContext", "must be an object")),
    };
    content.iter().map(|(locale, value)| Ok((*locale, render_value(value, context)?))).collect()
}

fn render_value(value: &Value, context: Option<&serde_json::Map<String, Value>>) -> Result<Value, ApiError> {
    Ok(match value {
        Value::String(s) => Value::String(render_str(s, context)?),
        Value::Array(items) => Value::Array(items.iter().map(|v| render_value(v, context)).collect::<Result<_, _>>()?),
        Value::Object(map) => Value::Object(
            map.iter().map(|(k, v)| Ok((k.clone(), render_value(v, context)?))).collect::<Result<_, ApiError>>()?,
        ),
        other => other.clone(),
    })
}

fn render_str(template: &str, context: Option<&serde_json::Map<String, Value>>) -> Result<String, ApiError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            // An unclosed brace is text, not a placeholder.
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let name = after[..end].trim();
        out.push_str(&lookup(name, context)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn lookup(name: &str, context: Option<&serde_json::Map<String, Value>>) -> Result<String, ApiError> {
    let field = format!("templateContext.{name}");
    let mut parts = name.split('.');
    let first = parts.next().unwrap_or_default();
    let mut value =
        context.and_then(|c| c.get(first)).ok_or_else(|| ApiError::invalid(&field, "missing; the template uses it"))?;
    for part in parts {
        value = value.get(part).ok_or_else(|| ApiError::invalid(&field, "missing; the template uses it"))?;
    }
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(ApiError::invalid(&field, "must be text, a number or a boolean")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn content(v: Value) -> Content {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn fills_placeholders_at_any_depth() {
        let tpl = content(json!({"en": "Hi {{ name }}, order {{order.id}} ships", "tr": {"t": ["{{name}}!"]}}));
        let out = render(&tpl, Some(&json!({"name": "Jane", "order": {"id": 1042}}))).unwrap();
        assert_eq!(out, content(json!({"en": "Hi Jane, order 1042 ships", "tr": {"t": ["Jane!"]}})));
    }

    #[test]
    fn a_missing_value_names_the_placeholder() {
        let tpl = content(json!({"en": "Hi {{ name }}"}));
        let err = render(&tpl, Some(&json!({}))).unwrap_err();
        assert_eq!(err.message, "templateContext.name: missing; the template uses it");
        assert!(render(&tpl, None).is_err());
    }

    #[test]
    fn context_must_be_an_object_and_values_scalar() {
        let tpl = content(json!({"en": "Hi {{ name }}"}));
        assert_eq!(render(&tpl, Some(&json!([1]))).unwrap_err().message, "templateContext: must be an object");
        assert!(render(&tpl, Some(&json!({"name": {"a": 1}}))).is_err());
    }

    #[test]
    fn unclosed_braces_stay_text() {
        let tpl = content(json!({"en": "a {{ b"}));
        assert_eq!(render(&tpl, None).unwrap(), content(json!({"en": "a {{ b"})));
    }
}

//! Reading sales-order request bodies (brightpearl-api.md §4.1, §5.3a): ids and text that may be
//! sent as numbers or strings, addresses with their length limits, and the problem list that lets
//! one answer report every validation error (§1.6).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::sandbox::brightpearl::wire::{self, limits, too_long};

/// Collects validation errors so several can be reported at once (§1.6).
#[derive(Default)]
pub(super) struct Problems(pub Vec<(String, String)>);

impl Problems {
    pub(super) fn add(&mut self, code: &str, message: impl Into<String>) {
        self.0.push((code.to_owned(), message.into()));
    }

    pub(super) fn check_length(&mut self, field: &str, value: &str, limit: usize) {
        if let Some(message) = too_long(field, value, limit) {
            self.add("ORDC-019", message);
        }
    }

    pub(super) fn into_response(self) -> Option<Response> {
        (!self.0.is_empty()).then(|| wire::errors(StatusCode::BAD_REQUEST, self.0))
    }
}

pub(super) fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

pub(super) fn id_of(value: &Value) -> Option<u32> {
    match value {
        Value::Number(number) => number.as_u64().and_then(|id| u32::try_from(id).ok()),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
    .filter(|id| *id > 0)
}

/// Read an address object sent on an order, checking the §5.3a limits; returns the flat map Order
/// GET renders.
pub fn read_address(
    value: &Value,
    field: &str,
    problems: &mut Vec<(String, String)>,
    code: &str,
) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(object) = value.as_object() else {
        return out;
    };
    for (key, limit) in limits::ADDRESS_FIELDS {
        if let Some(text) = object.get(*key).and_then(text) {
            if let Some(message) = too_long(&format!("{field}.{key}"), &text, *limit) {
                problems.push((code.to_owned(), message));
            }
            out.insert((*key).to_owned(), Value::String(text));
        }
    }
    let country_code = object
        .get("countryIsoCode")
        .and_then(text)
        .or_else(|| object.get("countryId").and_then(text));
    if let Some(code_text) = country_code {
        match wire::country(&code_text) {
            Some((two, three, name, id)) => {
                out.insert("country".into(), json!(name));
                out.insert("countryId".into(), json!(id));
                out.insert("countryIsoCode".into(), json!(two));
                out.insert("countryIsoCode3".into(), json!(three));
            }
            // guess: an unknown country code is kept as sent rather than refused
            // (brightpearl-api.md §4.1 leaves 2- vs 3-letter acceptance open)
            None => {
                out.insert("countryIsoCode".into(), json!(code_text));
            }
        }
    }
    out
}

//! The settings document as JSON: reading a merged document into [`Settings`] while naming every
//! unknown field and wrong type, RFC 7396 merge patches, and the whole-document check a PATCH
//! runs.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{
    CancellationsSettings, CustomersSettings, InventorySettings, InvoicesSettings, ItemsSettings,
    OrdersOverride, OrdersSettings, Settings, ShipmentsSettings, validate,
};
use crate::problem::Problem;
use crate::reference::ReferenceData;

impl Settings {
    /// Turn a (merged) document into settings, naming every unknown field and wrong type.
    /// Absent fields take their defaults.
    pub fn from_document(document: &Value) -> Result<Settings, Vec<Problem>> {
        let (settings, problems) = Settings::from_document_lenient(document);
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(problems)
        }
    }

    /// Like [`Settings::from_document`], but also return the settings built from the fields that
    /// are fine (unknown and mistyped fields dropped), so values can be checked in the same
    /// answer.
    pub fn from_document_lenient(document: &Value) -> (Settings, Vec<Problem>) {
        let defaults = Settings::default().to_document();
        let Value::Object(document_map) = document else {
            return (
                Settings::default(),
                vec![Problem::new("", "settings must be a JSON object")],
            );
        };
        let mut problems = Vec::new();
        let mut cleaned = Map::new();
        for (section, value) in document_map {
            let Some(Value::Object(default_section)) = defaults.get(section) else {
                problems.push(Problem::new(section.clone(), "unknown field"));
                continue;
            };
            let Value::Object(fields) = value else {
                problems.push(Problem::new(section.clone(), "must be an object"));
                continue;
            };
            let mut cleaned_section = Map::new();
            for (field, field_value) in fields {
                let path = format!("{section}.{field}");
                if !default_section.contains_key(field) {
                    problems.push(Problem::new(path, "unknown field"));
                    continue;
                }
                if section == "orders" && field == "per_retailer" {
                    let kept = check_per_retailer(field_value, &mut problems);
                    cleaned_section.insert(field.clone(), kept);
                    continue;
                }
                // Type-check this one field by putting it into the default section.
                let mut probe = default_section.clone();
                probe.insert(field.clone(), field_value.clone());
                let probe = Value::Object(probe);
                let result = match section.as_str() {
                    "customers" => check_type::<CustomersSettings>(probe),
                    "items" => check_type::<ItemsSettings>(probe),
                    "orders" => check_type::<OrdersSettings>(probe),
                    "inventory" => check_type::<InventorySettings>(probe),
                    "shipments" => check_type::<ShipmentsSettings>(probe),
                    "invoices" => check_type::<InvoicesSettings>(probe),
                    "cancellations" => check_type::<CancellationsSettings>(probe),
                    _ => Ok(()),
                };
                match result {
                    Ok(()) => {
                        cleaned_section.insert(field.clone(), field_value.clone());
                    }
                    Err(message) => problems.push(Problem::new(path, message)),
                }
            }
            cleaned.insert(section.clone(), Value::Object(cleaned_section));
        }
        match serde_json::from_value(Value::Object(cleaned)) {
            Ok(settings) => (settings, problems),
            Err(e) => {
                problems.push(Problem::new("", e.to_string()));
                (Settings::default(), problems)
            }
        }
    }
}

fn check_type<T: DeserializeOwned>(value: Value) -> Result<(), String> {
    serde_json::from_value::<T>(value)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Check `orders.per_retailer`; what is fine of it, for checking values.
fn check_per_retailer(value: &Value, problems: &mut Vec<Problem>) -> Value {
    let Value::Object(retailers) = value else {
        problems.push(Problem::new(
            "orders.per_retailer",
            "must be an object of dscoRetailerId → orders overrides",
        ));
        return Value::Object(Map::new());
    };
    let allowed = Settings::default().to_document()["orders"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut kept = Map::new();
    for (retailer, overrides) in retailers {
        let base = format!("orders.per_retailer.{retailer}");
        if retailer.trim().is_empty() {
            problems.push(Problem::new(base.clone(), "retailer id must not be empty"));
        }
        let Value::Object(fields) = overrides else {
            problems.push(Problem::new(base, "must be an object"));
            continue;
        };
        let mut kept_fields = Map::new();
        for (field, field_value) in fields {
            let path = format!("{base}.{field}");
            if field == "per_retailer" || !allowed.contains_key(field) {
                problems.push(Problem::new(path, "unknown field"));
                continue;
            }
            let probe = Value::Object(Map::from_iter([(field.clone(), field_value.clone())]));
            match check_type::<OrdersOverride>(probe) {
                Ok(()) => {
                    kept_fields.insert(field.clone(), field_value.clone());
                }
                Err(message) => problems.push(Problem::new(path, message)),
            }
        }
        kept.insert(retailer.clone(), Value::Object(kept_fields));
    }
    Value::Object(kept)
}

/// Apply a JSON merge patch (RFC 7396) to `current`.
pub fn apply_merge_patch(current: &Value, patch: &Value) -> Value {
    match patch {
        Value::Object(patch_map) => {
            let mut target = match current {
                Value::Object(m) => m.clone(),
                _ => Map::new(),
            };
            for (key, value) in patch_map {
                if value.is_null() {
                    target.remove(key);
                } else {
                    let existing = target.get(key).cloned().unwrap_or(Value::Null);
                    target.insert(key.clone(), apply_merge_patch(&existing, value));
                }
            }
            Value::Object(target)
        }
        other => other.clone(),
    }
}

/// What a PATCH found wrong.
#[derive(Debug)]
pub enum Rejection {
    /// Fields at fault, all of them.
    Invalid(Vec<Problem>),
    /// Brightpearl ids are set but no reference data has been retrieved to check them.
    ReferenceMissing,
}

/// Check a whole merged document: structure, types, values and ids, reporting every problem
/// once per field. Brightpearl ids without reference data are a [`Rejection::ReferenceMissing`].
pub fn check_document(
    document: &Value,
    reference: Option<&ReferenceData>,
) -> Result<Settings, Rejection> {
    let (settings, mut problems) = Settings::from_document_lenient(document);
    if problems.is_empty() && reference.is_none() && settings.uses_reference_ids() {
        return Err(Rejection::ReferenceMissing);
    }
    if let Err(more) = validate(&settings, reference) {
        for problem in more {
            if !problems.iter().any(|p| p.path == problem.path) {
                problems.push(problem);
            }
        }
    }
    if problems.is_empty() {
        Ok(settings)
    } else {
        Err(Rejection::Invalid(problems))
    }
}

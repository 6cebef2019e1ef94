//! Inventory buffers: units held back from one DSCO item's published quantity, on top of
//! `inventory.safety_buffer`. CSV `dsco_sku,buffer`; the key is the SKU, compared trimmed and
//! case-insensitively as items are. No Brightpearl ids, so rows need no reference data, and a
//! buffer may name a SKU that is published by an automatic rule rather than an item mapping.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{CheckContext, MappingKind, MappingRow, normalize, required};
use crate::store::{self, ReadTx};

/// A per-item buffer: CSV `dsco_sku,buffer`, `buffer` an integer 0 or more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InventoryBuffer {
    pub dsco_sku: String,
    pub buffer: i64,
}

impl MappingRow for InventoryBuffer {
    const KIND: MappingKind = MappingKind::InventoryBuffers;
    const COLUMNS: &'static [&'static str] = &["dsco_sku", "buffer"];
    const KEY_COLUMNS: usize = 1;

    fn from_values(values: &[String]) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let dsco_sku = required("dsco_sku", &values[0], &mut problems);
        let buffer = units("buffer", &values[1], &mut problems);
        if problems.is_empty() {
            Ok(InventoryBuffer { dsco_sku, buffer })
        } else {
            Err(problems)
        }
    }

    fn to_values(&self) -> Vec<String> {
        vec![self.dsco_sku.clone(), self.buffer.to_string()]
    }

    fn check(&self, _ctx: &CheckContext) -> Vec<String> {
        Vec::new()
    }

    /// SKUs compare case-insensitively, so the key is the lower-cased SKU.
    fn key(&self) -> String {
        normalize(&self.dsco_sku)
    }

    fn normalize_key(key: &str) -> String {
        normalize(key)
    }
}

/// Parse a whole number of units, 0 or more.
fn units(column: &str, value: &str, problems: &mut Vec<String>) -> i64 {
    if value.is_empty() {
        problems.push(format!("{column} is empty"));
        return 0;
    }
    match value.parse::<i64>() {
        Ok(n) if n >= 0 => n,
        _ => {
            problems.push(format!("{column} {value:?} is not an integer 0 or more"));
            0
        }
    }
}

/// Every per-item buffer, by SKU (case-insensitive); build once per run.
#[derive(Debug, Clone, Default)]
pub struct InventoryBufferMap {
    by_sku: HashMap<String, i64>,
}

impl InventoryBufferMap {
    pub fn new(rows: &[InventoryBuffer]) -> InventoryBufferMap {
        InventoryBufferMap {
            by_sku: rows
                .iter()
                .map(|row| (normalize(&row.dsco_sku), row.buffer))
                .collect(),
        }
    }

    pub fn load(tx: &ReadTx) -> Result<InventoryBufferMap, store::Error> {
        let rows: Vec<InventoryBuffer> = tx
            .mappings(MappingKind::InventoryBuffers.as_str())?
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        Ok(InventoryBufferMap::new(&rows))
    }

    /// The buffer set for this DSCO SKU, if any (on top of `inventory.safety_buffer`).
    pub fn buffer_for(&self, dsco_sku: &str) -> Option<i64> {
        self.by_sku.get(&normalize(dsco_sku)).copied()
    }

    /// Every buffer in SKU order (a stable form, to tell when the mapping changed).
    pub fn sorted(&self) -> std::collections::BTreeMap<&str, i64> {
        self.by_sku.iter().map(|(k, v)| (k.as_str(), *v)).collect()
    }

    pub fn len(&self) -> usize {
        self.by_sku.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_sku.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(values: [&str; 2]) -> Result<InventoryBuffer, Vec<String>> {
        InventoryBuffer::from_values(&values.map(String::from))
    }

    #[test]
    fn a_buffer_is_a_whole_number_of_units_for_a_named_sku() {
        assert_eq!(
            parse(["DS-1", "3"]).unwrap(),
            InventoryBuffer {
                dsco_sku: "DS-1".into(),
                buffer: 3
            }
        );
        assert_eq!(parse(["DS-1", "0"]).unwrap().buffer, 0);
        for (values, expected) in [
            (["DS-1", "-1"], r#"buffer "-1" is not an integer 0 or more"#),
            (
                ["DS-1", "1.5"],
                r#"buffer "1.5" is not an integer 0 or more"#,
            ),
            (
                ["DS-1", "two"],
                r#"buffer "two" is not an integer 0 or more"#,
            ),
            (["DS-1", ""], "buffer is empty"),
            (["", "2"], "dsco_sku is empty"),
        ] {
            assert_eq!(parse(values).unwrap_err(), vec![expected], "{values:?}");
        }
    }

    #[test]
    fn buffers_are_found_by_sku_in_any_case() {
        let map = InventoryBufferMap::new(&[
            InventoryBuffer {
                dsco_sku: "DS-1".into(),
                buffer: 4,
            },
            InventoryBuffer {
                dsco_sku: "ds-2".into(),
                buffer: 0,
            },
        ]);
        assert_eq!(map.buffer_for("ds-1"), Some(4));
        assert_eq!(map.buffer_for(" DS-2 "), Some(0));
        assert_eq!(map.buffer_for("DS-3"), None);
        assert_eq!(map.len(), 2);
    }
}

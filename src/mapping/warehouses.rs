//! Warehouses: the only place relations between Brightpearl warehouses and DSCO warehouse codes
//! live. A Brightpearl warehouse has at most one DSCO code (a shipment names one); a DSCO code
//! may take several Brightpearl warehouses (inventory sums their stock).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{CheckContext, MappingKind, MappingRow, normalize, positive_id, required};
use crate::store::{self, ReadTx};

/// A warehouse mapping: CSV `brightpearl_warehouse_id,dsco_warehouse_code`; the key is the
/// Brightpearl warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WarehouseMapping {
    pub brightpearl_warehouse_id: u32,
    pub dsco_warehouse_code: String,
}

impl MappingRow for WarehouseMapping {
    const KIND: MappingKind = MappingKind::Warehouses;
    const COLUMNS: &'static [&'static str] = &["brightpearl_warehouse_id", "dsco_warehouse_code"];
    const KEY_COLUMNS: usize = 1;

    fn from_values(values: &[String]) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let brightpearl_warehouse_id =
            positive_id("brightpearl_warehouse_id", &values[0], &mut problems);
        let dsco_warehouse_code = required("dsco_warehouse_code", &values[1], &mut problems);
        if problems.is_empty() {
            Ok(WarehouseMapping {
                brightpearl_warehouse_id,
                dsco_warehouse_code,
            })
        } else {
            Err(problems)
        }
    }

    fn to_values(&self) -> Vec<String> {
        vec![
            self.brightpearl_warehouse_id.to_string(),
            self.dsco_warehouse_code.clone(),
        ]
    }

    fn check(&self, ctx: &CheckContext) -> Vec<String> {
        let mut problems = Vec::new();
        if !ctx.warehouse_ids.contains(&self.brightpearl_warehouse_id) {
            problems.push(format!(
                "unknown Brightpearl warehouse {}",
                self.brightpearl_warehouse_id
            ));
        }
        if !ctx.dsco_warehouse_codes.is_empty()
            && !ctx
                .dsco_warehouse_codes
                .contains(&normalize(&self.dsco_warehouse_code))
        {
            problems.push(format!(
                "unknown DSCO warehouse code {:?} (not in the DSCO warehouse list)",
                self.dsco_warehouse_code
            ));
        }
        problems
    }

    fn normalize_key(key: &str) -> String {
        key.trim().trim_start_matches('0').to_owned()
    }
}

/// Every warehouse mapping, both ways.
#[derive(Debug, Clone, Default)]
pub struct WarehouseMap {
    code_by_warehouse: HashMap<u32, String>,
    warehouses_by_code: HashMap<String, Vec<u32>>,
}

impl WarehouseMap {
    pub fn new(rows: &[WarehouseMapping]) -> WarehouseMap {
        let mut map = WarehouseMap::default();
        for row in rows {
            map.code_by_warehouse.insert(
                row.brightpearl_warehouse_id,
                row.dsco_warehouse_code.clone(),
            );
            let ids = map
                .warehouses_by_code
                .entry(row.dsco_warehouse_code.clone())
                .or_default();
            ids.push(row.brightpearl_warehouse_id);
            ids.sort_unstable();
        }
        map
    }

    pub fn load(tx: &ReadTx) -> Result<WarehouseMap, store::Error> {
        let rows: Vec<WarehouseMapping> = tx
            .mappings(MappingKind::Warehouses.as_str())?
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        Ok(WarehouseMap::new(&rows))
    }

    /// The DSCO code a shipment from this Brightpearl warehouse sends.
    pub fn dsco_code_for(&self, brightpearl_warehouse_id: u32) -> Option<&str> {
        self.code_by_warehouse
            .get(&brightpearl_warehouse_id)
            .map(String::as_str)
    }

    /// The Brightpearl warehouses whose stock a DSCO code sums (empty when unmapped).
    pub fn brightpearl_warehouses_for(&self, dsco_warehouse_code: &str) -> &[u32] {
        self.warehouses_by_code
            .get(dsco_warehouse_code.trim())
            .map_or(&[], Vec::as_slice)
    }

    /// Every mapped DSCO code with its Brightpearl warehouses (inventory walks these).
    pub fn dsco_codes(&self) -> impl Iterator<Item = (&str, &[u32])> {
        self.warehouses_by_code
            .iter()
            .map(|(code, ids)| (code.as_str(), ids.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_may_take_several_warehouses_and_each_warehouse_has_one_code() {
        let row = |id, code: &str| WarehouseMapping {
            brightpearl_warehouse_id: id,
            dsco_warehouse_code: code.into(),
        };
        let map = WarehouseMap::new(&[row(3, "MAIN"), row(1, "MAIN"), row(2, "EAST")]);
        assert_eq!(map.brightpearl_warehouses_for("MAIN"), &[1, 3]);
        assert_eq!(map.dsco_code_for(2), Some("EAST"));
        assert_eq!(map.dsco_code_for(9), None);
        assert!(map.brightpearl_warehouses_for("WEST").is_empty());
        assert_eq!(map.dsco_codes().count(), 2);
    }
}

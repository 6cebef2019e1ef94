//! Customers: which Brightpearl contact a DSCO retailer's orders are for (with
//! `customers.mode = per_retailer`). Contact ids cannot be checked locally (contacts are not part
//! of the reference data), so any positive integer is accepted.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{CheckContext, MappingKind, MappingRow, positive_id, required};
use crate::store::{self, ReadTx};

/// A customer mapping: CSV `dsco_retailer_id,brightpearl_contact_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomerMapping {
    pub dsco_retailer_id: String,
    pub brightpearl_contact_id: u32,
}

impl MappingRow for CustomerMapping {
    const KIND: MappingKind = MappingKind::Customers;
    const COLUMNS: &'static [&'static str] = &["dsco_retailer_id", "brightpearl_contact_id"];
    const KEY_COLUMNS: usize = 1;

    fn from_values(values: &[String]) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let dsco_retailer_id = required("dsco_retailer_id", &values[0], &mut problems);
        let brightpearl_contact_id =
            positive_id("brightpearl_contact_id", &values[1], &mut problems);
        if problems.is_empty() {
            Ok(CustomerMapping {
                dsco_retailer_id,
                brightpearl_contact_id,
            })
        } else {
            Err(problems)
        }
    }

    fn to_values(&self) -> Vec<String> {
        vec![
            self.dsco_retailer_id.clone(),
            self.brightpearl_contact_id.to_string(),
        ]
    }

    fn check(&self, _ctx: &CheckContext) -> Vec<String> {
        Vec::new()
    }
}

/// The contact mapped to a retailer, read straight from the store.
pub fn contact_for(tx: &ReadTx, dsco_retailer_id: &str) -> Result<Option<u32>, store::Error> {
    Ok(tx
        .mapping::<CustomerMapping>(MappingKind::Customers.as_str(), dsco_retailer_id.trim())?
        .map(|m| m.brightpearl_contact_id))
}

/// Every customer mapping, for resolving many orders in one run.
#[derive(Debug, Clone, Default)]
pub struct CustomerMap {
    by_retailer: HashMap<String, u32>,
}

impl CustomerMap {
    pub fn new(rows: &[CustomerMapping]) -> CustomerMap {
        CustomerMap {
            by_retailer: rows
                .iter()
                .map(|r| (r.dsco_retailer_id.clone(), r.brightpearl_contact_id))
                .collect(),
        }
    }

    pub fn load(tx: &ReadTx) -> Result<CustomerMap, store::Error> {
        let rows: Vec<CustomerMapping> = tx
            .mappings(MappingKind::Customers.as_str())?
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        Ok(CustomerMap::new(&rows))
    }

    pub fn contact_for(&self, dsco_retailer_id: &str) -> Option<u32> {
        self.by_retailer.get(dsco_retailer_id.trim()).copied()
    }
}

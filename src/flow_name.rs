//! The flows' contract names: config keys (`[schedules] <flow>`), routes (`/v1/sync/{flow}/run`),
//! record and run fields. A leaf: it imports nothing from the crate.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The flows, by their contract names.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FlowName {
    /// DSCO → Brightpearl orders, their acknowledgement, and cancellations seen on DSCO.
    Orders,
    /// Brightpearl goods-out notes or order statuses → DSCO shipments.
    Shipments,
    /// Brightpearl stock → DSCO inventory.
    Inventory,
    /// Brightpearl invoices → DSCO invoices.
    Invoices,
    /// Brightpearl cancellations → DSCO supplier cancels.
    Cancellations,
    /// Refresh of Brightpearl reference data and the product catalog.
    Reference,
}

impl FlowName {
    pub const ALL: [FlowName; 6] = [
        FlowName::Orders,
        FlowName::Shipments,
        FlowName::Inventory,
        FlowName::Invoices,
        FlowName::Cancellations,
        FlowName::Reference,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FlowName::Orders => "orders",
            FlowName::Shipments => "shipments",
            FlowName::Inventory => "inventory",
            FlowName::Invoices => "invoices",
            FlowName::Cancellations => "cancellations",
            FlowName::Reference => "reference",
        }
    }

    /// The names, comma-separated, for error messages.
    pub fn list() -> String {
        FlowName::ALL.map(FlowName::as_str).join(", ")
    }
}

impl fmt::Display for FlowName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FlowName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FlowName::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| format!("unknown flow {s:?}; flows are {}", FlowName::list()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in FlowName::ALL {
            assert_eq!(f.as_str().parse::<FlowName>().unwrap(), f);
            assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{f}\""));
        }
        assert!("shipping".parse::<FlowName>().is_err());
    }
}

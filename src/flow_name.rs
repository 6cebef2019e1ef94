//! The flows' contract names: config keys (`[schedules] <flow>` and `<flow>_<mode>`), routes
//! (`/v1/sync/{flow}/run`), record and run fields. A leaf: it imports nothing from the crate.

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

    /// The flow's run modes, narrowest first. The first is what an unqualified run, a tick of
    /// `[schedules] <flow>`, a start-up run and a webhook use; pending follow-ups collapse to the
    /// later of two modes in this list.
    pub fn modes(self) -> &'static [&'static str] {
        match self {
            FlowName::Inventory => &["delta", "full", "reconcile"],
            FlowName::Orders
            | FlowName::Shipments
            | FlowName::Invoices
            | FlowName::Cancellations
            | FlowName::Reference => &["default"],
        }
    }

    /// The flow's first (narrowest) mode.
    pub fn default_mode(self) -> Mode {
        Mode {
            flow: self,
            index: 0,
        }
    }

    /// The flow's mode named `name`, or an error naming the modes it has.
    pub fn mode(self, name: &str) -> Result<Mode, String> {
        self.modes()
            .iter()
            .position(|m| *m == name)
            .map(|index| Mode { flow: self, index })
            .ok_or_else(|| {
                format!(
                    "unknown mode {name:?}: flow {self} has modes: {}",
                    self.modes().join(", ")
                )
            })
    }
}

/// One run mode of one flow, valid by construction (made only by [`FlowName::mode`] and
/// [`FlowName::default_mode`]). Modes of one flow order as the flow lists them, narrowest first,
/// so the wider of two is their `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mode {
    flow: FlowName,
    index: usize,
}

impl Mode {
    pub fn flow(self) -> FlowName {
        self.flow
    }

    pub fn as_str(self) -> &'static str {
        self.flow.modes()[self.index]
    }

    /// Whether this is the flow's first mode (what `[schedules] <flow>` and unqualified runs use).
    pub fn is_default(self) -> bool {
        self.index == 0
    }

    /// Its `[schedules]` key: `<flow>` for the flow's first mode, `<flow>_<mode>` for the others
    /// (`inventory`, `inventory_full`).
    pub fn schedule_key(self) -> String {
        if self.is_default() {
            self.flow.as_str().to_owned()
        } else {
            format!("{}_{}", self.flow, self.as_str())
        }
    }

    /// The later of two modes of the same flow in the flow's list (what pending follow-ups
    /// collapse to).
    pub fn wider(self, other: Mode) -> Mode {
        debug_assert_eq!(self.flow, other.flow, "modes of different flows");
        self.max(other)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

    #[test]
    fn modes_parse_per_flow_and_the_wider_wins() {
        for f in FlowName::ALL {
            assert_eq!(f.default_mode().as_str(), f.modes()[0]);
            for m in f.modes() {
                assert_eq!(f.mode(m).unwrap().as_str(), *m);
            }
        }
        assert_eq!(FlowName::Orders.default_mode().as_str(), "default");
        assert_eq!(FlowName::Inventory.default_mode().as_str(), "delta");
        let err = FlowName::Shipments.mode("full").unwrap_err();
        assert!(err.contains("flow shipments has modes: default"), "{err}");
        let err = FlowName::Inventory.mode("everything").unwrap_err();
        assert!(
            err.contains("flow inventory has modes: delta, full, reconcile"),
            "{err}"
        );
        let inv = |m| FlowName::Inventory.mode(m).unwrap();
        assert_eq!(inv("full").wider(inv("delta")), inv("full"));
        assert_eq!(inv("delta").wider(inv("reconcile")), inv("reconcile"));
        assert_eq!(inv("delta").wider(inv("delta")), inv("delta"));
        assert_eq!(inv("delta").schedule_key(), "inventory");
        assert_eq!(inv("full").schedule_key(), "inventory_full");
        assert_eq!(FlowName::Orders.default_mode().schedule_key(), "orders");
    }
}

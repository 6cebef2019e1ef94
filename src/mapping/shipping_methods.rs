//! Shipping methods, both directions. `orders` rows turn a DSCO order's
//! `shippingServiceLevelCode` (or its carrier + method when it has no code; the `requested…`
//! fields only as a fallback) into a Brightpearl shipping method; `shipments` rows turn a
//! Brightpearl method into the DSCO codes a shipment sends, which must be in the uploaded
//! ship-methods list when that list is not empty; `both` rows do both.
//!
//! Rules across rows: a DSCO code (or carrier + method) maps to one Brightpearl method for
//! orders, and a Brightpearl method sends one set of DSCO codes for shipments.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{CheckContext, MappingKind, MappingRow, RowError, normalize, positive_id};
use crate::store::{self, ReadTx};

/// Which direction a row serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Use {
    Orders,
    Shipments,
    Both,
}

impl Use {
    pub fn as_str(self) -> &'static str {
        match self {
            Use::Orders => "orders",
            Use::Shipments => "shipments",
            Use::Both => "both",
        }
    }

    pub fn for_orders(self) -> bool {
        matches!(self, Use::Orders | Use::Both)
    }

    pub fn for_shipments(self) -> bool {
        matches!(self, Use::Shipments | Use::Both)
    }
}

/// A shipping-method mapping: CSV
/// `use,dsco_service_level_code,dsco_ship_carrier,dsco_ship_method,brightpearl_shipping_method_id`;
/// the key is the first four columns joined by `|`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShippingMethodMapping {
    #[serde(rename = "use")]
    pub use_for: Use,
    pub dsco_service_level_code: String,
    pub dsco_ship_carrier: String,
    pub dsco_ship_method: String,
    pub brightpearl_shipping_method_id: u32,
}

impl ShippingMethodMapping {
    /// What identifies the DSCO side: the code, or carrier + method when there is no code.
    fn dsco_side(&self) -> String {
        if self.dsco_service_level_code.is_empty() {
            format!(
                "carrier {:?} + method {:?}",
                self.dsco_ship_carrier, self.dsco_ship_method
            )
        } else {
            format!("service level code {:?}", self.dsco_service_level_code)
        }
    }

    fn order_key(&self) -> (String, String, String) {
        if self.dsco_service_level_code.is_empty() {
            (
                String::new(),
                normalize(&self.dsco_ship_carrier),
                normalize(&self.dsco_ship_method),
            )
        } else {
            (
                normalize(&self.dsco_service_level_code),
                String::new(),
                String::new(),
            )
        }
    }
}

impl MappingRow for ShippingMethodMapping {
    const KIND: MappingKind = MappingKind::ShippingMethods;
    const COLUMNS: &'static [&'static str] = &[
        "use",
        "dsco_service_level_code",
        "dsco_ship_carrier",
        "dsco_ship_method",
        "brightpearl_shipping_method_id",
    ];
    const KEY_COLUMNS: usize = 4;

    fn from_values(values: &[String]) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let use_for = match values[0].to_lowercase().as_str() {
            "orders" => Use::Orders,
            "shipments" => Use::Shipments,
            "both" => Use::Both,
            "" => {
                problems.push("use is empty; expected orders, shipments or both".into());
                Use::Orders
            }
            other => {
                problems.push(format!(
                    "use {other:?} is not one of orders, shipments, both"
                ));
                Use::Orders
            }
        };
        for (column, value) in Self::COLUMNS[1..4].iter().zip(&values[1..4]) {
            if value.contains('|') {
                problems.push(format!("{column} must not contain |"));
            }
        }
        let (code, carrier, method) = (&values[1], &values[2], &values[3]);
        if code.is_empty() && (carrier.is_empty() || method.is_empty()) {
            problems.push(
                "give dsco_service_level_code, or both dsco_ship_carrier and dsco_ship_method"
                    .into(),
            );
        }
        let brightpearl_shipping_method_id =
            positive_id("brightpearl_shipping_method_id", &values[4], &mut problems);
        if problems.is_empty() {
            Ok(ShippingMethodMapping {
                use_for,
                dsco_service_level_code: code.clone(),
                dsco_ship_carrier: carrier.clone(),
                dsco_ship_method: method.clone(),
                brightpearl_shipping_method_id,
            })
        } else {
            Err(problems)
        }
    }

    fn to_values(&self) -> Vec<String> {
        vec![
            self.use_for.as_str().to_owned(),
            self.dsco_service_level_code.clone(),
            self.dsco_ship_carrier.clone(),
            self.dsco_ship_method.clone(),
            self.brightpearl_shipping_method_id.to_string(),
        ]
    }

    fn check(&self, ctx: &CheckContext) -> Vec<String> {
        let mut problems = Vec::new();
        if !ctx
            .shipping_method_ids
            .contains(&self.brightpearl_shipping_method_id)
        {
            problems.push(format!(
                "unknown Brightpearl shipping method {}",
                self.brightpearl_shipping_method_id
            ));
        }
        if self.use_for.for_shipments()
            && !self.dsco_service_level_code.is_empty()
            && ctx
                .order_only_service_levels
                .contains(&normalize(&self.dsco_service_level_code))
        {
            problems.push(format!(
                "DSCO service level code {:?} is order-only (shipments.order_only_service_levels): \
                 DSCO refuses it on a package; map it with use \"orders\" and give shipments a \
                 package-level code",
                self.dsco_service_level_code
            ));
        }
        let list_known =
            !ctx.dsco_service_level_codes.is_empty() || !ctx.dsco_carrier_methods.is_empty();
        if self.use_for.for_shipments() && list_known {
            let known = if self.dsco_service_level_code.is_empty() {
                ctx.dsco_carrier_methods.contains(&(
                    normalize(&self.dsco_ship_carrier),
                    normalize(&self.dsco_ship_method),
                ))
            } else {
                ctx.dsco_service_level_codes
                    .contains(&normalize(&self.dsco_service_level_code))
            };
            if !known {
                problems.push(format!(
                    "unknown DSCO {} (not in the DSCO ship-methods list)",
                    self.dsco_side()
                ));
            }
        }
        problems
    }

    fn check_across(rows: &[(u64, Self)], others: &[Self]) -> Vec<RowError> {
        let mut problems = Vec::new();
        let mut orders: HashMap<(String, String, String), String> = HashMap::new();
        let mut shipments: HashMap<u32, String> = HashMap::new();
        for other in others {
            let place = format!("the stored mapping {:?}", other.key());
            if other.use_for.for_orders() {
                orders.insert(other.order_key(), place.clone());
            }
            if other.use_for.for_shipments() {
                shipments.insert(other.brightpearl_shipping_method_id, place);
            }
        }
        for (line, row) in rows {
            let place = if *line == 0 {
                "another mapping".to_owned()
            } else {
                format!("line {line}")
            };
            if row.use_for.for_orders() {
                match orders.get(&row.order_key()) {
                    Some(first) => problems.push(RowError::new(
                        *line,
                        format!(
                            "DSCO {} is already mapped for orders by {first}",
                            row.dsco_side()
                        ),
                    )),
                    None => {
                        orders.insert(row.order_key(), place.clone());
                    }
                }
            }
            if row.use_for.for_shipments() {
                match shipments.get(&row.brightpearl_shipping_method_id) {
                    Some(first) => problems.push(RowError::new(
                        *line,
                        format!(
                            "Brightpearl shipping method {} already has DSCO codes for shipments by {first}",
                            row.brightpearl_shipping_method_id
                        ),
                    )),
                    None => {
                        shipments.insert(row.brightpearl_shipping_method_id, place);
                    }
                }
            }
        }
        problems
    }
}

/// A DSCO order's shipping fields, as the order carries them.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderShipping<'a> {
    pub service_level_code: Option<&'a str>,
    pub carrier: Option<&'a str>,
    pub method: Option<&'a str>,
    pub requested_service_level_code: Option<&'a str>,
    pub requested_carrier: Option<&'a str>,
    pub requested_method: Option<&'a str>,
}

/// Every shipping-method mapping, indexed both ways.
#[derive(Debug, Clone, Default)]
pub struct ShippingMethodMap {
    by_code: HashMap<String, u32>,
    by_carrier_method: HashMap<(String, String), u32>,
    for_shipment: HashMap<u32, (String, String, String)>,
}

fn present(value: Option<&str>) -> Option<String> {
    value.map(normalize).filter(|v| !v.is_empty())
}

impl ShippingMethodMap {
    pub fn new(rows: &[ShippingMethodMapping]) -> ShippingMethodMap {
        let mut map = ShippingMethodMap::default();
        for row in rows {
            let id = row.brightpearl_shipping_method_id;
            if row.use_for.for_orders() {
                if row.dsco_service_level_code.is_empty() {
                    map.by_carrier_method.insert(
                        (
                            normalize(&row.dsco_ship_carrier),
                            normalize(&row.dsco_ship_method),
                        ),
                        id,
                    );
                } else {
                    map.by_code
                        .insert(normalize(&row.dsco_service_level_code), id);
                }
            }
            if row.use_for.for_shipments() {
                map.for_shipment.insert(
                    id,
                    (
                        row.dsco_service_level_code.clone(),
                        row.dsco_ship_carrier.clone(),
                        row.dsco_ship_method.clone(),
                    ),
                );
            }
        }
        map
    }

    pub fn load(tx: &ReadTx) -> Result<ShippingMethodMap, store::Error> {
        let rows: Vec<ShippingMethodMapping> = tx
            .mappings(MappingKind::ShippingMethods.as_str())?
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        Ok(ShippingMethodMap::new(&rows))
    }

    fn lookup(
        &self,
        code: Option<&str>,
        carrier: Option<&str>,
        method: Option<&str>,
    ) -> Option<u32> {
        if let Some(code) = present(code) {
            return self.by_code.get(&code).copied();
        }
        match (present(carrier), present(method)) {
            (Some(c), Some(m)) => self.by_carrier_method.get(&(c, m)).copied(),
            _ => None,
        }
    }

    /// The Brightpearl shipping method for a DSCO order: by its service level code, or carrier +
    /// method when it has no code; the `requested…` fields only when that finds nothing.
    pub fn for_order(&self, order: &OrderShipping<'_>) -> Option<u32> {
        self.lookup(order.service_level_code, order.carrier, order.method)
            .or_else(|| {
                self.lookup(
                    order.requested_service_level_code,
                    order.requested_carrier,
                    order.requested_method,
                )
            })
    }

    /// Every Brightpearl method a shipment can be sent with, and its DSCO codes.
    pub fn shipment_rows(&self) -> impl Iterator<Item = (u32, (&str, &str, &str))> {
        self.for_shipment
            .iter()
            .map(|(id, (a, b, c))| (*id, (a.as_str(), b.as_str(), c.as_str())))
    }

    /// The DSCO `(service level code, carrier, method)` a shipment sent with this Brightpearl
    /// method carries; empty strings for parts the mapping leaves out.
    pub fn for_shipment(&self, brightpearl_shipping_method_id: u32) -> Option<(&str, &str, &str)> {
        self.for_shipment
            .get(&brightpearl_shipping_method_id)
            .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        use_for: Use,
        code: &str,
        carrier: &str,
        method: &str,
        id: u32,
    ) -> ShippingMethodMapping {
        ShippingMethodMapping {
            use_for,
            dsco_service_level_code: code.into(),
            dsco_ship_carrier: carrier.into(),
            dsco_ship_method: method.into(),
            brightpearl_shipping_method_id: id,
        }
    }

    #[test]
    fn orders_resolve_by_code_then_carrier_method_then_requested_fields() {
        let map = ShippingMethodMap::new(&[
            row(Use::Orders, "GCG", "", "", 1),
            row(Use::Both, "", "USPS", "Ground Advantage", 2),
            row(Use::Shipments, "FEDX", "FedEx", "Home", 3),
        ]);
        let order = |code, carrier, method| OrderShipping {
            service_level_code: code,
            carrier,
            method,
            ..Default::default()
        };
        assert_eq!(map.for_order(&order(Some("gcg"), None, None)), Some(1));
        assert_eq!(
            map.for_order(&order(None, Some("usps"), Some("ground advantage"))),
            Some(2)
        );
        // A code that is not mapped does not fall back to the order's own carrier + method.
        assert_eq!(
            map.for_order(&order(Some("ZZZ"), Some("USPS"), Some("Ground Advantage"))),
            None
        );
        // Shipment-only rows do not map orders.
        assert_eq!(map.for_order(&order(Some("FEDX"), None, None)), None);
        let fallback = OrderShipping {
            service_level_code: Some("ZZZ"),
            requested_service_level_code: Some("GCG"),
            ..Default::default()
        };
        assert_eq!(map.for_order(&fallback), Some(1));
        assert_eq!(map.for_shipment(3), Some(("FEDX", "FedEx", "Home")));
        assert_eq!(map.for_shipment(2), Some(("", "USPS", "Ground Advantage")));
        assert_eq!(map.for_shipment(1), None);
    }

    #[test]
    fn rows_need_a_code_or_carrier_and_method_and_a_known_use() {
        let values = |v: [&str; 5]| v.map(str::to_owned);
        assert!(
            ShippingMethodMapping::from_values(&values(["orders", "", "USPS", "", "1"])).is_err()
        );
        let errors =
            ShippingMethodMapping::from_values(&values(["later", "A|B", "", "", "0"])).unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(ShippingMethodMapping::from_values(&values(["Both", "GCG", "", "", "4"])).is_ok());
    }

    #[test]
    fn one_brightpearl_method_per_shipment_and_one_method_per_dsco_code() {
        let rows = vec![
            (2, row(Use::Shipments, "A", "", "", 5)),
            (3, row(Use::Both, "B", "", "", 5)),
            (4, row(Use::Orders, "b", "", "", 6)),
        ];
        let errors =
            ShippingMethodMapping::check_across(&rows, &[row(Use::Orders, "C", "", "", 7)]);
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4], "{errors:?}");
        let errors = ShippingMethodMapping::check_across(
            &[(2, row(Use::Orders, "C", "", "", 8))],
            &[row(Use::Orders, "C", "", "", 7)],
        );
        assert!(errors[0].message.contains("stored mapping"), "{errors:?}");
    }

    #[test]
    fn shipment_codes_must_be_in_the_ship_methods_list_when_it_is_known() {
        let mut ctx = CheckContext {
            shipping_method_ids: [5].into_iter().collect(),
            ..Default::default()
        };
        assert!(row(Use::Shipments, "ANY", "", "", 5).check(&ctx).is_empty());
        ctx.dsco_service_level_codes.insert("gcg".into());
        assert!(row(Use::Shipments, "GCG", "", "", 5).check(&ctx).is_empty());
        assert_eq!(row(Use::Both, "XYZ", "", "", 5).check(&ctx).len(), 1);
        assert!(row(Use::Orders, "XYZ", "", "", 5).check(&ctx).is_empty());
        assert_eq!(row(Use::Orders, "XYZ", "", "", 6).check(&ctx).len(), 1);
    }
}

//! Which items are published (pure): (a) every manual item mapping; (b) when
//! `items.dsco_match_field` is `sku`, every catalog product with a value of
//! `items.brightpearl_match_field`, published with that value as its `sku`; (c) every DSCO item
//! seen on an order whose automatic match is unique. A SKU is published once, by the first rule
//! that names it. A product reached by several SKUs: with `shared_product = "first"` the lowest
//! SKU gets the quantity and the others 0.

use std::collections::{BTreeMap, BTreeSet};

use crate::mapping::items::{DscoItemIds, ItemMapping, ItemMatcher, Resolution, product_field};
use crate::reference::{CatalogProduct, DscoItem};
use crate::settings::{DscoMatchField, ItemsSettings};

/// One published item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The DSCO SKU as published.
    pub sku: String,
    pub product_id: u32,
    /// `item_mapping`, `catalog` or `seen_on_order`.
    pub rule: &'static str,
    /// Another SKU of the same product gets its quantity (`shared_product = "first"`): 0 here.
    pub shared_with: Option<String>,
}

/// The published items, by lower-cased SKU.
pub fn published(
    manual: &[ItemMapping],
    catalog: &[CatalogProduct],
    seen: &[DscoItem],
    settings: &ItemsSettings,
    matcher: &ItemMatcher,
    first_gets_all: bool,
    skipped: &BTreeSet<String>,
) -> BTreeMap<String, Published> {
    let mut out: BTreeMap<String, Published> = BTreeMap::new();
    let mut add = |sku: &str, product_id: u32, rule: &'static str| {
        let sku = sku.trim();
        if sku.is_empty() {
            return;
        }
        out.entry(sku.to_lowercase()).or_insert(Published {
            sku: sku.to_owned(),
            product_id,
            rule,
            shared_with: None,
        });
    };
    for m in manual {
        add(&m.dsco_sku, m.brightpearl_product_id, "item_mapping");
    }
    if settings.dsco_match_field == DscoMatchField::Sku {
        for p in catalog {
            if let Some(value) = product_field(p, &settings.brightpearl_match_field) {
                add(value, p.id, "catalog");
            }
        }
    }
    for item in seen {
        let ids = DscoItemIds {
            sku: Some(item.sku.clone()),
            upc: item.upc.clone(),
            ean: item.ean.clone(),
            mpn: item.mpn.clone(),
            dsco_item_id: item.dsco_item_id.clone(),
        };
        if let Resolution::Auto(id) = matcher.resolve(&ids) {
            add(&item.sku, id, "seen_on_order");
        }
    }
    if first_gets_all {
        // Product → (key, SKU) of its lowest SKU that DSCO knows (a SKU DSCO dropped as unknown
        // would take the quantity from the one it does know).
        let mut first: BTreeMap<u32, (String, String)> = BTreeMap::new();
        for (key, p) in out.iter().filter(|(k, _)| !skipped.contains(*k)) {
            first
                .entry(p.product_id)
                .or_insert_with(|| (key.clone(), p.sku.clone()));
        }
        let shared: BTreeSet<u32> = {
            let mut count: BTreeMap<u32, usize> = BTreeMap::new();
            for p in out.values() {
                *count.entry(p.product_id).or_default() += 1;
            }
            count
                .into_iter()
                .filter(|(_, n)| *n > 1)
                .map(|(p, _)| p)
                .collect()
        };
        for (key, p) in out.iter_mut() {
            if let Some((first_key, first_sku)) = first.get(&p.product_id)
                && shared.contains(&p.product_id)
                && first_key != key
            {
                p.shared_with = Some(first_sku.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(id: u32, sku: &str) -> CatalogProduct {
        CatalogProduct {
            id,
            sku: Some(sku.into()),
            ..Default::default()
        }
    }

    #[test]
    fn the_three_rules_publish_each_sku_once_and_a_shared_product_once() {
        let settings = ItemsSettings::default();
        let catalog = vec![product(1, "SKU-1"), product(2, "SKU-2"), product(3, "")];
        let manual = vec![ItemMapping {
            dsco_sku: "RETAILER-1".into(),
            brightpearl_product_id: 1,
        }];
        let matcher = ItemMatcher::new(&catalog, &manual, &settings);
        let seen = vec![DscoItem {
            sku: "sku-2".into(),
            upc: None,
            ean: None,
            mpn: None,
            dsco_item_id: None,
            title: None,
            seen_at: chrono::Utc::now(),
        }];
        let out = published(
            &manual,
            &catalog,
            &seen,
            &settings,
            &matcher,
            true,
            &BTreeSet::new(),
        );
        let rules: Vec<(&str, u32, &str)> = out
            .values()
            .map(|p| (p.sku.as_str(), p.product_id, p.rule))
            .collect();
        assert_eq!(
            rules,
            vec![
                ("RETAILER-1", 1, "item_mapping"),
                ("SKU-1", 1, "catalog"),
                ("SKU-2", 2, "catalog")
            ]
        );
        // Product 1 is reached by two SKUs: the lowest ("retailer-1") gets the quantity.
        assert_eq!(out["retailer-1"].shared_with, None);
        assert_eq!(out["sku-1"].shared_with.as_deref(), Some("RETAILER-1"));
        let each = published(
            &manual,
            &catalog,
            &seen,
            &settings,
            &matcher,
            false,
            &BTreeSet::new(),
        );
        assert!(each.values().all(|p| p.shared_with.is_none()));
    }
}

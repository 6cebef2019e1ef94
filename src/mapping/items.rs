//! Items: which Brightpearl product a DSCO order line is. A manual mapping by DSCO `sku` wins;
//! otherwise the DSCO field chosen in `settings.items` is matched against the chosen Brightpearl
//! product field through an in-memory index of the catalog (never one lookup per line).
//! Comparison is trimmed and case-insensitive; leading zeros are kept (a UPC `012345` is not
//! `12345`).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{CheckContext, MappingKind, MappingRow, normalize, positive_id, required};
use crate::reference::CatalogProduct;
use crate::settings::{BrightpearlMatchField, DscoMatchField, ItemsSettings, Settings};
use crate::store::{self, ReadTx};

/// A manual item mapping: CSV `dsco_sku,brightpearl_product_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ItemMapping {
    pub dsco_sku: String,
    pub brightpearl_product_id: u32,
}

impl MappingRow for ItemMapping {
    const KIND: MappingKind = MappingKind::Items;
    const COLUMNS: &'static [&'static str] = &["dsco_sku", "brightpearl_product_id"];
    const KEY_COLUMNS: usize = 1;

    fn from_values(values: &[String]) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let dsco_sku = required("dsco_sku", &values[0], &mut problems);
        let brightpearl_product_id =
            positive_id("brightpearl_product_id", &values[1], &mut problems);
        if problems.is_empty() {
            Ok(ItemMapping {
                dsco_sku,
                brightpearl_product_id,
            })
        } else {
            Err(problems)
        }
    }

    fn to_values(&self) -> Vec<String> {
        vec![
            self.dsco_sku.clone(),
            self.brightpearl_product_id.to_string(),
        ]
    }

    fn check(&self, ctx: &CheckContext) -> Vec<String> {
        if ctx.product_ids.contains(&self.brightpearl_product_id) {
            Vec::new()
        } else {
            vec![format!(
                "unknown Brightpearl product {} (not in the retrieved catalog)",
                self.brightpearl_product_id
            )]
        }
    }

    /// SKUs compare case-insensitively, so the key is the lower-cased SKU.
    fn key(&self) -> String {
        normalize(&self.dsco_sku)
    }

    fn normalize_key(key: &str) -> String {
        normalize(key)
    }
}

/// The identifiers a DSCO order line carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DscoItemIds {
    pub sku: Option<String>,
    pub upc: Option<String>,
    pub ean: Option<String>,
    pub mpn: Option<String>,
    pub dsco_item_id: Option<String>,
}

impl DscoItemIds {
    fn get(&self, field: DscoMatchField) -> Option<&str> {
        match field {
            DscoMatchField::Sku => self.sku.as_deref(),
            DscoMatchField::Upc => self.upc.as_deref(),
            DscoMatchField::Ean => self.ean.as_deref(),
            DscoMatchField::Mpn => self.mpn.as_deref(),
            DscoMatchField::DscoItemId => self.dsco_item_id.as_deref(),
        }
        .filter(|v| !v.trim().is_empty())
    }
}

/// How an order line's product was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// A manual mapping names the product.
    Manual(u32),
    /// Exactly one product matches automatically.
    Auto(u32),
    /// Several products match; a manual mapping must choose.
    Ambiguous(Vec<u32>),
    /// Nothing matches; why, in plain words.
    Unmatched(String),
}

impl Resolution {
    pub fn product_id(&self) -> Option<u32> {
        match self {
            Resolution::Manual(id) | Resolution::Auto(id) => Some(*id),
            _ => None,
        }
    }

    /// `manual`, `auto`, `ambiguous` or `unmatched`.
    pub fn state(&self) -> &'static str {
        match self {
            Resolution::Manual(_) => "manual",
            Resolution::Auto(_) => "auto",
            Resolution::Ambiguous(_) => "ambiguous",
            Resolution::Unmatched(_) => "unmatched",
        }
    }
}

/// Resolves DSCO order lines to Brightpearl products; build once per run.
#[derive(Debug, Clone)]
pub struct ItemMatcher {
    manual: HashMap<String, u32>,
    index: HashMap<String, Vec<u32>>,
    dsco_field: DscoMatchField,
    brightpearl_field: BrightpearlMatchField,
}

/// The value of a product's match field.
pub fn product_field<'p>(
    product: &'p CatalogProduct,
    field: &BrightpearlMatchField,
) -> Option<&'p str> {
    match field {
        BrightpearlMatchField::Sku => product.sku.as_deref(),
        BrightpearlMatchField::Barcode => product.barcode.as_deref(),
        BrightpearlMatchField::Ean => product.ean.as_deref(),
        BrightpearlMatchField::Upc => product.upc.as_deref(),
        BrightpearlMatchField::Mpn => product.mpn.as_deref(),
        BrightpearlMatchField::Isbn => product.isbn.as_deref(),
        BrightpearlMatchField::Custom(code) => product.custom.get(code).map(String::as_str),
    }
    .filter(|v| !v.trim().is_empty())
}

impl ItemMatcher {
    pub fn new(
        catalog: &[CatalogProduct],
        manual: &[ItemMapping],
        settings: &ItemsSettings,
    ) -> ItemMatcher {
        let mut index: HashMap<String, Vec<u32>> = HashMap::with_capacity(catalog.len());
        for product in catalog {
            if let Some(value) = product_field(product, &settings.brightpearl_match_field) {
                let ids = index.entry(normalize(value)).or_default();
                if !ids.contains(&product.id) {
                    ids.push(product.id);
                }
            }
        }
        ItemMatcher {
            manual: manual
                .iter()
                .map(|m| (normalize(&m.dsco_sku), m.brightpearl_product_id))
                .collect(),
            index,
            dsco_field: settings.dsco_match_field,
            brightpearl_field: settings.brightpearl_match_field.clone(),
        }
    }

    /// Build from the stored catalog, item mappings and settings.
    pub fn load(tx: &ReadTx) -> Result<ItemMatcher, store::Error> {
        let settings = Settings::load(tx)?;
        let catalog = tx.catalog()?;
        let manual: Vec<ItemMapping> = tx
            .mappings::<ItemMapping>(MappingKind::Items.as_str())?
            .into_iter()
            .map(|(_, m)| m)
            .collect();
        Ok(ItemMatcher::new(&catalog, &manual, &settings.items))
    }

    pub fn resolve(&self, ids: &DscoItemIds) -> Resolution {
        if let Some(sku) = ids.sku.as_deref()
            && let Some(id) = self.manual.get(&normalize(sku))
        {
            return Resolution::Manual(*id);
        }
        let field = self.dsco_field.as_str();
        let bp_field = String::from(self.brightpearl_field.clone());
        let Some(value) = ids.get(self.dsco_field) else {
            return Resolution::Unmatched(format!(
                "the DSCO item has no {field} to match on, and no manual mapping"
            ));
        };
        match self.index.get(&normalize(value)).map(Vec::as_slice) {
            Some([one]) => Resolution::Auto(*one),
            Some(many) if !many.is_empty() => {
                let mut ids = many.to_vec();
                ids.sort_unstable();
                Resolution::Ambiguous(ids)
            }
            _ => Resolution::Unmatched(format!(
                "no Brightpearl product has {bp_field} {:?} (DSCO {field})",
                value.trim()
            )),
        }
    }

    /// The products whose match field equals `value` (for views of candidates).
    pub fn candidates(&self, value: &str) -> &[u32] {
        self.index.get(&normalize(value)).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn product(id: u32) -> CatalogProduct {
        CatalogProduct {
            id,
            name: format!("P{id}"),
            ..Default::default()
        }
    }

    fn catalog() -> Vec<CatalogProduct> {
        vec![
            CatalogProduct {
                sku: Some("EX-001".into()),
                barcode: Some("0001234".into()),
                ean: Some("5012345678900".into()),
                upc: Some("012345678905".into()),
                mpn: Some("MPN-1".into()),
                isbn: Some("978-1".into()),
                custom: BTreeMap::from([("PCF_DSCO".into(), "1296600001".into())]),
                ..product(1)
            },
            CatalogProduct {
                sku: Some("ex-002".into()),
                mpn: Some("MPN-SHARED".into()),
                ..product(2)
            },
            CatalogProduct {
                sku: Some("EX-003".into()),
                mpn: Some("mpn-shared ".into()),
                ..product(3)
            },
        ]
    }

    fn ids(sku: &str) -> DscoItemIds {
        DscoItemIds {
            sku: Some(sku.into()),
            ..Default::default()
        }
    }

    fn matcher(
        dsco: DscoMatchField,
        bp: BrightpearlMatchField,
        manual: &[ItemMapping],
    ) -> ItemMatcher {
        ItemMatcher::new(
            &catalog(),
            manual,
            &ItemsSettings {
                dsco_match_field: dsco,
                brightpearl_match_field: bp,
            },
        )
    }

    #[test]
    fn each_match_field_pair_finds_its_product() {
        let line = DscoItemIds {
            sku: Some(" ex-001 ".into()),
            upc: Some("012345678905".into()),
            ean: Some("5012345678900".into()),
            mpn: Some("mpn-1".into()),
            dsco_item_id: Some("1296600001".into()),
        };
        let cases = [
            (DscoMatchField::Sku, BrightpearlMatchField::Sku),
            (DscoMatchField::Upc, BrightpearlMatchField::Upc),
            (DscoMatchField::Ean, BrightpearlMatchField::Ean),
            (DscoMatchField::Mpn, BrightpearlMatchField::Mpn),
            (
                DscoMatchField::DscoItemId,
                BrightpearlMatchField::Custom("PCF_DSCO".into()),
            ),
            (DscoMatchField::Upc, BrightpearlMatchField::Barcode),
        ];
        for (dsco, bp) in cases {
            let expected = if bp == BrightpearlMatchField::Barcode {
                // The barcode is 0001234, which no DSCO upc on this line equals.
                Resolution::Unmatched(String::new())
            } else {
                Resolution::Auto(1)
            };
            let got = matcher(dsco, bp.clone(), &[]).resolve(&line);
            match expected {
                Resolution::Unmatched(_) => assert!(
                    matches!(got, Resolution::Unmatched(_)),
                    "{dsco:?}/{bp:?}: {got:?}"
                ),
                e => assert_eq!(got, e, "{dsco:?}/{bp:?}"),
            }
        }
        let isbn = matcher(DscoMatchField::Mpn, BrightpearlMatchField::Isbn, &[]);
        let line = DscoItemIds {
            mpn: Some("978-1".into()),
            ..Default::default()
        };
        assert_eq!(isbn.resolve(&line), Resolution::Auto(1));
    }

    #[test]
    fn leading_zeros_matter() {
        let m = matcher(DscoMatchField::Upc, BrightpearlMatchField::Upc, &[]);
        let line = DscoItemIds {
            upc: Some("12345678905".into()),
            ..Default::default()
        };
        assert!(matches!(m.resolve(&line), Resolution::Unmatched(_)));
    }

    #[test]
    fn a_manual_mapping_overrides_the_automatic_match() {
        let manual = [ItemMapping {
            dsco_sku: "EX-001".into(),
            brightpearl_product_id: 3,
        }];
        let m = matcher(DscoMatchField::Sku, BrightpearlMatchField::Sku, &manual);
        assert_eq!(m.resolve(&ids("ex-001")), Resolution::Manual(3));
        assert_eq!(m.resolve(&ids("EX-002")), Resolution::Auto(2));
    }

    #[test]
    fn several_candidates_are_ambiguous_and_none_is_unmatched_with_a_reason() {
        let m = matcher(DscoMatchField::Mpn, BrightpearlMatchField::Mpn, &[]);
        let line = DscoItemIds {
            sku: Some("X".into()),
            mpn: Some("MPN-shared".into()),
            ..Default::default()
        };
        assert_eq!(m.resolve(&line), Resolution::Ambiguous(vec![2, 3]));
        let Resolution::Unmatched(why) = m.resolve(&ids("X")) else {
            panic!("expected unmatched");
        };
        assert!(why.contains("no mpn"), "{why}");
        let line = DscoItemIds {
            mpn: Some("nothing".into()),
            ..Default::default()
        };
        let Resolution::Unmatched(why) = m.resolve(&line) else {
            panic!("expected unmatched");
        };
        assert!(
            why.contains("no Brightpearl product has MPN \"nothing\""),
            "{why}"
        );
    }
}

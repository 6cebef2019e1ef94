//! Reference data: the Brightpearl reference data and product catalog, DSCO's warehouse and
//! ship-method lists, and the DSCO items and retailers seen on orders.

use redb::{ReadableTable, ReadableTableMetadata};

use super::error::{Error, decode, encode};
use super::tables::{DSCO_RETAILER_ID_TO_RETAILER, DSCO_SKU_TO_ITEM, PRODUCT_ID_TO_PRODUCT};
use super::tx::{Reads, Tx, WriteTx};
use crate::reference::{
    CatalogProduct, DscoItem, DscoShipMethod, DscoWarehouse, ReferenceData, Retailer,
};

/// Document names in `NAME_TO_DOCUMENT`.
pub const REFERENCE_DOCUMENT: &str = "reference";
pub const DSCO_WAREHOUSES_DOCUMENT: &str = "dsco.warehouses";
pub const DSCO_SHIP_METHODS_DOCUMENT: &str = "dsco.ship_methods";

impl<T: Reads> Tx<T> {
    /// The Brightpearl reference data; `None` before the first retrieval.
    pub fn reference_data(&self) -> Result<Option<ReferenceData>, Error> {
        self.document(REFERENCE_DOCUMENT)
    }

    /// The whole product catalog, in product-id order.
    pub fn catalog(&self) -> Result<Vec<CatalogProduct>, Error> {
        let table = self.table(PRODUCT_ID_TO_PRODUCT)?;
        let mut out = Vec::with_capacity(table.len().map_err(Error::db)? as usize);
        for entry in table.iter().map_err(Error::db)? {
            let (_, v) = entry.map_err(Error::db)?;
            out.push(decode("products", v.value())?);
        }
        Ok(out)
    }

    /// Product ids of the catalog, without decoding the products.
    pub fn product_ids(&self) -> Result<Vec<u32>, Error> {
        let table = self.table(PRODUCT_ID_TO_PRODUCT)?;
        let mut out = Vec::with_capacity(table.len().map_err(Error::db)? as usize);
        for entry in table.iter().map_err(Error::db)? {
            out.push(entry.map_err(Error::db)?.0.value());
        }
        Ok(out)
    }

    pub fn product(&self, id: u32) -> Result<Option<CatalogProduct>, Error> {
        let table = self.table(PRODUCT_ID_TO_PRODUCT)?;
        match table.get(id).map_err(Error::db)? {
            Some(v) => Ok(Some(decode("products", v.value())?)),
            None => Ok(None),
        }
    }

    /// Products with an id above `after`, at most `limit`, optionally only those whose SKU equals
    /// `sku` (trimmed, case-insensitive).
    pub fn products(
        &self,
        after: Option<u32>,
        limit: usize,
        sku: Option<&str>,
    ) -> Result<Vec<CatalogProduct>, Error> {
        let table = self.table(PRODUCT_ID_TO_PRODUCT)?;
        let start = after.map_or(0, |a| a.saturating_add(1));
        let mut out = Vec::new();
        if after == Some(u32::MAX) {
            return Ok(out);
        }
        let wanted = sku.map(|s| s.trim().to_lowercase());
        for entry in table.range(start..).map_err(Error::db)? {
            if out.len() >= limit {
                break;
            }
            let (_, v) = entry.map_err(Error::db)?;
            let product: CatalogProduct = decode("products", v.value())?;
            if let Some(wanted) = &wanted
                && product
                    .sku
                    .as_deref()
                    .map(|s| s.trim().to_lowercase())
                    .as_ref()
                    != Some(wanted)
            {
                continue;
            }
            out.push(product);
        }
        Ok(out)
    }

    pub fn product_count(&self) -> Result<u64, Error> {
        let table = self.table(PRODUCT_ID_TO_PRODUCT)?;
        table.len().map_err(Error::db)
    }

    /// DSCO items seen, in SKU order.
    pub fn dsco_items(&self) -> Result<Vec<DscoItem>, Error> {
        let table = self.table(DSCO_SKU_TO_ITEM)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(Error::db)? {
            out.push(decode("dsco_items", entry.map_err(Error::db)?.1.value())?);
        }
        Ok(out)
    }

    /// DSCO retailers seen, in id order.
    pub fn retailers(&self) -> Result<Vec<Retailer>, Error> {
        let table = self.table(DSCO_RETAILER_ID_TO_RETAILER)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(Error::db)? {
            out.push(decode(
                "dsco_retailers",
                entry.map_err(Error::db)?.1.value(),
            )?);
        }
        Ok(out)
    }

    /// The supplier's DSCO warehouses (empty until uploaded or refreshed).
    pub fn dsco_warehouses(&self) -> Result<Vec<DscoWarehouse>, Error> {
        Ok(self.document(DSCO_WAREHOUSES_DOCUMENT)?.unwrap_or_default())
    }

    /// The ship methods the retailers accept (empty until uploaded).
    pub fn dsco_ship_methods(&self) -> Result<Vec<DscoShipMethod>, Error> {
        Ok(self
            .document(DSCO_SHIP_METHODS_DOCUMENT)?
            .unwrap_or_default())
    }
}

impl WriteTx<'_> {
    pub fn put_reference_data(&self, reference: &ReferenceData) -> Result<(), Error> {
        self.put_document(REFERENCE_DOCUMENT, reference)
    }

    /// Replace the whole product catalog.
    pub fn replace_catalog(&self, products: &[CatalogProduct]) -> Result<(), Error> {
        self.tx
            .delete_table(PRODUCT_ID_TO_PRODUCT)
            .map_err(Error::db)?;
        let mut table = self.table_mut(PRODUCT_ID_TO_PRODUCT)?;
        for product in products {
            table
                .insert(product.id, encode(product).as_slice())
                .map_err(Error::db)?;
        }
        Ok(())
    }

    /// Remember a DSCO item seen on an order line (the latest sighting wins).
    pub fn note_dsco_item(&self, item: &DscoItem) -> Result<(), Error> {
        let sku = item.sku.trim();
        if sku.is_empty() {
            return Ok(());
        }
        let mut table = self.table_mut(DSCO_SKU_TO_ITEM)?;
        table
            .insert(sku, encode(item).as_slice())
            .map_err(Error::db)?;
        Ok(())
    }

    /// Remember a DSCO retailer seen on an order; a known name is kept when `name` is `None`.
    pub fn note_retailer(&self, dsco_retailer_id: &str, name: Option<&str>) -> Result<(), Error> {
        let id = dsco_retailer_id.trim();
        if id.is_empty() {
            return Ok(());
        }
        let now = self.now();
        let mut table = self.table_mut(DSCO_RETAILER_ID_TO_RETAILER)?;
        let existing: Option<Retailer> = match table.get(id).map_err(Error::db)? {
            Some(v) => Some(decode("dsco_retailers", v.value())?),
            None => None,
        };
        let retailer = match existing {
            Some(r) => Retailer {
                name: name.map(str::to_owned).or(r.name),
                last_seen_at: now,
                ..r
            },
            None => Retailer {
                dsco_retailer_id: id.to_owned(),
                name: name.map(str::to_owned),
                first_seen_at: now,
                last_seen_at: now,
            },
        };
        table
            .insert(id, encode(&retailer).as_slice())
            .map_err(Error::db)?;
        Ok(())
    }

    pub fn replace_dsco_warehouses(&self, warehouses: &[DscoWarehouse]) -> Result<(), Error> {
        self.put_document(DSCO_WAREHOUSES_DOCUMENT, &warehouses)
    }

    pub fn replace_dsco_ship_methods(&self, methods: &[DscoShipMethod]) -> Result<(), Error> {
        self.put_document(DSCO_SHIP_METHODS_DOCUMENT, &methods)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::store::db::Store;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb")).unwrap();
        (dir, store)
    }

    fn product(id: u32, sku: &str) -> CatalogProduct {
        CatalogProduct {
            id,
            name: format!("Product {id}"),
            sku: Some(sku.into()),
            prices: BTreeMap::from([(1, "9.99".into())]),
            ..Default::default()
        }
    }

    #[test]
    fn catalog_is_replaced_whole_and_paged_by_id() {
        let (_d, s) = store();
        s.write(|tx| tx.replace_catalog(&[product(3, "C"), product(1, "A"), product(2, "B")]))
            .unwrap();
        s.write(|tx| tx.replace_catalog(&[product(2, "B"), product(5, "E"), product(4, "d")]))
            .unwrap();
        s.read(|tx| {
            assert_eq!(tx.product_ids()?, vec![2, 4, 5]);
            assert_eq!(tx.catalog()?.len(), 3);
            assert_eq!(tx.product(1)?, None);
            let page = tx.products(Some(2), 1, None)?;
            assert_eq!(page[0].id, 4);
            assert_eq!(tx.products(None, 10, Some(" D "))?[0].id, 4);
            assert!(tx.products(Some(u32::MAX), 10, None)?.is_empty());
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn retailers_keep_their_first_sighting_and_known_name() {
        let (_d, s) = store();
        s.write(|tx| tx.note_retailer("R1", Some("Acme"))).unwrap();
        s.write(|tx| tx.note_retailer("R1", None)).unwrap();
        let retailers = s.read(|tx| tx.retailers()).unwrap();
        assert_eq!(retailers.len(), 1);
        assert_eq!(retailers[0].name.as_deref(), Some("Acme"));
        assert!(retailers[0].last_seen_at >= retailers[0].first_seen_at);
    }
}

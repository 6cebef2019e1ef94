//! The demo world both simulators seed from, so a DSCO item and a Brightpearl product of the same
//! index share identifiers, except where a mismatch is planted on purpose.
//!
//! Planted problems (by product index, 1-based):
//! - every 40th product (40, 80, ...) exists only on DSCO: no Brightpearl product has its SKU;
//! - every 50th product (50, 100, ...) shares its barcode with the next product in Brightpearl
//!   (an ambiguous barcode match);
//! - every 30th product (30, 60, ...) has a different UPC on DSCO than in Brightpearl.

/// One product of the demo catalog, as both sides know it.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoProduct {
    pub index: u32,
    pub sku: String,
    pub name: String,
    /// Brightpearl's `barcode` and DSCO's `gtin`/`ean` base value.
    pub barcode: String,
    pub ean: String,
    pub upc: String,
    /// The UPC as DSCO knows it (differs for every 30th product).
    pub dsco_upc: String,
    pub mpn: String,
    /// Cost to the retailer (DSCO `expectedCost`), two decimals.
    pub cost: String,
    /// Consumer price, two decimals.
    pub price: String,
    /// Whether Brightpearl has this product (false for every 40th).
    pub in_brightpearl: bool,
}

/// A demo retailer (DSCO trading partner).
#[derive(Debug, Clone, PartialEq)]
pub struct DemoRetailer {
    pub retailer_id: String,
    pub name: String,
}

/// A demo warehouse: Brightpearl's name and the DSCO warehouse code it maps to.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoWarehouse {
    pub name: String,
    pub dsco_code: String,
}

/// The demo catalog of `count` products.
pub fn catalog(count: u32) -> Vec<DemoProduct> {
    (1..=count).map(product).collect()
}

/// Product number `index` (1-based) of the demo catalog.
pub fn product(index: u32) -> DemoProduct {
    let barcode_index = if index.is_multiple_of(50) {
        index + 1
    } else {
        index
    };
    let upc = format!("0{:011}", 880_000_000 + index as u64);
    let dsco_upc = if index.is_multiple_of(30) {
        format!("0{:011}", 990_000_000 + index as u64)
    } else {
        upc.clone()
    };
    let cents = 500 + (index as u64 * 137) % 9_500;
    DemoProduct {
        index,
        sku: format!("SKU-{index:04}"),
        name: format!("Demo product {index}"),
        barcode: format!("50{:011}", 12_000_000 + barcode_index as u64),
        ean: format!("40{:011}", 34_000_000 + index as u64),
        upc,
        dsco_upc,
        mpn: format!("MPN-{index:05}"),
        cost: format!("{}.{:02}", cents / 100, cents % 100),
        price: format!("{}.{:02}", cents * 2 / 100, cents * 2 % 100),
        in_brightpearl: !index.is_multiple_of(40),
    }
}

/// The three demo retailers.
pub fn retailers() -> Vec<DemoRetailer> {
    vec![
        DemoRetailer {
            retailer_id: "1000001".into(),
            name: "Northwind Outfitters".into(),
        },
        DemoRetailer {
            retailer_id: "1000002".into(),
            name: "Blue Harbor Home".into(),
        },
        DemoRetailer {
            retailer_id: "1000003".into(),
            name: "Café Müller Gifts".into(),
        },
    ]
}

/// The three demo warehouses.
pub fn warehouses() -> Vec<DemoWarehouse> {
    vec![
        DemoWarehouse {
            name: "Main Warehouse".into(),
            dsco_code: "WH-MAIN".into(),
        },
        DemoWarehouse {
            name: "East Coast DC".into(),
            dsco_code: "WH-EAST".into(),
        },
        DemoWarehouse {
            name: "West Coast DC".into(),
            dsco_code: "WH-WEST".into(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planted_problems_are_where_the_docs_say() {
        let c = catalog(200);
        assert!(!c[39].in_brightpearl);
        assert_eq!(c[49].barcode, c[50].barcode);
        assert_ne!(c[29].upc, c[29].dsco_upc);
        assert_eq!(c[0].upc, c[0].dsco_upc);
        assert_eq!(c[0].sku, "SKU-0001");
    }
}

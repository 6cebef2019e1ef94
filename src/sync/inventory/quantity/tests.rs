use super::*;
use crate::store::PendingLine;

/// Two DSCO codes: `EAST` fed by Brightpearl warehouses 1 and 2, `WEST` by 3.
fn codes() -> Codes {
    [
        ("EAST".to_owned(), vec![1, 2]),
        ("WEST".to_owned(), vec![3]),
    ]
    .into()
}

fn on_hand() -> OnHand {
    [
        (10, [(1, 4), (2, 3), (3, 5)].into()),
        (11, [(1, 9), (3, 1)].into()),
        (12, [(1, 2)].into()),
    ]
    .into()
}

fn tracked_only(_: u32) -> Stock {
    Stock::Tracked
}

#[test]
fn several_warehouses_add_up_into_their_code() {
    let q = brightpearl_quantity(
        10,
        &Stock::Tracked,
        Untracked::Skip,
        &tracked_only,
        &on_hand(),
        &codes(),
    )
    .unwrap();
    assert_eq!(q, [("EAST".to_owned(), 7), ("WEST".to_owned(), 5)].into());
}

#[test]
fn buffer_floor_and_cap() {
    let bp: BTreeMap<String, i64> = [("EAST".to_owned(), 7), ("WEST".to_owned(), 1)].into();
    let pending: BTreeMap<String, i64> = [("EAST".to_owned(), 2)].into();
    let d = publish(&bp, Some(&pending), 2, Some(2));
    assert_eq!(
        d["EAST"].published, 2,
        "7 - 2 pending - 2 buffer = 3, capped at 2"
    );
    assert_eq!(d["EAST"].pending_orders, 2);
    assert_eq!(d["WEST"].published, 0, "1 - 2 buffer floors at 0");
    let d = publish(&bp, None, 0, None);
    assert_eq!(quantities(&d), bp);
}

#[test]
fn untracked_products_follow_the_setting() {
    let skip = brightpearl_quantity(
        10,
        &Stock::Untracked,
        Untracked::Skip,
        &tracked_only,
        &on_hand(),
        &codes(),
    );
    assert!(skip.unwrap_err().contains("not stock-tracked"));
    let fixed = brightpearl_quantity(
        10,
        &Stock::Untracked,
        Untracked::Quantity(25),
        &tracked_only,
        &on_hand(),
        &codes(),
    )
    .unwrap();
    assert_eq!(
        fixed,
        [("EAST".to_owned(), 25), ("WEST".to_owned(), 25)].into()
    );
    let unknown = brightpearl_quantity(
        10,
        &Stock::Unknown,
        Untracked::Skip,
        &tracked_only,
        &on_hand(),
        &codes(),
    );
    assert!(unknown.unwrap_err().contains("next reference run"));
}

#[test]
fn a_bundle_publishes_how_many_whole_bundles_its_components_make() {
    // Two of product 10 and one of product 11 per bundle.
    let bundle = Stock::Bundle(vec![(10, 2), (11, 1)]);
    let q = brightpearl_quantity(
        99,
        &bundle,
        Untracked::Skip,
        &tracked_only,
        &on_hand(),
        &codes(),
    )
    .unwrap();
    // EAST: 10 has 7 → 3 bundles, 11 has 9 → 9: 3. WEST: 10 has 5 → 2, 11 has 1 → 1: 1.
    assert_eq!(q, [("EAST".to_owned(), 3), ("WEST".to_owned(), 1)].into());
}

fn order(
    id: &str,
    retailer: Option<&str>,
    sku: &str,
    qty: i64,
    code: Option<&str>,
) -> PendingUnits {
    PendingUnits {
        dsco_order_id: id.into(),
        retailer: retailer.map(str::to_owned),
        lines: vec![PendingLine {
            sku: sku.into(),
            quantity: qty,
            warehouse_code: code.map(str::to_owned),
        }],
    }
}

/// SKU-A, SKU-A2 → product 10; SKU-B → 11; BUNDLE → 99 (two of 10 and one of 11).
fn product_of(sku: &str) -> Option<u32> {
    match sku.to_lowercase().as_str() {
        "sku-a" | "sku-a2" => Some(10),
        "sku-b" => Some(11),
        "bundle" => Some(99),
        _ => None,
    }
}

fn components_of(p: u32) -> Option<Vec<(u32, i64)>> {
    (p == 99).then(|| vec![(10, 2), (11, 1)])
}

fn available(p: u32) -> BTreeMap<String, i64> {
    base_quantity(p, &Stock::Tracked, Untracked::Skip, &on_hand(), &codes()).unwrap()
}

#[test]
fn pending_units_come_off_the_code_they_ship_from() {
    let retailer_code = |r: Option<&str>| (r == Some("R2")).then(|| "WEST".to_owned());
    // A mapped line code; the retailer's warehouse; in code order across codes with stock; an
    // unknown line code falls through; another SKU is not ours. Product 10: EAST 7, WEST 5.
    let pending = vec![
        order("1", None, "SKU-A", 1, Some("WEST")),
        order("2", Some("R2"), "SKU-A", 2, None),
        order("3", None, "SKU-A", 8, None),
        order("4", None, "SKU-A", 1, Some("NOWHERE")),
        order("5", None, "OTHER", 50, None),
    ];
    let d = pending_by_product(
        &pending,
        &codes(),
        &retailer_code,
        &product_of,
        &components_of,
        &available,
    );
    // Order 3: EAST has 7 → 7, then 1 from WEST; order 4: EAST is used up (7 of 7), WEST.
    assert_eq!(
        d[&10],
        [("EAST".to_owned(), 7), ("WEST".to_owned(), 1 + 2 + 1 + 1)].into()
    );
    assert_eq!(d.len(), 1);
}

#[test]
fn a_pending_order_lowers_every_item_its_stock_feeds() {
    let none = |_: Option<&str>| None;
    // One order of the second SKU of product 10, one of the bundle.
    let pending = vec![
        order("1", None, "sku-a2", 1, Some("EAST")),
        order("2", None, "BUNDLE", 1, Some("EAST")),
    ];
    let d = pending_by_product(
        &pending,
        &codes(),
        &none,
        &product_of,
        &components_of,
        &available,
    );
    // The bundle order takes two of 10 and one of 11.
    assert_eq!(d[&10], [("EAST".to_owned(), 3)].into());
    assert_eq!(d[&11], [("EAST".to_owned(), 1)].into());
    // SKU-A (product 10): 7 − 3 on EAST. The bundle: 10 has 4 left → 2, 11 has 8 → 8: 2,
    // where 3 whole bundles were there before the orders.
    assert_eq!(less(&available(10), d.get(&10))["EAST"], 4);
    let net = |c: u32| less(&available(c), d.get(&c));
    let left = bundle_quantity(&[(10, 2), (11, 1)], &net, &codes());
    assert_eq!(
        left,
        [("EAST".to_owned(), 2), ("WEST".to_owned(), 1)].into()
    );
}

#[test]
fn a_pending_order_of_a_component_lowers_the_bundle() {
    let none = |_: Option<&str>| None;
    let pending = vec![order("1", None, "SKU-B", 9, Some("EAST"))];
    let d = pending_by_product(
        &pending,
        &codes(),
        &none,
        &product_of,
        &components_of,
        &available,
    );
    let net = |c: u32| less(&available(c), d.get(&c));
    // Product 11 has nothing left on EAST: no bundle there.
    let left = bundle_quantity(&[(10, 2), (11, 1)], &net, &codes());
    assert_eq!(left["EAST"], 0);
}

#[test]
fn the_wire_item_sums_its_codes_and_says_in_or_out_of_stock() {
    let item = item_inventory(
        "A",
        &[("EAST".to_owned(), 2), ("WEST".to_owned(), 0)].into(),
    );
    let wire = serde_json::to_value(&item).unwrap();
    assert_eq!(wire["quantityAvailable"], 2);
    assert_eq!(wire["status"], "in-stock");
    assert_eq!(
        wire["warehouses"][1],
        serde_json::json!({"code": "WEST", "quantity": 0})
    );
    let empty = item_inventory("A", &[("EAST".to_owned(), 0)].into());
    assert_eq!(empty.status.as_deref(), Some("out-of-stock"));
    assert!(!differs(
        &[("EAST".to_owned(), 0)].into(),
        &[("EAST".to_owned(), 0)].into()
    ));
    assert!(differs(&BTreeMap::new(), &[("EAST".to_owned(), 0)].into()));
}

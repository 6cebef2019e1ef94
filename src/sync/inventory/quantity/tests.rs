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

#[test]
fn pending_units_come_off_the_code_they_ship_from() {
    let available: BTreeMap<String, BTreeMap<String, i64>> = [(
        "sku-a".to_owned(),
        [("EAST".to_owned(), 3), ("WEST".to_owned(), 5)].into(),
    )]
    .into();
    let order = |id: &str, retailer: Option<&str>, qty: i64, code: Option<&str>| PendingUnits {
        dsco_order_id: id.into(),
        retailer: retailer.map(str::to_owned),
        lines: vec![PendingLine {
            sku: "SKU-A".into(),
            quantity: qty,
            warehouse_code: code.map(str::to_owned),
        }],
    };
    let retailer_code = |r: Option<&str>| (r == Some("R2")).then(|| "WEST".to_owned());
    // A mapped line code; the retailer's warehouse; in code order across codes with stock; an
    // unknown line code falls through; another SKU is not ours.
    let pending = vec![
        order("1", None, 1, Some("WEST")),
        order("2", Some("R2"), 2, None),
        order("3", None, 4, None),
        order("4", None, 1, Some("NOWHERE")),
    ];
    let d = pending_deductions(&pending, &codes(), &retailer_code, &available);
    // Order 3: EAST has 3 → 3, then 1 from WEST; order 4: EAST is used up (3 of 3), WEST.
    assert_eq!(
        d["sku-a"],
        [("EAST".to_owned(), 3), ("WEST".to_owned(), 1 + 2 + 1 + 1)].into()
    );
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

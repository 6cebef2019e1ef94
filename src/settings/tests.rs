//! Settings documents: defaults, merge patches, structure and value checks.

use serde_json::json;

use super::*;
use crate::reference::{NamedId, PriceList, ReferenceData, TaxCode};

fn reference() -> ReferenceData {
    let named = |id, name: &str| NamedId {
        id,
        name: name.into(),
    };
    ReferenceData {
        warehouses: vec![named(2, "Main")],
        shipping_methods: vec![named(7, "Ground")],
        order_statuses: vec![named(1, "New"), named(5, "Shipped"), named(9, "Cancelled")],
        channels: vec![named(3, "DSCO")],
        price_lists: vec![PriceList {
            id: 4,
            name: "Cost".into(),
            code: "COST".into(),
            currency: "USD".into(),
        }],
        tax_codes: vec![TaxCode {
            id: 1,
            code: "T20".into(),
            rate: "20.0".into(),
        }],
        ..ReferenceData::empty(Utc::now())
    }
}

/// Merge `patch` into the defaults and validate; the problem fields, sorted.
fn problems(patch: Value, reference: Option<&ReferenceData>) -> Vec<String> {
    let merged = apply_merge_patch(&Settings::default().to_document(), &patch);
    let result = Settings::from_document(&merged).and_then(|s| validate(&s, reference).map(|()| s));
    let mut fields: Vec<String> = match result {
        Ok(_) => Vec::new(),
        Err(p) => p.into_iter().map(|p| p.path).collect(),
    };
    fields.sort();
    fields
}

#[test]
fn the_default_document_is_the_documented_one() {
    let expected = json!({
      "customers": {"mode": "per_retailer", "auto_create": true},
      "items": {"dsco_match_field": "sku", "brightpearl_match_field": "SKU"},
      "orders": {"import_from": null, "include_test_orders": false, "status_id": null,
                 "channel_id": null, "warehouse_id": null, "price_source": "expected_cost",
                 "price_list_id": null, "tax_code": null, "currency": null,
                 "shipping_method_id": null, "staff_owner_id": null, "lead_source_id": null,
                 "shipping_charge_nominal_code": null, "cancel_request_status_id": null,
                 "per_retailer": {}},
      "inventory": {"enabled": false, "safety_buffer": 0, "skip_unknown_on_dsco": true,
                    "shared_product": "first", "untracked": "skip", "max_quantity": null,
                    "max_orders_lag": "2m"},
      "shipments": {"trigger": "goods_out_note", "goods_out_note_moment": "created",
                    "order_status_id": null, "allow_untracked": false,
                    "order_only_service_levels": ["GCG", "GCP", "GCE"]},
      "invoices": {"policy": "per_order", "wait_for_shipment": true},
      "cancellations": {"dsco_cancelled_status_id": null, "brightpearl_cancel_status_id": null,
                        "cancel_code": "CXSO"}
    });
    assert_eq!(Settings::default().to_document(), expected);
    assert_eq!(
        Settings::from_document(&expected).unwrap(),
        Settings::default()
    );
}

#[test]
fn merge_patch_follows_rfc_7396() {
    let cases = [
        (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
        (
            json!({"a": "b"}),
            json!({"b": "c"}),
            json!({"a": "b", "b": "c"}),
        ),
        (json!({"a": "b"}), json!({"a": null}), json!({})),
        (
            json!({"a": "b", "b": "c"}),
            json!({"a": null}),
            json!({"b": "c"}),
        ),
        (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
        (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
        (
            json!({"a": {"b": "c"}}),
            json!({"a": {"b": "d", "c": null}}),
            json!({"a": {"b": "d"}}),
        ),
        (
            json!({"a": [{"b": "c"}]}),
            json!({"a": [1]}),
            json!({"a": [1]}),
        ),
        (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
        (json!({"a": "b"}), json!(["c"]), json!(["c"])),
        (json!({"a": "foo"}), json!(null), json!(null)),
        (
            json!({"e": null}),
            json!({"a": 1}),
            json!({"e": null, "a": 1}),
        ),
        (
            json!([1, 2]),
            json!({"a": "b", "c": null}),
            json!({"a": "b"}),
        ),
        (
            json!({}),
            json!({"a": {"bb": {"ccc": null}}}),
            json!({"a": {"bb": {}}}),
        ),
    ];
    for (target, patch, expected) in cases {
        assert_eq!(apply_merge_patch(&target, &patch), expected, "{patch}");
    }
}

#[test]
fn null_resets_a_field_to_its_default() {
    let current = apply_merge_patch(
        &Settings::default().to_document(),
        &json!({"customers": {"mode": "per_consumer"}, "orders": {"currency": "USD"}}),
    );
    let merged = apply_merge_patch(
        &current,
        &json!({"customers": {"mode": null}, "orders": {"currency": null}}),
    );
    assert_eq!(
        Settings::from_document(&merged).unwrap(),
        Settings::default()
    );
}

#[test]
fn unknown_fields_are_named_at_every_level() {
    assert_eq!(
        problems(
            json!({"colour": 1, "orders": {"colour": 2, "per_retailer": {"R1": {"colour": 3, "per_retailer": {}}}},
                   "items": 5}),
            None
        ),
        vec![
            "colour",
            "items",
            "orders.colour",
            "orders.per_retailer.R1.colour",
            "orders.per_retailer.R1.per_retailer"
        ]
    );
}

#[test]
fn each_value_is_checked_and_named() {
    let r = reference();
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"customers": {"mode": "per_order"}}),
            "customers.mode",
        ),
        (
            json!({"customers": {"auto_create": "yes"}}),
            "customers.auto_create",
        ),
        (
            json!({"items": {"dsco_match_field": "gtin"}}),
            "items.dsco_match_field",
        ),
        (
            json!({"items": {"brightpearl_match_field": "sku"}}),
            "items.brightpearl_match_field",
        ),
        (
            json!({"items": {"brightpearl_match_field": "custom:"}}),
            "items.brightpearl_match_field",
        ),
        (
            json!({"orders": {"import_from": "yesterday"}}),
            "orders.import_from",
        ),
        (
            json!({"orders": {"include_test_orders": 1}}),
            "orders.include_test_orders",
        ),
        (
            json!({"orders": {"price_source": "msrp"}}),
            "orders.price_source",
        ),
        (
            json!({"orders": {"price_source": "price_list"}}),
            "orders.price_list_id",
        ),
        (json!({"orders": {"currency": "usd"}}), "orders.currency"),
        (json!({"orders": {"currency": "DOLLAR"}}), "orders.currency"),
        (json!({"orders": {"status_id": 99}}), "orders.status_id"),
        (json!({"orders": {"status_id": -1}}), "orders.status_id"),
        (json!({"orders": {"channel_id": 99}}), "orders.channel_id"),
        (
            json!({"orders": {"warehouse_id": 99}}),
            "orders.warehouse_id",
        ),
        (
            json!({"orders": {"price_list_id": 99}}),
            "orders.price_list_id",
        ),
        (
            json!({"orders": {"shipping_method_id": 99}}),
            "orders.shipping_method_id",
        ),
        (json!({"orders": {"tax_code": "T99"}}), "orders.tax_code"),
        (
            json!({"orders": {"staff_owner_id": 0}}),
            "orders.staff_owner_id",
        ),
        (
            json!({"orders": {"lead_source_id": "x"}}),
            "orders.lead_source_id",
        ),
        (
            json!({"orders": {"shipping_charge_nominal_code": " "}}),
            "orders.shipping_charge_nominal_code",
        ),
        (
            json!({"orders": {"per_retailer": []}}),
            "orders.per_retailer",
        ),
        (
            json!({"orders": {"per_retailer": {"R1": {"status_id": 99}}}}),
            "orders.per_retailer.R1.status_id",
        ),
        (
            json!({"orders": {"per_retailer": {"R1": {"currency": "eur"}}}}),
            "orders.per_retailer.R1.currency",
        ),
        (
            json!({"orders": {"per_retailer": {"R1": {"price_source": "price_list"}}}}),
            "orders.per_retailer.R1.price_list_id",
        ),
        (
            json!({"orders": {"per_retailer": {"R1": 3}}}),
            "orders.per_retailer.R1",
        ),
        (json!({"inventory": {"enabled": "no"}}), "inventory.enabled"),
        (
            json!({"inventory": {"safety_buffer": -1}}),
            "inventory.safety_buffer",
        ),
        (
            json!({"inventory": {"safety_buffer": 1.5}}),
            "inventory.safety_buffer",
        ),
        (
            json!({"inventory": {"skip_unknown_on_dsco": "yes"}}),
            "inventory.skip_unknown_on_dsco",
        ),
        (
            json!({"inventory": {"shared_product": "all"}}),
            "inventory.shared_product",
        ),
        (
            json!({"inventory": {"untracked": "publish"}}),
            "inventory.untracked",
        ),
        (
            json!({"inventory": {"untracked": -1}}),
            "inventory.untracked",
        ),
        (
            json!({"inventory": {"untracked": 2.5}}),
            "inventory.untracked",
        ),
        (
            json!({"inventory": {"untracked": true}}),
            "inventory.untracked",
        ),
        (
            json!({"inventory": {"max_quantity": -1}}),
            "inventory.max_quantity",
        ),
        (
            json!({"inventory": {"max_quantity": "10"}}),
            "inventory.max_quantity",
        ),
        (
            json!({"inventory": {"max_orders_lag": "soon"}}),
            "inventory.max_orders_lag",
        ),
        (
            json!({"inventory": {"max_orders_lag": "0s"}}),
            "inventory.max_orders_lag",
        ),
        (
            json!({"inventory": {"max_orders_lag": 120}}),
            "inventory.max_orders_lag",
        ),
        (
            json!({"shipments": {"trigger": "invoice"}}),
            "shipments.trigger",
        ),
        (
            json!({"shipments": {"trigger": "order_status"}}),
            "shipments.order_status_id",
        ),
        (
            json!({"shipments": {"order_status_id": 99}}),
            "shipments.order_status_id",
        ),
        (
            json!({"shipments": {"goods_out_note_moment": "packed"}}),
            "shipments.goods_out_note_moment",
        ),
        (
            json!({"shipments": {"allow_untracked": null, "order_status_id": "5"}}),
            "shipments.order_status_id",
        ),
        (
            json!({"cancellations": {"dsco_cancelled_status_id": 99}}),
            "cancellations.dsco_cancelled_status_id",
        ),
    ];
    for (patch, field) in cases {
        assert_eq!(problems(patch.clone(), Some(&r)), vec![field], "{patch}");
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    assert_eq!(
        problems(
            json!({"orders": {"currency": "usd", "status_id": 99},
                   "inventory": {"safety_buffer": -3},
                   "shipments": {"trigger": "order_status"}}),
            Some(&reference())
        ),
        vec![
            "inventory.safety_buffer",
            "orders.currency",
            "orders.status_id",
            "shipments.order_status_id"
        ]
    );
}

#[test]
fn valid_values_pass_and_per_retailer_overrides_apply() {
    let r = reference();
    let patch = json!({
        "customers": {"mode": "per_consumer", "auto_create": false},
        "items": {"dsco_match_field": "dscoItemId", "brightpearl_match_field": "custom:PCF_DSCO"},
        "orders": {"import_from": "2026-01-31", "status_id": 1, "channel_id": 3, "warehouse_id": 2,
                   "price_source": "price_list", "price_list_id": 4, "tax_code": "T20",
                   "currency": "USD", "shipping_method_id": 7, "staff_owner_id": 12,
                   "lead_source_id": 13, "shipping_charge_nominal_code": "4040",
                   "per_retailer": {"R1": {"status_id": 5, "price_source": "consumer_price",
                                           "import_from": "2026-02-01T10:00:00+02:00"}}},
        "inventory": {"enabled": true, "safety_buffer": 2, "skip_unknown_on_dsco": false,
                      "shared_product": "each", "untracked": 5, "max_quantity": 500,
                      "max_orders_lag": "90s"},
        "shipments": {"trigger": "order_status", "order_status_id": 5, "goods_out_note_moment": "shipped",
                      "allow_untracked": true},
        "cancellations": {"dsco_cancelled_status_id": 9}
    });
    assert_eq!(problems(patch.clone(), Some(&r)), Vec::<String>::new());
    let merged = apply_merge_patch(&Settings::default().to_document(), &patch);
    let settings = Settings::from_document(&merged).unwrap();
    assert_eq!(
        settings.items.brightpearl_match_field,
        BrightpearlMatchField::Custom("PCF_DSCO".into())
    );
    assert_eq!(
        settings.orders.defaults.import_from.unwrap().to_rfc3339(),
        "2026-01-31T00:00:00+00:00"
    );
    assert_eq!(
        settings.inventory,
        InventorySettings {
            enabled: true,
            safety_buffer: 2,
            skip_unknown_on_dsco: false,
            shared_product: SharedProduct::Each,
            untracked: UntrackedPolicy::Quantity(5),
            max_quantity: Some(500),
            max_orders_lag: "90s".into(),
        }
    );
    assert_eq!(
        settings.inventory.max_orders_lag(),
        std::time::Duration::from_secs(90)
    );
    let r1 = settings.orders_for_retailer("R1");
    assert_eq!(r1.status_id, Some(5));
    assert_eq!(r1.price_source, PriceSource::ConsumerPrice);
    assert_eq!(r1.channel_id, Some(3));
    assert_eq!(
        r1.import_from.unwrap().to_rfc3339(),
        "2026-02-01T08:00:00+00:00"
    );
    assert_eq!(settings.orders_for_retailer("R2"), settings.orders.defaults);
    assert!(settings.uses_reference_ids());
    assert!(!Settings::default().uses_reference_ids());
    // The document round-trips through its JSON form.
    assert_eq!(
        Settings::from_document(&settings.to_document()).unwrap(),
        settings
    );
}

#[test]
fn without_reference_data_ids_are_not_checked_here() {
    assert_eq!(
        problems(json!({"orders": {"status_id": 99}}), None),
        Vec::<String>::new()
    );
}

#[test]
fn a_whole_document_check_reports_structure_and_values_together_once_per_field() {
    let r = reference();
    let merged = apply_merge_patch(
        &Settings::default().to_document(),
        &json!({"colour": 1, "orders": {"currency": "usd"},
                "shipments": {"trigger": "order_status", "order_status_id": "five"}}),
    );
    let Err(Rejection::Invalid(problems)) = check_document(&merged, Some(&r)) else {
        panic!("expected problems");
    };
    let mut fields: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    fields.sort();
    assert_eq!(
        fields,
        vec!["colour", "orders.currency", "shipments.order_status_id"]
    );
    let ids = apply_merge_patch(
        &Settings::default().to_document(),
        &json!({"orders": {"per_retailer": {"R1": {"price_list_id": 4}}}}),
    );
    assert!(matches!(
        check_document(&ids, None),
        Err(Rejection::ReferenceMissing)
    ));
    assert!(check_document(&ids, Some(&r)).is_ok());
}

#[test]
fn inventory_defaults_and_wire_forms() {
    let inventory = Settings::default().inventory;
    assert!(inventory.skip_unknown_on_dsco);
    assert_eq!(inventory.shared_product, SharedProduct::First);
    assert_eq!(inventory.untracked, UntrackedPolicy::Skip);
    assert_eq!(inventory.max_quantity, None);
    assert_eq!(
        inventory.max_orders_lag(),
        std::time::Duration::from_secs(120)
    );
    // `untracked` is "skip" or a bare integer, both ways.
    for (wire, policy) in [
        (json!("skip"), UntrackedPolicy::Skip),
        (json!(0), UntrackedPolicy::Quantity(0)),
        (json!(7), UntrackedPolicy::Quantity(7)),
    ] {
        assert_eq!(
            serde_json::from_value::<UntrackedPolicy>(wire.clone()).unwrap(),
            policy
        );
        assert_eq!(serde_json::to_value(policy).unwrap(), wire);
    }
    let error = serde_json::from_value::<UntrackedPolicy>(json!("Skip")).unwrap_err();
    assert!(
        error.to_string().contains("\"skip\" or an integer"),
        "{error}"
    );
    // Each problem names its key and says why.
    let merged = apply_merge_patch(
        &Settings::default().to_document(),
        &json!({"inventory": {"max_orders_lag": "2 fortnights", "max_quantity": -5, "untracked": -2}}),
    );
    let Err(Rejection::Invalid(problems)) = check_document(&merged, None) else {
        panic!("expected problems");
    };
    let message = |path: &str| {
        problems
            .iter()
            .find(|p| p.path == path)
            .map(|p| p.message.clone())
            .unwrap_or_else(|| panic!("no problem at {path}: {problems:?}"))
    };
    assert!(
        message("inventory.max_orders_lag").contains("is not a duration like"),
        "{problems:?}"
    );
    assert!(message("inventory.max_quantity").contains("0 or more"));
    assert!(message("inventory.untracked").contains("-2"));
}

#[test]
fn invoices_and_cancellations_are_checked() {
    let r = reference();
    assert_eq!(
        problems(
            json!({"invoices": {"policy": "per_shipment", "wait_for_shipment": false},
                   "cancellations": {"brightpearl_cancel_status_id": 9, "cancel_code": "CXSC"},
                   "orders": {"cancel_request_status_id": 1}}),
            Some(&r)
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        problems(
            json!({"cancellations": {"brightpearl_cancel_status_id": 77, "cancel_code": "NOPE"},
                   "orders": {"per_retailer": {"R1": {"cancel_request_status_id": 78}}}}),
            Some(&r)
        ),
        vec![
            "cancellations.brightpearl_cancel_status_id",
            "cancellations.cancel_code",
            "orders.per_retailer.R1.cancel_request_status_id",
        ]
    );
    // The status that ships an order cannot cancel it or mark a cancel request; the error names
    // both fields.
    let merged = apply_merge_patch(
        &Settings::default().to_document(),
        &json!({"shipments": {"trigger": "order_status", "order_status_id": 5},
                "cancellations": {"brightpearl_cancel_status_id": 5},
                "orders": {"cancel_request_status_id": 5}}),
    );
    let settings = Settings::from_document(&merged).unwrap();
    let found = validate(&settings, Some(&r)).unwrap_err();
    let texts: Vec<String> = found
        .iter()
        .map(|p| format!("{}: {}", p.path, p.message))
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("shipments.order_status_id")
                && t.contains("cancellations.brightpearl_cancel_status_id")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("orders.cancel_request_status_id")),
        "{texts:?}"
    );
    assert!(
        problems(json!({"invoices": {"policy": "weekly"}}), None)
            .contains(&"invoices.policy".to_owned())
    );
}

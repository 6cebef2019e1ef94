//! Value checks of [`Settings`]: ranges, rules between fields, and Brightpearl ids against the
//! retrieved reference data. Every problem is reported, by dotted path.

use super::{
    CANCEL_CODES, InventorySettings, OrdersDefaults, OrdersOverride, PriceSource, Settings,
    ShipmentTrigger, UntrackedPolicy, parse_lag,
};
use crate::problem::Problem;
use crate::reference::ReferenceData;

/// Check values and, when `reference` is given, Brightpearl ids against it. Every problem is
/// reported. Without reference data ids are not checked; the API refuses such changes before
/// the first retrieval (see [`Settings::uses_reference_ids`]).
pub fn validate(
    settings: &Settings,
    reference: Option<&ReferenceData>,
) -> Result<(), Vec<Problem>> {
    let mut problems = Vec::new();
    check_orders(
        "orders",
        &settings.orders.defaults,
        &OrdersOverride::default(),
        reference,
        &mut problems,
    );
    for (retailer, o) in &settings.orders.per_retailer {
        let base = format!("orders.per_retailer.{retailer}");
        let effective = settings.orders_for_retailer(retailer);
        let mut own = Vec::new();
        check_orders(&base, &effective, o, reference, &mut own);
        // Only report what the override itself sets, or a rule its override breaks.
        problems.extend(own);
    }
    check_inventory(&settings.inventory, &mut problems);
    for (i, code) in settings
        .shipments
        .order_only_service_levels
        .iter()
        .enumerate()
    {
        if code.trim().is_empty() {
            problems.push(Problem::new(
                format!("shipments.order_only_service_levels[{i}]"),
                "must not be empty",
            ));
        }
    }
    if settings.shipments.trigger == ShipmentTrigger::OrderStatus
        && settings.shipments.order_status_id.is_none()
    {
        problems.push(Problem::new(
            "shipments.order_status_id",
            "is required when shipments.trigger is order_status",
        ));
    }
    check_status(
        "shipments.order_status_id",
        settings.shipments.order_status_id,
        reference,
        &mut problems,
    );
    check_status(
        "cancellations.dsco_cancelled_status_id",
        settings.cancellations.dsco_cancelled_status_id,
        reference,
        &mut problems,
    );
    check_status(
        "cancellations.brightpearl_cancel_status_id",
        settings.cancellations.brightpearl_cancel_status_id,
        reference,
        &mut problems,
    );
    if !CANCEL_CODES.contains(&settings.cancellations.cancel_code.as_str()) {
        problems.push(Problem::new(
            "cancellations.cancel_code",
            format!(
                "{:?} is not one of {}",
                settings.cancellations.cancel_code,
                CANCEL_CODES.join(", ")
            ),
        ));
    }
    // The status that ships an order must not be one that cancels it or answers a request.
    if let Some(ship) = settings.shipments.order_status_id {
        if settings.cancellations.brightpearl_cancel_status_id == Some(ship) {
            problems.push(Problem::new(
                "shipments.order_status_id",
                format!(
                    "{ship} is also cancellations.brightpearl_cancel_status_id; an order status cannot both ship and cancel"
                ),
            ));
        }
        let mut requests: Vec<(String, Option<u32>)> = vec![(
            "orders.cancel_request_status_id".into(),
            settings.orders.defaults.cancel_request_status_id,
        )];
        for retailer in settings.orders.per_retailer.keys() {
            requests.push((
                format!("orders.per_retailer.{retailer}.cancel_request_status_id"),
                settings
                    .orders_for_retailer(retailer)
                    .cancel_request_status_id,
            ));
        }
        for (field, id) in requests {
            if id == Some(ship) {
                problems.push(Problem::new(
                    "shipments.order_status_id",
                    format!("{ship} is also {field}; an order status cannot both ship and mark a cancel request"),
                ));
                break;
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn check_inventory(inventory: &InventorySettings, problems: &mut Vec<Problem>) {
    if inventory.safety_buffer < 0 {
        problems.push(Problem::new("inventory.safety_buffer", "must be 0 or more"));
    }
    if let UntrackedPolicy::Quantity(n) = inventory.untracked
        && n < 0
    {
        problems.push(Problem::new(
            "inventory.untracked",
            format!("{n} is not \"skip\" or an integer 0 or more"),
        ));
    }
    if let Some(n) = inventory.max_quantity
        && n < 0
    {
        problems.push(Problem::new(
            "inventory.max_quantity",
            "must be 0 or more (or null for no cap)",
        ));
    }
    if let Err(message) = parse_lag(&inventory.max_orders_lag) {
        problems.push(Problem::new("inventory.max_orders_lag", message));
    }
}

fn check_status(
    field: &str,
    id: Option<u32>,
    reference: Option<&ReferenceData>,
    problems: &mut Vec<Problem>,
) {
    if let Some(id) = id {
        if id == 0 {
            problems.push(Problem::new(field, "must be a positive id"));
        } else if let Some(r) = reference
            && !r.has_order_status(id)
        {
            problems.push(Problem::new(
                field,
                format!("Brightpearl order status {id} does not exist"),
            ));
        }
    }
}

/// Check one set of orders values. For the defaults `own` is empty and every field is checked;
/// for a retailer, `effective` is the merged result and only fields `own` sets are checked, plus
/// the rules that combine fields when the override takes part in them.
fn check_orders(
    base: &str,
    effective: &OrdersDefaults,
    own: &OrdersOverride,
    reference: Option<&ReferenceData>,
    problems: &mut Vec<Problem>,
) {
    let is_defaults = base == "orders";
    let checked = |set: bool| is_defaults || set;
    let field = |name: &str| format!("{base}.{name}");
    type Exists = fn(&ReferenceData, u32) -> bool;
    let ids: [(&str, Option<u32>, bool, &str, Exists); 6] = [
        (
            "status_id",
            effective.status_id,
            own.status_id.is_some(),
            "order status",
            ReferenceData::has_order_status,
        ),
        (
            "cancel_request_status_id",
            effective.cancel_request_status_id,
            own.cancel_request_status_id.is_some(),
            "order status",
            ReferenceData::has_order_status,
        ),
        (
            "channel_id",
            effective.channel_id,
            own.channel_id.is_some(),
            "channel",
            ReferenceData::has_channel,
        ),
        (
            "warehouse_id",
            effective.warehouse_id,
            own.warehouse_id.is_some(),
            "warehouse",
            ReferenceData::has_warehouse,
        ),
        (
            "price_list_id",
            effective.price_list_id,
            own.price_list_id.is_some(),
            "price list",
            ReferenceData::has_price_list,
        ),
        (
            "shipping_method_id",
            effective.shipping_method_id,
            own.shipping_method_id.is_some(),
            "shipping method",
            ReferenceData::has_shipping_method,
        ),
    ];
    for (name, id, set, what, exists) in ids {
        let (Some(id), true) = (id, checked(set)) else {
            continue;
        };
        if id == 0 {
            problems.push(Problem::new(field(name), "must be a positive id"));
        } else if let Some(r) = reference
            && !exists(r, id)
        {
            problems.push(Problem::new(
                field(name),
                format!("Brightpearl {what} {id} does not exist"),
            ));
        }
    }
    for (name, id, set) in [
        (
            "staff_owner_id",
            effective.staff_owner_id,
            own.staff_owner_id.is_some(),
        ),
        (
            "lead_source_id",
            effective.lead_source_id,
            own.lead_source_id.is_some(),
        ),
    ] {
        if id == Some(0) && checked(set) {
            problems.push(Problem::new(field(name), "must be a positive id"));
        }
    }
    if let (Some(code), true) = (&effective.tax_code, checked(own.tax_code.is_some())) {
        if code.trim().is_empty() {
            problems.push(Problem::new(field("tax_code"), "must not be empty"));
        } else if let Some(r) = reference
            && !r.has_tax_code(code)
        {
            problems.push(Problem::new(
                field("tax_code"),
                format!("Brightpearl tax code {code:?} does not exist"),
            ));
        }
    }
    if let (Some(currency), true) = (&effective.currency, checked(own.currency.is_some()))
        && !(currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()))
    {
        problems.push(Problem::new(
            field("currency"),
            format!("{currency:?} is not a 3-letter ISO 4217 code such as USD"),
        ));
    }
    if let (Some(code), true) = (
        &effective.shipping_charge_nominal_code,
        checked(own.shipping_charge_nominal_code.is_some()),
    ) && code.trim().is_empty()
    {
        problems.push(Problem::new(
            field("shipping_charge_nominal_code"),
            "must not be empty",
        ));
    }
    if effective.price_source == PriceSource::PriceList
        && effective.price_list_id.is_none()
        && checked(own.price_source.is_some())
    {
        problems.push(Problem::new(
            field("price_list_id"),
            "is required when price_source is price_list",
        ));
    }
}

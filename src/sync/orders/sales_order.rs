//! Pure mapping of a DSCO order to a Brightpearl sales order, by part: ship-to, lines (product
//! match, open quantity, price), shipping method and tax, totals (rows), the delivery address
//! cut to Brightpearl's field limits, and the note. No IO.

use std::collections::{BTreeSet, HashMap};

use crate::brightpearl::limits;
use crate::brightpearl::{
    Address, ChannelId, ContactId, OrderStatusId, PriceListId, ProductId, SalesOrder,
    SalesOrderCurrency, SalesOrderCustomer, SalesOrderDelivery, SalesOrderRow, ShippingMethodId,
    WarehouseId,
};
use crate::dsco;
use crate::mapping::items::{DscoItemIds, ItemMatcher, Resolution};
use crate::mapping::shipping_methods::{OrderShipping, ShippingMethodMap};
use crate::reference::{CatalogProduct, ReferenceData};
use crate::settings::{OrdersDefaults, PriceSource};
use crate::sync::address::country_iso3;
use crate::sync::money::Amount;
use crate::sync::order_link::dsco_id;

/// One resolved line, for the sales order and for the record.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub line_number: Option<u32>,
    pub sku: String,
    pub product_id: u32,
    pub quantity: i64,
    pub unit_price: Amount,
}

/// Everything of the sales order except the customer, which is resolved (maybe created) only
/// once the order is known to be importable.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub order: SalesOrder,
    pub lines: Vec<Line>,
    /// The note to add after creation (gift message, packing instructions, cut text), if any.
    pub note: Option<String>,
    /// Field names whose text was cut to fit.
    pub cut: Vec<String>,
}

impl Prepared {
    pub fn with_customer(&self, contact_id: u64) -> SalesOrder {
        let mut order = self.order.clone();
        order.customer = SalesOrderCustomer {
            id: ContactId(contact_id),
            address: None,
        };
        order
    }
}

/// What the mapping needs besides the order.
pub struct Inputs<'a> {
    pub defaults: &'a OrdersDefaults,
    pub matcher: &'a ItemMatcher,
    pub products: &'a HashMap<u32, CatalogProduct>,
    pub shipping_methods: &'a ShippingMethodMap,
    pub reference: Option<&'a ReferenceData>,
}

fn text(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Cut `value` to `limit` characters, remembering what was cut.
fn fit(field: &str, value: &str, limit: usize, cut: &mut Vec<(String, String)>) -> String {
    if value.chars().count() <= limit {
        return value.to_owned();
    }
    cut.push((field.to_owned(), value.to_owned()));
    value.chars().take(limit).collect()
}

/// The line's identifiers as the matcher takes them.
pub fn item_ids(line: &dsco::OrderLineItem) -> DscoItemIds {
    DscoItemIds {
        sku: line.sku.clone(),
        upc: line.upc.clone(),
        ean: line.ean.clone(),
        mpn: line.mpn.clone(),
        dsco_item_id: line.dsco_item_id.as_ref().map(|i| i.0.clone()),
    }
}

fn line_label(line: &dsco::OrderLineItem) -> String {
    let number = line
        .line_number
        .map(|n| n.to_string())
        .unwrap_or_else(|| "?".into());
    let sku = line.sku.as_deref().unwrap_or("(no SKU)");
    format!("line {number} (SKU {sku})")
}

/// Validate and map. Every problem is named; an order with any problem creates nothing.
pub fn prepare(order: &dsco::Order, inputs: &Inputs<'_>) -> Result<Prepared, Vec<String>> {
    let mut problems = Vec::new();
    let defaults = inputs.defaults;
    let ship_to = check_ship_to(&order.shipping, &mut problems);
    let lines = resolve_lines(order, inputs, &mut problems);
    let shipping_method_id = shipping_method_for(order, inputs, &mut problems);
    let tax = tax_for(defaults, inputs.reference, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }

    let rows = rows(&lines, order, defaults, &tax);
    let mut cut = Vec::new();
    let delivery_address = delivery_address(&order.shipping, &ship_to, &mut cut);
    let reference = fit("ref", &order.po_number, limits::REF, &mut cut);
    let external_ref = fit(
        "externalRef",
        &dsco_id(order),
        limits::EXTERNAL_REF,
        &mut cut,
    );
    let sales_order = SalesOrder {
        customer: SalesOrderCustomer::default(),
        billing: None,
        reference: Some(reference),
        external_ref: Some(external_ref),
        placed_on: order
            .consumer_order_date
            .clone()
            .or_else(|| order.retailer_create_date.clone())
            .or_else(|| order.dsco_create_date.clone()),
        tax_date: None,
        status_id: defaults.status_id.map(|id| OrderStatusId(u64::from(id))),
        warehouse_id: defaults.warehouse_id.map(|id| WarehouseId(u64::from(id))),
        channel_id: defaults.channel_id.map(|id| ChannelId(u64::from(id))),
        staff_owner_id: defaults.staff_owner_id.map(|id| ContactId(u64::from(id))),
        lead_source_id: defaults.lead_source_id.map(u64::from),
        price_list_id: defaults.price_list_id.map(|id| PriceListId(u64::from(id))),
        price_mode_code: Some("EXC".into()),
        installed_integration_instance_id: None,
        currency: order
            .currency_code
            .clone()
            .filter(|c| !c.trim().is_empty())
            .or_else(|| defaults.currency.clone())
            .map(|code| SalesOrderCurrency {
                code,
                exchange_rate: None,
                fixed_exchange_rate: None,
            }),
        delivery: Some(SalesOrderDelivery {
            date: None,
            address: Some(delivery_address),
            shipping_method_id: shipping_method_id.map(|id| ShippingMethodId(u64::from(id))),
        }),
        rows,
    };
    let note = note_for(order, &cut);
    Ok(Prepared {
        order: sales_order,
        lines,
        note,
        cut: cut.into_iter().map(|(f, _)| f).collect(),
    })
}

/// The ship-to's name and street lines, as far as the order has them.
struct ShipTo {
    full_name: Option<String>,
    street: Vec<String>,
}

/// Ship-to: Brightpearl needs a name and a street line; a shipment needs city, postal code and
/// country.
fn check_ship_to(ship: &dsco::OrderAddress, problems: &mut Vec<String>) -> ShipTo {
    let full_name = text(&ship.name).map(str::to_owned).or_else(|| {
        let parts: Vec<&str> = [text(&ship.first_name), text(&ship.last_name)]
            .into_iter()
            .flatten()
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    });
    let street: Vec<String> = if !ship.address.is_empty() {
        ship.address
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    } else {
        [text(&ship.address1), text(&ship.address2)]
            .into_iter()
            .flatten()
            .map(str::to_owned)
            .collect()
    };
    let mut missing = Vec::new();
    if full_name.is_none() {
        missing.push("name");
    }
    if street.is_empty() {
        missing.push("address");
    }
    if text(&ship.city).is_none() {
        missing.push("city");
    }
    if text(&ship.postal).is_none() {
        missing.push("postal code");
    }
    if text(&ship.country).is_none() {
        missing.push("country");
    }
    if !missing.is_empty() {
        problems.push(format!("ship-to is missing {}", missing.join(", ")));
    }
    ShipTo { full_name, street }
}

/// The lines to import: each line's open quantity, matched product and price. `problems` holds
/// what was found before (an order with no other problem and nothing open says so).
fn resolve_lines(
    order: &dsco::Order,
    inputs: &Inputs<'_>,
    problems: &mut Vec<String>,
) -> Vec<Line> {
    let defaults = inputs.defaults;
    if order.line_items.is_empty() {
        problems.push("the order has no lines".into());
    }
    let mut seen_numbers = BTreeSet::new();
    let mut lines = Vec::new();
    for line in &order.line_items {
        let label = line_label(line);
        if let Some(n) = line.line_number
            && !seen_numbers.insert(n)
        {
            problems.push(format!("{label}: duplicate line number {n}"));
            continue;
        }
        if line.quantity <= 0 {
            problems.push(format!(
                "{label}: quantity {} is not positive",
                line.quantity
            ));
            continue;
        }
        let closed = line.cancelled_quantity.unwrap_or(0).max(0)
            + line.rejected_quantity.unwrap_or(0).max(0);
        let open = line.quantity - closed;
        if open <= 0 {
            // Fully cancelled or rejected on DSCO: nothing to import for this line.
            continue;
        }
        let product_id = match inputs.matcher.resolve(&item_ids(line)) {
            Resolution::Manual(id) | Resolution::Auto(id) => id,
            Resolution::Ambiguous(ids) => {
                problems.push(format!(
                    "{label}: ambiguous match, Brightpearl products {} all match; add an item mapping",
                    ids.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
                ));
                continue;
            }
            Resolution::Unmatched(why) => {
                problems.push(format!("{label}: unknown SKU: {why}"));
                continue;
            }
        };
        let price = match defaults.price_source {
            PriceSource::ExpectedCost => line.expected_cost.map(Amount::from_f64),
            PriceSource::ConsumerPrice => line.consumer_price.map(Amount::from_f64),
            PriceSource::PriceList => defaults.price_list_id.and_then(|list| {
                inputs
                    .products
                    .get(&product_id)
                    .and_then(|p| p.prices.get(&list))
                    .and_then(|p| Amount::parse(p))
            }),
        };
        let Some(unit_price) = price else {
            let source = match defaults.price_source {
                PriceSource::ExpectedCost => "expectedCost".to_owned(),
                PriceSource::ConsumerPrice => "consumerPrice".to_owned(),
                PriceSource::PriceList => match defaults.price_list_id {
                    Some(id) => format!("a price in Brightpearl price list {id}"),
                    None => "a price list (orders.price_list_id is not set)".to_owned(),
                },
            };
            problems.push(format!("{label}: missing price, the line has no {source}"));
            continue;
        };
        lines.push(Line {
            line_number: line.line_number,
            sku: line.sku.clone().unwrap_or_default(),
            product_id,
            quantity: open,
            unit_price,
        });
    }
    if lines.is_empty() && problems.is_empty() {
        problems.push("every line is cancelled or rejected on DSCO; nothing to import".into());
    }
    lines
}

/// Shipping method: the mapping, else the default, else a person must choose.
fn shipping_method_for(
    order: &dsco::Order,
    inputs: &Inputs<'_>,
    problems: &mut Vec<String>,
) -> Option<u32> {
    let shipping_method_id = inputs
        .shipping_methods
        .for_order(&OrderShipping {
            service_level_code: order.shipping_service_level_code.as_deref(),
            carrier: order.ship_carrier.as_deref(),
            method: order.ship_method.as_deref(),
            requested_service_level_code: order.requested_shipping_service_level_code.as_deref(),
            requested_carrier: order.requested_ship_carrier.as_deref(),
            requested_method: order.requested_ship_method.as_deref(),
        })
        .or(inputs.defaults.shipping_method_id);
    if shipping_method_id.is_none() {
        let described = order
            .shipping_service_level_code
            .clone()
            .or_else(|| match (&order.ship_carrier, &order.ship_method) {
                (Some(c), Some(m)) => Some(format!("{c} {m}")),
                _ => None,
            })
            .unwrap_or_else(|| "(none)".into());
        problems.push(format!(
            "no shipping-method mapping for DSCO service level {described} and no orders.shipping_method_id default"
        ));
    }
    shipping_method_id
}

/// The tax code every row carries, and its rate.
struct Tax {
    code: String,
    rate: Amount,
}

/// The configured tax code and its rate among the retrieved Brightpearl tax codes.
fn tax_for(
    defaults: &OrdersDefaults,
    reference: Option<&ReferenceData>,
    problems: &mut Vec<String>,
) -> Tax {
    let tax_code = defaults.tax_code.clone();
    let tax_rate = match (&tax_code, reference) {
        (Some(code), Some(reference)) => reference
            .tax_codes
            .iter()
            .find(|t| t.code.eq_ignore_ascii_case(code))
            .and_then(|t| Amount::parse(&t.rate)),
        _ => None,
    };
    if tax_code.is_none() {
        problems
            .push("orders.tax_code is not set; Brightpearl needs a tax code on every row".into());
    } else if tax_rate.is_none() {
        problems.push(format!(
            "tax code {} is not in the retrieved Brightpearl tax codes",
            tax_code.as_deref().unwrap_or_default()
        ));
    }
    // Either is missing only when a problem was named, and then the order is not made.
    Tax {
        code: tax_code.unwrap_or_default(),
        rate: tax_rate.unwrap_or(Amount(0)),
    }
}

/// Totals: one row per line (net and tax), and one free-text row for DSCO's shipping surcharge
/// when a nominal code is set for it.
fn rows(
    lines: &[Line],
    order: &dsco::Order,
    defaults: &OrdersDefaults,
    tax: &Tax,
) -> Vec<SalesOrderRow> {
    let mut rows: Vec<SalesOrderRow> = lines
        .iter()
        .map(|l| {
            let net = l.unit_price.times(l.quantity);
            SalesOrderRow {
                product_id: Some(ProductId(u64::from(l.product_id))),
                name: None,
                sku: None,
                quantity: l.quantity.to_string(),
                tax_code: tax.code.clone(),
                net: net.to_4dp(),
                tax: net.percent(tax.rate).to_4dp(),
                nominal_code: None,
                external_ref: l.line_number.map(|n| format!("dsco:line:{n}")),
            }
        })
        .collect();
    if let (Some(nominal), Some(charge)) = (
        defaults.shipping_charge_nominal_code.clone(),
        order.shipping_surcharge.filter(|c| *c > 0.0),
    ) {
        let net = Amount::from_f64(charge);
        rows.push(SalesOrderRow {
            product_id: None,
            name: Some("Shipping and handling (DSCO)".into()),
            sku: None,
            quantity: "1".into(),
            tax_code: tax.code.clone(),
            net: net.to_4dp(),
            tax: net.percent(tax.rate).to_4dp(),
            nominal_code: Some(nominal),
            external_ref: Some("dsco:shipping".into()),
        });
    }
    rows
}

/// The delivery address, each field cut to fit (what was cut is remembered in `cut`).
fn delivery_address(
    ship: &dsco::OrderAddress,
    ship_to: &ShipTo,
    cut: &mut Vec<(String, String)>,
) -> Address {
    let mut street_iter = ship_to.street.iter();
    let line1 = street_iter.next().cloned().unwrap_or_default();
    let rest: Vec<String> = street_iter.cloned().collect();
    Address {
        address_full_name: ship_to.full_name.as_deref().map(|n| {
            fit(
                "delivery.address.addressFullName",
                n,
                limits::ADDRESS_LINE,
                cut,
            )
        }),
        company_name: text(&ship.company)
            .map(|c| fit("delivery.address.companyName", c, limits::ADDRESS_LINE, cut)),
        address_line1: Some(fit(
            "delivery.address.addressLine1",
            &line1,
            limits::ADDRESS_LINE,
            cut,
        )),
        address_line2: (!rest.is_empty()).then(|| {
            fit(
                "delivery.address.addressLine2",
                &rest.join(", "),
                limits::ADDRESS_LINE,
                cut,
            )
        }),
        address_line3: text(&ship.city).map(|c| {
            fit(
                "delivery.address.addressLine3",
                c,
                limits::ADDRESS_LINE,
                cut,
            )
        }),
        address_line4: text(&ship.region).or(text(&ship.state)).map(|r| {
            fit(
                "delivery.address.addressLine4",
                r,
                limits::ADDRESS_LINE,
                cut,
            )
        }),
        postal_code: text(&ship.postal)
            .map(|p| fit("delivery.address.postalCode", p, limits::POSTAL, cut)),
        country_iso_code: text(&ship.country).map(country_iso3),
        telephone: text(&ship.phone)
            .map(|p| fit("delivery.address.telephone", p, limits::POSTAL, cut)),
        mobile_telephone: None,
        fax: None,
        email: text(&ship.email).map(|e| fit("delivery.address.email", e, limits::EMAIL, cut)),
    }
}

/// Notes: gift messages, packing and shipping instructions, and the full text of anything cut.
fn note_for(order: &dsco::Order, cut: &[(String, String)]) -> Option<String> {
    let mut note_parts = Vec::new();
    if let Some(gift) = text(&order.gift_message) {
        note_parts.push(format!("Gift message: {gift}"));
    }
    for line in &order.line_items {
        if let Some(gift) = text(&line.gift_message) {
            note_parts.push(format!("Gift message for {}: {gift}", line_label(line)));
        }
    }
    if let Some(packing) = text(&order.packing_instructions) {
        note_parts.push(format!("Packing instructions: {packing}"));
    }
    if let Some(ship) = text(&order.ship_instructions) {
        note_parts.push(format!("Shipping instructions: {ship}"));
    }
    if !cut.is_empty() {
        let mut text = String::from(
            "Text cut to fit Brightpearl's field limits (the full DSCO text follows):",
        );
        for (field, full) in cut {
            text.push_str(&format!("\n- {field}: {full}"));
        }
        note_parts.push(text);
    }
    (!note_parts.is_empty()).then(|| {
        let joined = note_parts.join("\n\n");
        joined.chars().take(limits::NOTE).collect::<String>()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::items::ItemMatcher;
    use crate::reference::{NamedId, TaxCode};
    use crate::settings::{ItemsSettings, Settings};

    fn product(id: u32, sku: &str) -> CatalogProduct {
        CatalogProduct {
            id,
            name: format!("P{id}"),
            sku: Some(sku.into()),
            barcode: None,
            ean: None,
            upc: None,
            mpn: None,
            isbn: None,
            custom: Default::default(),
            prices: [(1, "7.50".to_owned())].into_iter().collect(),
            stock_tracked: None,
            bundle_components: None,
        }
    }

    fn order(json: serde_json::Value) -> dsco::Order {
        let mut base = serde_json::json!({
            "dscoOrderId": "1001", "poNumber": "PO-1", "dscoRetailerId": "R1",
            "dscoLifecycle": "created", "dscoStatus": "created",
            "shipping": {"firstName": "Zoë", "lastName": "Müller", "address1": "1 Main St",
                          "city": "Springfield", "region": "IL", "postal": "62701", "country": "US"},
            "lineItems": [{"lineNumber": 1, "sku": "SKU-1", "quantity": 2, "expectedCost": 12.5}]
        });
        if let (Some(b), Some(o)) = (base.as_object_mut(), json.as_object()) {
            for (k, v) in o {
                b.insert(k.clone(), v.clone());
            }
        }
        serde_json::from_value(base).unwrap()
    }

    struct World {
        defaults: OrdersDefaults,
        matcher: ItemMatcher,
        products: HashMap<u32, CatalogProduct>,
        methods: ShippingMethodMap,
        reference: ReferenceData,
    }

    fn world() -> World {
        let catalog = vec![product(11, "SKU-1"), product(12, "SKU-2")];
        let mut defaults = Settings::default().orders.defaults;
        defaults.tax_code = Some("T".into());
        defaults.shipping_method_id = Some(3);
        let mut reference = ReferenceData::empty(chrono::Utc::now());
        reference.tax_codes = vec![TaxCode {
            id: 1,
            code: "T".into(),
            rate: "10.0".into(),
        }];
        reference.shipping_methods = vec![NamedId {
            id: 3,
            name: "Ground".into(),
        }];
        World {
            defaults,
            matcher: ItemMatcher::new(&catalog, &[], &ItemsSettings::default()),
            products: catalog.into_iter().map(|p| (p.id, p)).collect(),
            methods: ShippingMethodMap::default(),
            reference,
        }
    }

    fn run(w: &World, o: &dsco::Order) -> Result<Prepared, Vec<String>> {
        prepare(
            o,
            &Inputs {
                defaults: &w.defaults,
                matcher: &w.matcher,
                products: &w.products,
                shipping_methods: &w.methods,
                reference: Some(&w.reference),
            },
        )
    }

    #[test]
    fn a_good_order_maps_to_one_atomic_sales_order() {
        let w = world();
        let p = run(
            &w,
            &order(serde_json::json!({"giftMessage": "Happy birthday", "currencyCode": "USD"})),
        )
        .unwrap();
        let so = &p.order;
        assert_eq!(so.external_ref.as_deref(), Some("1001"));
        assert_eq!(so.reference.as_deref(), Some("PO-1"));
        assert_eq!(so.rows.len(), 1);
        assert_eq!(so.rows[0].product_id, Some(ProductId(11)));
        assert_eq!(so.rows[0].net, "25.0000");
        assert_eq!(so.rows[0].tax, "2.5000");
        assert_eq!(so.rows[0].quantity, "2");
        assert_eq!(so.currency.as_ref().unwrap().code, "USD");
        let address = so.delivery.as_ref().unwrap().address.as_ref().unwrap();
        assert_eq!(address.address_full_name.as_deref(), Some("Zoë Müller"));
        assert_eq!(address.country_iso_code.as_deref(), Some("USA"));
        assert_eq!(
            so.delivery.as_ref().unwrap().shipping_method_id,
            Some(ShippingMethodId(3))
        );
        assert!(p.note.as_deref().unwrap().contains("Happy birthday"));
        assert_eq!(p.with_customer(5).customer.id, ContactId(5));
    }

    #[test]
    fn every_bad_input_is_named() {
        let w = world();
        let o = order(serde_json::json!({
            "shipping": {"firstName": "A"},
            "lineItems": [
                {"lineNumber": 1, "sku": "SKU-1", "quantity": 0, "expectedCost": 1.0},
                {"lineNumber": 2, "sku": "NOPE", "quantity": 1, "expectedCost": 1.0},
                {"lineNumber": 2, "sku": "SKU-2", "quantity": 1, "expectedCost": 1.0},
                {"lineNumber": 3, "sku": "SKU-2", "quantity": 1}
            ]
        }));
        let problems = run(&w, &o).unwrap_err().join("\n");
        for expected in [
            "ship-to is missing address, city, postal code, country",
            "line 1 (SKU SKU-1): quantity 0 is not positive",
            "line 2 (SKU NOPE): unknown SKU",
            "duplicate line number 2",
            "line 3 (SKU SKU-2): missing price, the line has no expectedCost",
        ] {
            assert!(
                problems.contains(expected),
                "{expected} not in:\n{problems}"
            );
        }
    }

    #[test]
    fn only_the_open_quantity_is_imported_and_price_sources_apply() {
        let mut w = world();
        w.defaults.price_source = PriceSource::PriceList;
        w.defaults.price_list_id = Some(1);
        let o = order(serde_json::json!({"lineItems": [
            {"lineNumber": 1, "sku": "SKU-1", "quantity": 5, "cancelledQuantity": 2, "rejectedQuantity": 1},
            {"lineNumber": 2, "sku": "SKU-2", "quantity": 1, "cancelledQuantity": 1}
        ]}));
        let p = run(&w, &o).unwrap();
        assert_eq!(p.order.rows.len(), 1);
        assert_eq!(p.order.rows[0].quantity, "2");
        assert_eq!(p.order.rows[0].net, "15.0000");
    }

    #[test]
    fn long_text_is_cut_and_the_note_keeps_it() {
        let w = world();
        let long = "Straße ".repeat(30);
        let o = order(serde_json::json!({
            "poNumber": "P".repeat(80),
            "shipping": {"name": "名前", "address1": long, "city": "Springfield", "postal": "62701", "country": "US"}
        }));
        let p = run(&w, &o).unwrap();
        assert_eq!(p.order.reference.as_ref().unwrap().chars().count(), 64);
        let address = p.order.delivery.as_ref().unwrap().address.as_ref().unwrap();
        assert_eq!(address.address_line1.as_ref().unwrap().chars().count(), 100);
        assert_eq!(address.address_full_name.as_deref(), Some("名前"));
        assert_eq!(p.cut, ["delivery.address.addressLine1", "ref"]);
        let note = p.note.unwrap();
        assert!(note.contains(long.trim()) && note.contains(&"P".repeat(80)));
    }

    #[test]
    fn missing_shipping_method_and_tax_code_need_attention() {
        let mut w = world();
        w.defaults.shipping_method_id = None;
        w.defaults.tax_code = None;
        let problems = run(
            &w,
            &order(serde_json::json!({"shippingServiceLevelCode": "UPSG"})),
        )
        .unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("no shipping-method mapping for DSCO service level UPSG"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("orders.tax_code is not set"))
        );
    }

    #[test]
    fn shipping_charges_become_one_free_text_row_when_a_nominal_code_is_set() {
        let mut w = world();
        let o = order(serde_json::json!({"shippingSurcharge": 7.5}));
        assert_eq!(
            run(&w, &o).unwrap().order.rows.len(),
            1,
            "no nominal code: no row"
        );
        w.defaults.shipping_charge_nominal_code = Some("4040".into());
        let p = run(&w, &o).unwrap();
        assert_eq!(p.order.rows.len(), 2);
        let row = &p.order.rows[1];
        assert_eq!(row.product_id, None);
        assert_eq!(row.nominal_code.as_deref(), Some("4040"));
        assert_eq!(row.net, "7.5000");
        assert_eq!(row.tax, "0.7500");
        assert!(row.name.as_deref().unwrap().contains("Shipping"));
    }

    #[test]
    fn lifecycle_falls_back_to_the_deprecated_status() {
        let mut o = order(serde_json::json!({}));
        o.dsco_lifecycle = None;
        o.dsco_status = Some("shipment_pending".into());
        assert_eq!(o.lifecycle().as_str(), "acknowledged");
        o.dsco_lifecycle = Some("completed".into());
        o.dsco_status = Some("cancelled".into());
        assert_eq!(o.lifecycle().as_str(), "cancelled");
        o.dsco_lifecycle = Some("created".into());
        assert_eq!(o.lifecycle().as_str(), "created");
    }
}

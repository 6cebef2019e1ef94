//! The demo world (from `sandbox::demo`) and in-process product creation.
//!
//! Product ids equal the demo catalog index, so DSCO-only products (every 40th) leave gaps, as
//! deleted products would (ids are never reused, brightpearl-api.md §1.3).

use std::collections::BTreeMap;

use serde_json::json;

use super::contacts::create_address;
use super::hooks::Event;
use super::sim::Inner;
use super::state::{Contact, CustomFieldMeta, OrderStatus, Product, State, TaxCode};
use super::wire::Fixed;
use crate::sandbox::common::lock;
use crate::sandbox::demo;

/// A product to add with [`BrightpearlSim::add_product`](super::sim::BrightpearlSim::add_product).
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub sku: String,
    pub name: String,
    pub barcode: String,
    pub ean: String,
    pub upc: String,
    pub mpn: String,
    /// Sell price, e.g. "19.99".
    pub price: String,
    /// Cost, e.g. "9.50".
    pub cost: String,
    /// Ignored for a bundle: bundles are never stock-tracked (brightpearl-api.md §4.10).
    pub stock_tracked: bool,
    /// Makes the product a bundle of (product id, quantity per bundle) when not empty.
    pub bundle_components: Vec<(u32, i64)>,
}

impl Default for NewProduct {
    fn default() -> Self {
        NewProduct {
            sku: String::new(),
            name: String::new(),
            barcode: String::new(),
            ean: String::new(),
            upc: String::new(),
            mpn: String::new(),
            price: "10.00".into(),
            cost: "5.00".into(),
            stock_tracked: true,
            bundle_components: Vec::new(),
        }
    }
}

pub fn empty_state() -> State {
    State::default()
}

fn product_from(inner: &Inner, id: u32, product: NewProduct) -> Product {
    let now = inner.now();
    Product {
        id,
        sku: product.sku,
        name: product.name,
        barcode: product.barcode,
        ean: product.ean,
        upc: product.upc,
        mpn: product.mpn,
        isbn: String::new(),
        brand_id: 1,
        product_type_id: 1,
        product_group_id: 0,
        stock_tracked: product.stock_tracked && product.bundle_components.is_empty(),
        bundle_components: product.bundle_components,
        tax_code_id: 2,
        status: "LIVE".into(),
        price: Fixed::parse(&product.price).unwrap_or_default(),
        cost: Fixed::parse(&product.cost).unwrap_or_default(),
        created_on: now,
        updated_on: now,
    }
}

pub fn add_product(inner: &Inner, product: NewProduct) -> (u32, Vec<Event>) {
    let mut state = lock(&inner.state);
    let id = state.ids.next_product();
    let product = product_from(inner, id, product);
    state.products.insert(id, product);
    (id, vec![Event::new("product.created", id)])
}

/// Seed lookups, contacts, the first `products` demo products (those Brightpearl has) and stock.
pub fn seed_demo(inner: &Inner, products: u32) -> Vec<Event> {
    let first_time = lock(&inner.state).warehouses.is_empty();
    if first_time {
        seed_lookups(&mut lock(&inner.state));
        seed_contacts(inner);
    }
    if inner.config.demo.is_some() {
        // The demo warehouse ships some notes on a method the sandbox leaves unmapped.
        let id = crate::sandbox::brightpearl::DemoFulfilment::UNMAPPED_SHIPPING_METHOD_ID;
        lock(&inner.state)
            .shipping_methods
            .entry(id)
            .or_insert_with(|| {
                json!({
                    "id": id, "name": "DHL Express Worldwide", "code": "DHLEXP",
                    "breaks": "10,100,250,1000,100000", "methodType": 1,
                    "additionalInformationRequired": false, "carrier": "DHL", "countries": "US",
                    "channelBrandTemplates": {},
                })
            });
    }
    let mut events = Vec::new();
    let mut state = lock(&inner.state);
    let warehouse_ids: Vec<u32> = state.warehouses.keys().copied().collect();
    for item in demo::catalog(products)
        .into_iter()
        .filter(|p| p.in_brightpearl)
    {
        if state.products.contains_key(&item.index) {
            continue;
        }
        let index = item.index;
        let product = product_from(
            inner,
            index,
            NewProduct {
                sku: item.sku,
                name: item.name,
                barcode: item.barcode,
                ean: item.ean,
                upc: item.upc,
                mpn: item.mpn,
                price: item.price,
                cost: item.cost,
                stock_tracked: true,
                bundle_components: Vec::new(),
            },
        );
        state.products.insert(index, product);
        state.ids.product = state.ids.product.max(index + 1);
        // Deterministic stock: plenty in the first warehouse, some in the second, a few in the
        // third, and none at all for every 7th product there.
        for (position, warehouse) in warehouse_ids.iter().enumerate() {
            let quantity = match position {
                0 => 20 + i64::from(index * 7 % 50),
                1 => i64::from(index * 3 % 20),
                _ if index % 7 == 0 => continue,
                _ => i64::from(index % 5),
            };
            state.stock.insert((index, *warehouse), quantity);
        }
        events.push(Event::new("product.created", index));
    }
    events
}

fn seed_lookups(state: &mut State) {
    for (position, warehouse) in demo::warehouses().into_iter().enumerate() {
        let id = position as u32 + 1;
        state.warehouses.insert(
            id,
            json!({
                "id": id, "name": warehouse.name, "typeCode": "warehouse",
                "typeDescription": "Warehouse", "address": {"addressId": 0},
                "clickAndCollectEnabled": false,
            }),
        );
    }
    for (id, name, code, carrier) in [
        (1, "UPS Ground", "UPSGND", "UPS"),
        (2, "FedEx 2Day", "FDX2D", "FedEx"),
        (3, "USPS Priority Mail", "USPSPM", "USPS"),
        (4, "FedEx Home Delivery", "FDXHD", "FedEx"),
    ] {
        state.shipping_methods.insert(
            id,
            json!({
                "id": id, "name": name, "code": code, "breaks": "10,100,250,1000,100000",
                "methodType": 1, "additionalInformationRequired": false, "carrier": carrier,
                "countries": "US", "channelBrandTemplates": {},
            }),
        );
    }
    for (id, name, type_code, visible, status_state, color) in [
        (1, "Draft / Quote", "SO", true, "draft", "#E7E6E4"),
        (2, "New order", "SO", true, "open", "#4CAF50"),
        (3, "Awaiting fulfilment", "SO", true, "open", "#2196F3"),
        (4, "Invoiced", "SO", true, "closed", "#9C27B0"),
        (5, "Cancelled", "SO", true, "cancelled", "#F44336"),
        (6, "Shipped", "SO", true, "open", "#795548"),
        (7, "Archived", "SO", false, "closed", "#607D8B"),
        (8, "Pending purchase", "PO", true, "open", "#FFC107"),
        // A status for cancelling what is left of a partly shipped order: Brightpearl refuses
        // its cancelled-sales status once an order has a goods-out note (§4.6).
        (9, "Cancel remainder", "SO", true, "open", "#FF9800"),
    ] {
        state.order_statuses.insert(
            id,
            OrderStatus {
                id,
                name: name.into(),
                order_type_code: type_code.into(),
                visible,
                state: status_state.into(),
                color: color.into(),
            },
        );
    }
    state.default_status_id = 2;
    state.invoiced_status_id = Some(4);
    state.cancelled_status_id = Some(5);
    for (id, name, type_id, warehouse) in [(1, "Webstore", 1, 1), (2, "DSCO", 1, 1)] {
        state.channels.insert(
            id,
            json!({
                "id": id, "name": name, "channelTypeId": type_id, "channelBrandId": 1,
                "defaultWarehouseId": warehouse, "contactGroupId": 1, "defaultPriceListId": 2,
                "warehouseIds": [1, 2, 3],
            }),
        );
    }
    for (id, name, code, type_code) in [(1, "Cost", "COST", "BUY"), (2, "Retail", "RETAIL", "SELL")]
    {
        state.price_lists.insert(
            id,
            json!({
                "id": id, "name": {"languageCode": "en", "text": name, "format": "PLAINTEXT"},
                "code": code, "currencyCode": "USD", "currencySymbol": "$", "currencyId": 1,
                "priceListTypeCode": type_code, "gross": false,
            }),
        );
    }
    for (id, code, description, rate) in [
        (1, "Z", "Exempt", None),
        (2, "T", "Taxable", Some("10.0000")),
        (3, "N", "Not taxable", None),
        (4, "R", "Reduced rate", Some("5.0000")),
    ] {
        state.tax_codes.insert(
            id,
            TaxCode {
                id,
                code: code.into(),
                description: description.into(),
                rate: rate.and_then(Fixed::parse),
            },
        );
    }
    state.custom_fields = vec![
        CustomFieldMeta {
            id: 1,
            code: "PCF_DSCOID".into(),
            name: "DSCO order id".into(),
            field_type: "TEXT".into(),
            options: BTreeMap::new(),
        },
        CustomFieldMeta {
            id: 2,
            code: "PCF_CHANNEL".into(),
            name: "Sales channel".into(),
            field_type: "SELECT".into(),
            options: BTreeMap::from([(137, "DSCO".into()), (138, "Web".into())]),
        },
        CustomFieldMeta {
            id: 3,
            code: "PCF_SHIPBY".into(),
            name: "Ship by".into(),
            field_type: "DATE".into(),
            options: BTreeMap::new(),
        },
        CustomFieldMeta {
            id: 4,
            code: "PCF_GIFT".into(),
            name: "Gift order".into(),
            field_type: "YESNO".into(),
            options: BTreeMap::new(),
        },
        CustomFieldMeta {
            id: 5,
            code: "PCF_RETAILER".into(),
            name: "Retailer".into(),
            field_type: "TEXT".into(),
            options: BTreeMap::new(),
        },
    ];
}

/// Contacts: 1 staff, 2 a drop-ship supplier, then one customer per demo retailer, then two
/// customers sharing one email (contact search may return several hits, §4.17).
fn seed_contacts(inner: &Inner) {
    let mut people: Vec<(String, String, String, String, bool, bool)> = vec![
        (
            "Sam".into(),
            "Staff".into(),
            "Sandbox".into(),
            "staff@sandbox.example".into(),
            false,
            true,
        ),
        (
            "Sally".into(),
            "Supplier".into(),
            "Dropship Supplier Co".into(),
            "supply@supplier.example".into(),
            true,
            false,
        ),
    ];
    for retailer in demo::retailers() {
        people.push((
            "Orders".into(),
            retailer.name.chars().take(32).collect(),
            retailer.name.clone(),
            format!("orders+{}@retailer.example", retailer.retailer_id),
            false,
            false,
        ));
    }
    people.push((
        "Jane".into(),
        "Buyer".into(),
        String::new(),
        "jane@example.com".into(),
        false,
        false,
    ));
    people.push((
        "Jane".into(),
        "Buyer-Smith".into(),
        String::new(),
        "jane@example.com".into(),
        false,
        false,
    ));
    for (first, last, company, email, supplier, staff) in people {
        let address = create_address(
            inner,
            &json!({"addressLine1": "1 Demo Street", "addressLine3": "Springfield",
                    "addressLine4": "IL", "postalCode": "62701", "countryIsoCode": "USA"}),
        )
        .unwrap_or_default();
        let now = inner.now();
        let mut state = lock(&inner.state);
        let id = state.ids.next_contact();
        if let Some(stored) = state.addresses.get_mut(&address) {
            stored.contact_id = id;
        }
        state.contacts.insert(
            id,
            Contact {
                id,
                first_name: first,
                last_name: last,
                company_name: company,
                emails: BTreeMap::from([("PRI".to_owned(), email)]),
                telephones: BTreeMap::from([("PRI".to_owned(), "555-0100".to_owned())]),
                post_address_ids: BTreeMap::from([
                    ("DEF".to_owned(), address),
                    ("BIL".to_owned(), address),
                    ("DEL".to_owned(), address),
                ]),
                is_supplier: supplier,
                is_staff: staff,
                is_customer: !supplier && !staff,
                price_list_id: 2,
                created_on: Some(now),
                updated_on: Some(now),
                ..Contact::default()
            },
        );
    }
}

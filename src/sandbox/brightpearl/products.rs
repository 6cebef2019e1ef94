//! Products and stock (brightpearl-api.md §4.10, §4.11): product GET/OPTIONS, product search,
//! product prices, and per-warehouse availability with `onHand = inStock − allocated`.
//!
//! Allocation is not stored: it is the quantity on goods-out notes not yet shipped.

use std::collections::BTreeMap;

use axum::http::Method;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::hooks::Event;
use super::idset::get_uris;
use super::request::{Outcome, Req, id_set, plain};
use super::search::{Column, Kind, col, col_ref, search};
use super::sim::Inner;
use super::state::{Product, State};
use super::wire;
use crate::sandbox::common::lock;

pub fn route(inner: &Inner, request: &Req) -> Outcome {
    let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
    plain(match (&request.method, segments.as_slice()) {
        (&Method::GET, ["product", ids]) => get_products(inner, ids),
        (&Method::OPTIONS, ["product", rest @ ..]) => {
            options(inner, "product", rest.first().copied())
        }
        (&Method::GET, ["product-search"]) => product_search(inner, request),
        (&Method::GET, ["product-price", ids]) => get_prices(inner, ids),
        (&Method::OPTIONS, ["product-price", rest @ ..]) => {
            options(inner, "product-price", rest.first().copied())
        }
        (&Method::GET, ["price-list", rest @ ..]) => {
            super::lookups::price_lists(inner, rest.first().copied())
        }
        (&Method::GET, ["channel", rest @ ..]) => {
            super::lookups::channels(inner, rest.first().copied())
        }
        _ => request.not_found(),
    })
}

/// Warehouse-service routes other than goods notes.
pub fn route_warehouse(inner: &Inner, request: &Req) -> Outcome {
    let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
    plain(match (&request.method, segments.as_slice()) {
        (&Method::GET, ["product-availability", ids]) => availability(inner, ids),
        (&Method::GET, ["warehouse", rest @ ..]) => {
            super::lookups::warehouses(inner, rest.first().copied())
        }
        (&Method::GET, ["shipping-method", rest @ ..]) => {
            super::lookups::shipping_methods(inner, rest.first().copied())
        }
        _ => request.not_found(),
    })
}

fn render_product(inner: &Inner, state: &State, product: &Product) -> Value {
    let dates = &inner.dates;
    // Empty identity keys are left out, as in recorded products (§4.10).
    let mut identity = Map::new();
    for (key, value) in [
        ("sku", &product.sku),
        ("isbn", &product.isbn),
        ("ean", &product.ean),
        ("upc", &product.upc),
        ("mpn", &product.mpn),
        ("barcode", &product.barcode),
    ] {
        if !value.is_empty() {
            identity.insert(key.into(), json!(value));
        }
    }
    let tax_code = state.tax_codes.get(&product.tax_code_id);
    let warehouses: Map<String, Value> = state
        .warehouses
        .keys()
        .map(|id| {
            (
                id.to_string(),
                json!({"defaultLocationId": 0, "overflowLocationId": 0, "reorderLevel": 0, "reorderQuantity": 0}),
            )
        })
        .collect();
    json!({
        "id": product.id,
        "brandId": product.brand_id,
        "productTypeId": product.product_type_id,
        "identity": identity,
        "productGroupId": product.product_group_id,
        "featured": false,
        "stock": {
            "stockTracked": product.stock_tracked,
            "weight": {"magnitude": 0.0},
            "dimensions": {"length": 0.0, "height": 0.0, "width": 0.0, "volume": 0.0},
        },
        "financialDetails": {
            "taxable": tax_code.is_some_and(|tax| tax.rate.is_some()),
            "taxCode": {"id": product.tax_code_id, "code": tax_code.map(|tax| tax.code.clone())},
        },
        "salesChannels": [{
            "salesChannelName": "Brightpearl",
            "productName": product.name,
            "productCondition": "new",
            "categories": [],
            "description": {"languageCode": "en", "text": "", "format": "HTML_FRAGMENT"},
            "shortDescription": {"languageCode": "en", "text": "", "format": "HTML_FRAGMENT"},
        }],
        "composition": composition(product),
        "createdOn": dates.format(product.created_on),
        "updatedOn": dates.format(product.updated_on),
        "warehouses": warehouses,
        "nominalCodeStock": "1201",
        "nominalCodePurchases": "5000",
        "nominalCodeSales": "4000",
        "seasonIds": [],
        "reporting": {},
        "status": product.status,
        "salesPopupMessage": "",
        "warehousePopupMessage": "",
        "version": product.updated_on.timestamp_millis(),
    })
}

/// `composition` (§4.10): a bundle lists its components; other products only say they are not one.
fn composition(product: &Product) -> Value {
    if product.bundle_components.is_empty() {
        return json!({"bundle": false});
    }
    let components: Vec<Value> = product
        .bundle_components
        .iter()
        .map(|(id, quantity)| json!({"productId": id, "productQuantity": quantity}))
        .collect();
    json!({"bundle": true, "bundleComponents": components})
}

fn get_products(inner: &Inner, ids: &str) -> Response {
    let set = match id_set(Some(ids), Some(200)) {
        Ok(set) => set,
        Err(response) => return response,
    };
    let state = lock(&inner.state);
    let found: Vec<Value> = set
        .select(state.products.keys().copied())
        .into_iter()
        .filter_map(|id| state.products.get(&id))
        .map(|product| render_product(inner, &state, product))
        .collect();
    // guess: unknown ids are skipped, and a set with no known product answers 404 CMNC-404
    // (brightpearl-api.md §1.3, §1.7: only Order GET is recorded answering `[]`)
    if found.is_empty() {
        return wire::not_found(format!("No products found for ID set {ids}"));
    }
    wire::ok(Value::Array(found))
}

fn options(inner: &Inner, resource: &str, ids: Option<&str>) -> Response {
    let set = match id_set(ids, None) {
        Ok(set) => set,
        Err(response) => return response,
    };
    let state = lock(&inner.state);
    let ids = set.select(state.products.keys().copied());
    wire::ok(json!({"getUris": get_uris(resource, &ids, 200)}))
}

fn get_prices(inner: &Inner, ids: &str) -> Response {
    let set = match id_set(Some(ids), Some(200)) {
        Ok(set) => set,
        Err(response) => return response,
    };
    let state = lock(&inner.state);
    let prices: Vec<Value> = set
        .select(state.products.keys().copied())
        .into_iter()
        .filter_map(|id| state.products.get(&id))
        .map(|product| {
            let lists: Vec<Value> = state
                .price_lists
                .iter()
                .map(|(id, list)| {
                    let price = if list["priceListTypeCode"] == "BUY" {
                        product.cost
                    } else {
                        product.price
                    };
                    json!({
                        "priceListId": id,
                        "currencyCode": list["currencyCode"],
                        "currencyId": list["currencyId"],
                        "sku": product.sku,
                        "quantityPrice": {"1": price.format(4)},
                    })
                })
                .collect();
            json!({"productId": product.id, "priceLists": lists})
        })
        .collect();
    if prices.is_empty() {
        return wire::not_found("No product prices found");
    }
    wire::ok(Value::Array(prices))
}

/// Quantity allocated (on unshipped goods-out notes) per (product, warehouse).
pub fn allocated(state: &State) -> BTreeMap<(u32, u32), i64> {
    let mut out = BTreeMap::new();
    for note in state
        .goods_out
        .values()
        .filter(|note| note.shipped.is_none())
    {
        for (product_id, quantity) in note.rows.values() {
            *out.entry((*product_id, note.warehouse_id)).or_insert(0) += quantity;
        }
    }
    out
}

/// Availability of one product: (inStock, allocated) per warehouse that holds it.
pub fn availability_of(state: &State, product_id: u32) -> BTreeMap<u32, (i64, i64)> {
    let allocated = allocated(state);
    let mut out = BTreeMap::new();
    // The product's own rows only: a scan of every row made a 200-id call against a large
    // catalog cost the simulator more than Brightpearl's throttle allows between calls.
    for ((_, warehouse), in_stock) in state.stock.range((product_id, 0)..=(product_id, u32::MAX)) {
        out.insert(*warehouse, (*in_stock, 0));
    }
    for ((product, warehouse), quantity) in allocated {
        if product == product_id {
            out.entry(warehouse).or_insert((0, 0)).1 = quantity;
        }
    }
    out
}

fn counts(in_stock: i64, allocated: i64) -> Value {
    json!({"inStock": in_stock, "onHand": in_stock - allocated, "allocated": allocated, "inTransit": 0})
}

fn availability(inner: &Inner, ids: &str) -> Response {
    // guess: the same 200-id cap as product GET (brightpearl-api.md §1.3 lists none for availability)
    let set = match id_set(Some(ids), Some(200)) {
        Ok(set) => set,
        Err(response) => return response,
    };
    let state = lock(&inner.state);
    // One unknown product fails the whole call with 400 (§4.11, §5.4 pitfall 18, reported).
    if let Some(unknown) = set
        .explicit()
        .into_iter()
        .find(|id| !state.products.contains_key(id))
    {
        return wire::bad_request("WHSC-044", format!("Product {unknown} does not exist"));
    }
    let mut out = Map::new();
    for id in set.select(state.products.keys().copied()) {
        // guess: a bundle holds no stock of its own and §4.11 says nothing of bundles, so its
        // availability is that of a product with no stock rows (zero totals, no warehouses).
        let per_warehouse = if is_bundle(&state, id) {
            BTreeMap::new()
        } else {
            availability_of(&state, id)
        };
        let (total_stock, total_allocated) = per_warehouse
            .values()
            .fold((0, 0), |(s, a), (stock, allocated)| {
                (s + stock, a + allocated)
            });
        let warehouses: Map<String, Value> = per_warehouse
            .iter()
            .map(|(warehouse, (stock, allocated))| {
                (warehouse.to_string(), counts(*stock, *allocated))
            })
            .collect();
        out.insert(
            id.to_string(),
            json!({"total": counts(total_stock, total_allocated), "warehouses": warehouses}),
        );
    }
    wire::ok(Value::Object(out))
}

/// Whether the product is a bundle.
pub fn is_bundle(state: &State, product_id: u32) -> bool {
    state
        .products
        .get(&product_id)
        .is_some_and(|p| !p.bundle_components.is_empty())
}

/// Set `onHand` to `on_hand` by moving `inStock` (allocation stays as it is).
pub fn set_stock(inner: &Inner, product_id: u32, warehouse_id: u32, on_hand: i64) -> Vec<Event> {
    let mut state = lock(&inner.state);
    let allocated = allocated(&state)
        .get(&(product_id, warehouse_id))
        .copied()
        .unwrap_or(0);
    state
        .stock
        .insert((product_id, warehouse_id), on_hand + allocated);
    vec![Event::new("product.modified.on-hand-modified", product_id)]
}

/// Goods in: `quantity` more units in stock (and on hand) in a warehouse, as a received
/// goods-in note books them (brightpearl-api.md §4.16 `goods-in-note.created`; the note itself
/// is not modelled).
pub fn receive_stock(
    inner: &Inner,
    product_id: u32,
    warehouse_id: u32,
    quantity: i64,
) -> Vec<Event> {
    let mut state = lock(&inner.state);
    *state.stock.entry((product_id, warehouse_id)).or_insert(0) += quantity;
    vec![Event::new("product.modified.on-hand-modified", product_id)]
}

const PRODUCT_SEARCH: &[Column] = &[
    col_ref("productId", Kind::IdSet, "productCategoryMembership"),
    col("productName", Kind::SearchString),
    col("SKU", Kind::Text),
    col("barcode", Kind::Text),
    col("EAN", Kind::Text),
    col("UPC", Kind::Text),
    col("ISBN", Kind::Text),
    col("MPN", Kind::Text),
    col("stockTracked", Kind::Boolean),
    col("salesChannelName", Kind::Text),
    col("createdOn", Kind::Period),
    col("updatedOn", Kind::Period),
    col("brightpearlCategoryCode", Kind::IdSet),
    col("productGroupId", Kind::Integer),
    col("brandId", Kind::IdSet),
    col("productTypeId", Kind::IdSet),
    col("productStatus", Kind::Text),
    col("primarySupplierId", Kind::IdSet),
];

fn product_search(inner: &Inner, request: &Req) -> Response {
    let state = lock(&inner.state);
    let dates = &inner.dates;
    let empty_or = |text: &str| {
        if text.is_empty() {
            Value::Null
        } else {
            json!(text)
        }
    };
    let rows: Vec<Vec<Value>> = state
        .products
        .values()
        .map(|product| {
            vec![
                json!(product.id),
                json!(product.name),
                json!(product.sku),
                empty_or(&product.barcode),
                empty_or(&product.ean),
                empty_or(&product.upc),
                empty_or(&product.isbn),
                empty_or(&product.mpn),
                json!(product.stock_tracked),
                json!("Brightpearl"),
                json!(dates.format(product.created_on)),
                json!(dates.format(product.updated_on)),
                Value::Null,
                json!(product.product_group_id),
                json!(product.brand_id),
                json!(product.product_type_id),
                json!(product.status),
                Value::Null,
            ]
        })
        .collect();
    let mut reference = Map::new();
    reference.insert(
        "productCategoryMembership".into(),
        Value::Object(
            state
                .products
                .keys()
                .map(|id| (id.to_string(), json!([])))
                .collect(),
        ),
    );
    search(inner, request, PRODUCT_SEARCH, rows, &reference)
}

//! Orders: the retailer create (`POST /order/`), the supplier reads (`GET /order/page`,
//! `GET /order/`), the retailer's cancel request (`PUT /order/request/cancel`) and the in-process
//! scenario handles on [`DscoSim`]. The order/line state model of dsco-api.md §2.3 is `lines.rs`.
//!
//! Orders are kept as the JSON the API returns, with the OpenAPI's field names.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::config::DscoSimConfig;
use super::http::{Params, bad_request, not_found, parse_object};
use super::lines::{activity, cancel_units, field, find_line, open_quantity, recompute};
use super::sim::DscoSim;
use super::state::{
    State as SimState, fmt_date, new_uuid, parse_date, quantity, stored_date, text,
};
use super::stock;

const ORDER_STATUSES: [&str; 4] = ["created", "shipment_pending", "shipped", "cancelled"];

/// `GET /hello` (dsco-api.md §1.1).
pub(crate) async fn hello() -> Json<Value> {
    Json(json!({"hello": "World!"}))
}

// ---------------------------------------------------------------------------------------------
// Reads

/// `GET /order/page` (dsco-api.md §2.2).
pub(crate) async fn page(State(sim): State<DscoSim>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref());
    let now = sim.clock().now();
    sim.with_state(|state, _| {
        if let Some(scroll_id) = params.get("scrollId") {
            return match state.next_page(scroll_id, "orders", now) {
                Some(page) => Json(page).into_response(),
                None => not_found("the scrollId is unknown or has expired"),
            };
        }
        let statuses = params.all("status");
        if let Some(bad) = statuses.iter().find(|s| !ORDER_STATUSES.contains(s)) {
            return bad_request(&format!(
                "status {bad} is not one of created, shipment_pending, shipped, cancelled"
            ));
        }
        let per_page = match params.get("ordersPerPage") {
            None => 1000,
            Some(raw) => match raw.parse::<f64>() {
                Ok(n) if n.fract() == 0.0 && (10.0..=1000.0).contains(&n) => n as usize,
                _ => return bad_request("ordersPerPage must be an integer from 10 to 1000"),
            },
        };
        let include_test = params.flag("includeTestOrders");
        let returned_only = params
            .get("returnedOnly")
            .map(|v| v.eq_ignore_ascii_case("true"));
        let common_filter = |order: &Value| {
            let status_ok = statuses.is_empty()
                || order["dscoStatus"]
                    .as_str()
                    .is_some_and(|s| statuses.contains(&s));
            let test_ok = include_test || order["testFlag"].as_bool() != Some(true);
            let returned_ok = returned_only.is_none_or(|want| is_returned(order) == want);
            status_ok && test_ok && returned_ok
        };

        let mut found: Vec<Value> = if let Some(number) = params.get("consumerOrderNumber") {
            state
                .orders
                .values()
                .filter(|o| o["consumerOrderNumber"].as_str() == Some(number))
                .filter(|o| common_filter(o))
                .map(|o| state.as_read(o))
                .collect()
        } else {
            let Some(until_raw) = params.get("until") else {
                return bad_request("until is required with ordersCreatedSince/ordersUpdatedSince");
            };
            let Some(until) = parse_date(until_raw) else {
                return bad_request("until must be an ISO 8601 date-time with an offset");
            };
            // guess: the code of the "until too recent" failure is unconfirmed; 400 (dsco-api.md §9).
            if until > now - chrono::Duration::seconds(5) {
                return bad_request("until must be at least 5 seconds in the past");
            }
            // guess: when both …Since parameters are given, ordersCreatedSince wins; the reference
            // states no precedence between the two (dsco-api.md §2.2).
            let (field, since, inclusive) = if let Some(raw) = params.get("ordersCreatedSince") {
                ("dscoCreateDate", raw, true)
            } else if let Some(raw) = params.get("ordersUpdatedSince") {
                ("dscoLastUpdate", raw, false)
            } else {
                return bad_request("one of ordersCreatedSince or ordersUpdatedSince is required");
            };
            let Some(since) = parse_date(since) else {
                return bad_request(&format!(
                    "{} must be an ISO 8601 date-time with an offset",
                    if inclusive {
                        "ordersCreatedSince"
                    } else {
                        "ordersUpdatedSince"
                    }
                ));
            };
            state
                .orders
                .values()
                .filter(|o| {
                    // guess: `until` is inclusive, so windows chained as since=previous until
                    // (exclusive) neither overlap nor leave gaps (dsco-api.md §2.2).
                    stored_date(&o[field]).is_some_and(|at| {
                        (if inclusive { at >= since } else { at > since }) && at <= until
                    })
                })
                .filter(|o| common_filter(o))
                .map(|o| state.as_read(o))
                .collect()
        };
        // Newest first, as observed (dsco-api.md §1.9).
        found.sort_by(|a, b| {
            let key = |o: &Value| {
                (
                    stored_date(&o["dscoCreateDate"]),
                    text(&o["dscoOrderId"]).and_then(|id| id.parse::<u64>().ok()),
                )
            };
            key(b).cmp(&key(a))
        });
        Json(state.start_scroll(found, per_page, "orders", None, now)).into_response()
    })
}

fn is_returned(order: &Value) -> bool {
    order["packages"].as_array().is_some_and(|p| {
        p.iter()
            .any(|pkg| pkg["returnedFlag"].as_bool() == Some(true))
    })
}

/// `GET /order/?orderKey=&value=[&returnMultiple=]` (dsco-api.md §2.2a).
pub(crate) async fn get_one(State(sim): State<DscoSim>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref());
    let Some(key) = params.get("orderKey") else {
        return bad_request("orderKey is required");
    };
    if !["dscoOrderId", "poNumber", "supplierOrderNumber"].contains(&key) {
        return bad_request("orderKey must be one of dscoOrderId, poNumber, supplierOrderNumber");
    }
    let Some(value) = params.get("value") else {
        return bad_request("value is required");
    };
    let multiple = params.flag("returnMultiple");
    // guess: test orders are returned by key; only the page search hides them (dsco-api.md §2.2).
    sim.with_state(|state, _| {
        let found: Vec<Value> = state
            .find_orders(key, value)
            .into_iter()
            .filter_map(|id| state.orders.get(&id).map(|o| state.as_read(o)))
            .collect();
        match (found.first(), multiple) {
            (None, _) => not_found(&format!("no order found with {key} {value}")),
            (Some(_), true) => Json(Value::Array(found)).into_response(),
            (Some(first), false) => Json(first.clone()).into_response(),
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Retailer create

/// `POST /order/` — the retailer's synchronous create (dsco-api.md §9): 201 with the created
/// order, 200 with the existing one when the PO already existed.
pub(crate) async fn create(State(sim): State<DscoSim>, body: Bytes) -> Response {
    let input = match parse_object(&body) {
        Ok(v) => v,
        Err(response) => return *response,
    };
    if let Err(problem) = validate_create(&input) {
        return bad_request(&problem);
    }
    let now = sim.clock().now();
    sim.with_state(|state, config| {
        let retailer = text(&input["dscoRetailerId"]).unwrap_or_else(|| default_retailer(state));
        let po = text(&input["poNumber"]).unwrap_or_default();
        // guess: "the PO already existed" means the same poNumber from the same retailer (§9).
        let existing: Vec<Value> = state
            .find_orders("poNumber", &po)
            .into_iter()
            .filter_map(|id| state.orders.get(&id).cloned())
            .filter(|o| o["dscoRetailerId"].as_str() == Some(retailer.as_str()))
            .collect();
        let (status, orders) = if existing.is_empty() {
            let mut input = input.clone();
            // Server-owned fields are not taken from a retailer's body.
            if let Some(object) = input.as_object_mut() {
                for key in [
                    "dscoOrderId",
                    "dscoCreateDate",
                    "dscoLastUpdate",
                    "dscoLifecycle",
                    "dscoStatus",
                ] {
                    object.remove(key);
                }
            }
            let id = insert_order(state, config, input, now);
            (StatusCode::CREATED, vec![state.orders[&id].clone()])
        } else {
            (StatusCode::OK, existing)
        };
        let ids: Vec<Value> = orders.iter().map(|o| o["dscoOrderId"].clone()).collect();
        (
            status,
            Json(json!({
                "status": "success",
                "dscoOrderIds": ids,
                "dscoOrders": orders,
                "eventDate": fmt_date(now),
            })),
        )
            .into_response()
    })
}

/// The schema's required fields of an Order: `poNumber`, `lineItems` (each `quantity` ≥ 1 and an
/// item identifier), `shipping` with `city`, `region`, `postal` (dsco-api.md §2.4).
fn validate_create(order: &Value) -> Result<(), String> {
    if text(&order["poNumber"]).is_none() {
        return Err("poNumber is required".into());
    }
    let lines = order["lineItems"]
        .as_array()
        .filter(|l| !l.is_empty())
        .ok_or("lineItems is required and must not be empty")?;
    for (i, line) in lines.iter().enumerate() {
        if quantity(&line["quantity"]).is_none_or(|q| q < 1) {
            return Err(format!("lineItems[{i}].quantity must be at least 1"));
        }
        if !has_item_id(line) {
            return Err(format!(
                "lineItems[{i}] needs one of dscoItemId, sku, partnerSku, upc, ean, mpn, isbn, gtin"
            ));
        }
    }
    let shipping = order["shipping"]
        .as_object()
        .ok_or("shipping is required")?;
    for field in ["city", "region", "postal"] {
        if shipping
            .get(field)
            .and_then(|v| v.as_str())
            .is_none_or(str::is_empty)
        {
            return Err(format!("shipping.{field} is required"));
        }
    }
    Ok(())
}

pub(crate) fn has_item_id(line: &Value) -> bool {
    [
        "dscoItemId",
        "sku",
        "partnerSku",
        "upc",
        "ean",
        "mpn",
        "isbn",
        "gtin",
    ]
    .iter()
    .any(|k| text(&line[*k]).is_some())
}

fn default_retailer(state: &SimState) -> String {
    state
        .trading_partners
        .first()
        .and_then(|tp| text(&tp["accountId"]))
        .unwrap_or_else(|| "1000001".into())
}

/// Complete a retailer's order with DSCO's generated and defaulted fields, store it, and apply
/// the inventory auto-decrement (dsco-api.md §4.3). Returns the new `dscoOrderId`.
pub(crate) fn insert_order(
    state: &mut SimState,
    config: &DscoSimConfig,
    input: Value,
    now: DateTime<Utc>,
) -> u64 {
    let id = state.new_order_id();
    let mut order = match input {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let created = order
        .get("dscoCreateDate")
        .and_then(stored_date)
        .unwrap_or(now);
    let retailer = order
        .get("dscoRetailerId")
        .and_then(text)
        .unwrap_or_else(|| default_retailer(state));
    let partner = state
        .trading_partners
        .iter()
        .find(|tp| text(&tp["accountId"]).as_deref() == Some(retailer.as_str()))
        .cloned();
    let mut set = |key: &str, value: Value| {
        order.insert(key.to_owned(), value);
    };
    set("dscoOrderId", json!(id.to_string()));
    set("dscoRetailerId", json!(retailer));
    set("dscoSupplierId", json!(config.supplier_id));
    set("dscoCreateDate", json!(fmt_date(created)));
    // The OpenAPI's Order calls it `dscoLastUpdate` (the flat files say dsco_last_update_date).
    set("dscoLastUpdate", json!(fmt_date(created)));
    set("dscoLifecycle", json!("created"));
    set("dscoStatus", json!("created"));
    let mut default = |key: &str, value: Value| {
        if order.get(key).is_none_or(Value::is_null) {
            order.insert(key.to_owned(), value);
        }
    };
    default("poNumber", json!(format!("PO-{id}")));
    default("dscoSupplierName", json!("Sandbox Supplier"));
    default(
        "dscoTradingPartnerId",
        partner
            .as_ref()
            .map_or(Value::Null, |tp| tp["tradingPartnerId"].clone()),
    );
    default(
        "dscoTradingPartnerName",
        partner
            .as_ref()
            .map_or(Value::Null, |tp| tp["tradingPartnerName"].clone()),
    );
    default("orderType", json!("dropship"));
    default("testFlag", json!(false));
    default("currencyCode", json!("USD"));
    default("retailerCreateDate", json!(fmt_date(created)));
    default("consumerOrderDate", json!(fmt_date(created)));
    default("consumerOrderNumber", json!(format!("C{id}")));
    default("channel", Value::Null);
    default("shipCarrier", json!("UPS"));
    default("shipMethod", json!("Ground"));
    default("shippingServiceLevelCode", json!("UPCG"));
    for (requested, actual) in [
        ("requestedShipCarrier", "shipCarrier"),
        ("requestedShipMethod", "shipMethod"),
        (
            "requestedShippingServiceLevelCode",
            "shippingServiceLevelCode",
        ),
    ] {
        let value = order.get(actual).cloned().unwrap_or(Value::Null);
        if order.get(requested).is_none_or(Value::is_null) {
            order.insert(requested.to_owned(), value);
        }
    }
    let mut default = |key: &str, value: Value| {
        if order.get(key).is_none_or(Value::is_null) {
            order.insert(key.to_owned(), value);
        }
    };
    default(
        "shipByDate",
        json!(fmt_date(created + chrono::Duration::days(3))),
    );
    default("signatureRequiredFlag", json!(false));
    default("giftFlag", json!(false));
    default("giftWrapFlag", json!(false));
    default("giftMessage", Value::Null);
    default("packingInstructions", Value::Null);
    default("crossDockFlag", json!(false));
    default("cancelRequested", json!(false));
    default("cancelRequestedCode", Value::Null);
    default("billTo", json!({}));
    default("buyer", Value::Null);
    default("packages", json!([]));
    default("shipping", json!({}));
    default("lineItems", json!([]));

    if let Some(shipping) = order.get_mut("shipping").and_then(Value::as_object_mut) {
        complete_address(shipping);
    }

    let mut total_cost = 0.0;
    let mut lines = match order.remove("lineItems") {
        Some(Value::Array(lines)) => lines,
        _ => Vec::new(),
    };
    for (index, line) in lines.iter_mut().enumerate() {
        if !line.is_object() {
            *line = json!({});
        }
        let item = state.find_item(line).cloned();
        let qty = quantity(&line["quantity"]).unwrap_or(0);
        let object = line.as_object_mut().expect("made an object above");
        let mut default = |key: &str, value: Value| {
            if object.get(key).is_none_or(Value::is_null) {
                object.insert(key.to_owned(), value);
            }
        };
        default("lineNumber", json!(index + 1));
        default("quantity", json!(qty));
        if let Some(item) = &item {
            for key in ["dscoItemId", "sku", "upc", "ean", "mpn", "title"] {
                default(key, item[key].clone());
            }
            default("partnerSku", item["sku"].clone());
            default("expectedCost", item["cost"].clone());
            default("consumerPrice", item["msrp"].clone());
        }
        let cost = object
            .get("expectedCost")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        let extended = (cost * qty as f64 * 100.0).round() / 100.0;
        total_cost += extended;
        let mut default = |key: &str, value: Value| {
            if object.get(key).is_none_or(Value::is_null) {
                object.insert(key.to_owned(), value);
            }
        };
        default("extendedExpectedCostTotal", json!(extended));
        default("acceptedQuantity", Value::Null);
        default("cancelledQuantity", json!(0));
        default("rejectedQuantity", json!(0));
        default("shippedQuantity", json!(0));
        default("remainingQuantity", json!(qty));
        default("cancelRequested", json!(false));
        default("giftFlag", json!(false));
        default("giftMessage", Value::Null);
        default("packingInstructions", Value::Null);
        default("bogoFlag", json!(false));
        default("readyForPickup", json!(false));
        default("expectedCostAdjustmentAllowed", json!(false));
        default(
            "activity",
            json!([activity("add", Some(qty), None, created)]),
        );
    }
    order.insert("numberOfLineItems".into(), json!(lines.len()));
    if order
        .get("extendedExpectedCostTotal")
        .is_none_or(Value::is_null)
    {
        order.insert(
            "extendedExpectedCostTotal".into(),
            json!((total_cost * 100.0).round() / 100.0),
        );
    }
    // Auto-decrement: every order DSCO receives lowers the item's available quantity.
    for line in &lines {
        if let (Some(sku), Some(qty)) = (text(&line["sku"]), quantity(&line["quantity"])) {
            stock::auto_decrement(state, &sku, qty, text(&line["warehouseCode"]), now);
        }
    }
    order.insert("lineItems".into(), Value::Array(lines));
    state.orders.insert(id, Value::Object(order));
    id
}

/// Fill the deprecated address fields from the current ones, as observed payloads carry both.
fn complete_address(shipping: &mut Map<String, Value>) {
    let get = |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
    if let Some(name) = get(shipping, "name") {
        let mut parts = name.splitn(2, ' ');
        let first = parts.next().unwrap_or("").to_owned();
        let last = parts.next().unwrap_or("").to_owned();
        shipping.entry("firstName").or_insert(json!(first));
        shipping.entry("lastName").or_insert(json!(last));
    }
    let lines: Vec<String> = shipping
        .get("address")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|l| l.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if !lines.is_empty() {
        shipping.entry("address1").or_insert(json!(lines[0]));
        if let Some(second) = lines.get(1) {
            shipping.entry("address2").or_insert(json!(second));
        }
    } else if let Some(first) = get(shipping, "address1") {
        let mut address = vec![json!(first)];
        if let Some(second) = get(shipping, "address2") {
            address.push(json!(second));
        }
        shipping.insert("address".into(), Value::Array(address));
    }
    if let Some(region) = get(shipping, "region") {
        shipping.entry("state").or_insert(json!(region));
    }
    shipping.entry("country").or_insert(json!("US"));
}

// ---------------------------------------------------------------------------------------------
// Retailer cancel requests

/// `PUT /order/request/cancel` (retailer side, dsco-api.md §2.8): a `created` order is cancelled
/// at once (200); a `shipment_pending` one gets `cancelRequested` flags for the supplier (201).
pub(crate) async fn request_cancel(State(sim): State<DscoSim>, body: Bytes) -> Response {
    let input = match parse_object(&body) {
        Ok(v) => v,
        Err(response) => return *response,
    };
    let now = sim.clock().now();
    sim.with_state(|state, _| match request_cancel_in(state, &input, now) {
        Ok((status, text)) => (
            status,
            Json(json!({
                "status": "success",
                "requestId": new_uuid(),
                "eventDate": fmt_date(now),
                "message": text,
            })),
        )
            .into_response(),
        Err(problem) => bad_request(&problem),
    })
}

pub(crate) fn request_cancel_in(
    state: &mut SimState,
    input: &Value,
    now: DateTime<Utc>,
) -> Result<(StatusCode, &'static str), String> {
    let code = text(&input["cancelCode"]).ok_or("cancelCode is required")?;
    let id = if let Some(id) = text(&input["dscoOrderId"]) {
        id.parse::<u64>()
            .ok()
            .filter(|id| state.orders.contains_key(id))
            .ok_or_else(|| format!("no order found with dscoOrderId {id}"))?
    } else if let Some(po) = text(&input["poNumber"]) {
        *state
            .find_orders("poNumber", &po)
            .first()
            .ok_or_else(|| format!("no order found with poNumber {po}"))?
    } else {
        return Err("one of poNumber or dscoOrderId is required".into());
    };
    let reason = text(&input["reason"]);
    let order = state.orders.get_mut(&id).expect("id was looked up above");
    let status = order["dscoStatus"].as_str().unwrap_or("created").to_owned();
    if status == "shipped" || status == "cancelled" {
        return Err(format!("order {id} is {status} and cannot be cancelled"));
    }
    let wanted: Vec<Value> = input["lineItems"].as_array().cloned().unwrap_or_default();
    let indexes: Vec<(usize, Option<i64>)> = if wanted.is_empty() {
        (0..order["lineItems"].as_array().map_or(0, Vec::len))
            .map(|i| (i, None))
            .collect()
    } else {
        let mut indexes = Vec::new();
        for w in &wanted {
            let i = find_line(order, w).ok_or_else(|| format!("no line matches {w}"))?;
            indexes.push((i, quantity(&w["cancelledQuantity"])));
        }
        indexes
    };
    let partial_shipment = order["lineItems"]
        .as_array()
        .is_some_and(|l| l.iter().any(|line| field(line, "shippedQuantity") > 0));
    if status == "created" && !partial_shipment {
        let mut working = order.clone();
        for (i, qty) in indexes {
            if open_quantity(&working["lineItems"][i]) > 0 {
                cancel_units(&mut working, i, qty, &code, reason.as_deref(), now)?;
            }
        }
        recompute(&mut working, now);
        *order = working;
        Ok((StatusCode::OK, "the order was cancelled"))
    } else {
        order["cancelRequested"] = json!(true);
        order["cancelRequestedCode"] = json!(code);
        for (i, _) in indexes {
            order["lineItems"][i]["cancelRequested"] = json!(true);
            order["lineItems"][i]["cancelRequestedCode"] = json!(code);
        }
        order["dscoLastUpdate"] = json!(fmt_date(now));
        Ok((
            StatusCode::CREATED,
            "the cancellation request was sent to the supplier",
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// In-process scenario handles

impl DscoSim {
    /// Create an order as a retailer would; missing fields are defaulted (a demo line, an address,
    /// the first trading partner). `dscoCreateDate` may be given to back-date it.
    pub fn create_order(&self, order: Value) -> Result<String, String> {
        let Value::Object(mut map) = order else {
            return Err("an order must be a JSON object".into());
        };
        let now = self.clock().now();
        self.with_state(|state, config| {
            if map.get("shipping").is_none_or(Value::is_null) {
                map.insert(
                    "shipping".into(),
                    json!({"name": "Pat Example", "address": ["1 Main St"], "city": "Springfield",
                           "region": "NJ", "postal": "07000", "country": "US", "phone": "15550000000"}),
                );
            }
            if map.get("lineItems").and_then(Value::as_array).is_none_or(Vec::is_empty) {
                let sku = state.catalog.keys().next().cloned().unwrap_or_else(|| "SKU-0001".into());
                map.insert("lineItems".into(), json!([{"sku": sku, "quantity": 1}]));
            }
            let id = insert_order(state, config, Value::Object(map), now);
            Ok(id.to_string())
        })
    }

    /// Store an order exactly as given (for malformed-order scenarios); only `dscoOrderId`,
    /// `dscoCreateDate` and `dscoLastUpdate` are added when missing.
    pub fn create_raw_order(&self, order: Value) -> Result<String, String> {
        let Value::Object(mut map) = order else {
            return Err("an order must be a JSON object".into());
        };
        let now = fmt_date(self.clock().now());
        self.with_state(|state, _| {
            let id = state.new_order_id();
            map.insert("dscoOrderId".into(), json!(id.to_string()));
            map.entry("dscoCreateDate").or_insert(json!(now));
            map.entry("dscoLastUpdate").or_insert(json!(now));
            state.orders.insert(id, Value::Object(map));
            Ok(id.to_string())
        })
    }

    pub fn order(&self, dsco_order_id: &str) -> Option<Value> {
        self.with_state(|state, _| state.order_mut(dsco_order_id).map(|o| o.clone()))
    }

    pub fn orders(&self) -> Vec<Value> {
        self.with_state(|state, _| state.orders.values().cloned().collect())
    }

    /// The retailer cancels a whole order outright (code `CXRR`). Only a `created` order can be
    /// cancelled this way; later the retailer can only ask ([`DscoSim::request_cancel`]).
    pub fn cancel_order(&self, dsco_order_id: &str) -> Result<(), String> {
        let now = self.clock().now();
        self.with_state(|state, _| {
            let order = state
                .order_mut(dsco_order_id)
                .ok_or_else(|| format!("no order {dsco_order_id}"))?;
            require_created(order)?;
            let mut working = order.clone();
            let count = working["lineItems"].as_array().map_or(0, Vec::len);
            for i in 0..count {
                if open_quantity(&working["lineItems"][i]) > 0 {
                    cancel_units(&mut working, i, None, "CXRR", Some("customer regret"), now)?;
                }
            }
            recompute(&mut working, now);
            *order = working;
            Ok(())
        })
    }

    /// The retailer cancels `quantity` units of one line of a `created` order (code `CXRR`).
    pub fn cancel_line(
        &self,
        dsco_order_id: &str,
        line_number: u32,
        quantity: u32,
    ) -> Result<(), String> {
        let now = self.clock().now();
        self.with_state(|state, _| {
            let order = state
                .order_mut(dsco_order_id)
                .ok_or_else(|| format!("no order {dsco_order_id}"))?;
            require_created(order)?;
            let index = find_line(order, &json!({"lineNumber": line_number}))
                .ok_or_else(|| format!("order {dsco_order_id} has no line {line_number}"))?;
            let mut working = order.clone();
            cancel_units(
                &mut working,
                index,
                Some(quantity as i64),
                "CXRR",
                Some("customer regret"),
                now,
            )?;
            recompute(&mut working, now);
            *order = working;
            Ok(())
        })
    }

    /// The retailer asks for a cancellation (`PUT /order/request/cancel`): cancels a `created`
    /// order at once, flags a `shipment_pending` one with `cancelRequested`. `line_numbers` empty
    /// means the whole order.
    pub fn request_cancel(
        &self,
        dsco_order_id: &str,
        cancel_code: &str,
        line_numbers: &[u32],
    ) -> Result<(), String> {
        let now = self.clock().now();
        let lines: Vec<Value> = line_numbers
            .iter()
            .map(|n| json!({"lineNumber": n}))
            .collect();
        let input =
            json!({"dscoOrderId": dsco_order_id, "cancelCode": cancel_code, "lineItems": lines});
        self.with_state(|state, _| request_cancel_in(state, &input, now).map(|_| ()))
    }
}

fn require_created(order: &Value) -> Result<(), String> {
    match order["dscoStatus"].as_str() {
        Some("created") => Ok(()),
        other => Err(format!(
            "order {} is {}: a retailer can only request its cancellation",
            order["dscoOrderId"],
            other.unwrap_or("unknown")
        )),
    }
}

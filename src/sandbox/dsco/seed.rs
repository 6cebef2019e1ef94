//! The demo world on the DSCO side (from `sandbox::demo`): catalog items, inventory, warehouses,
//! trading partners and deterministic orders, some of them deliberately awkward. Also the state
//! dump used by the admin surface.

use serde_json::{Value, json};

use super::sim::DscoSim;
use super::state::fmt_date;
use crate::sandbox::demo;

/// A tiny deterministic generator (splitmix64), so the same seed gives the same orders.
fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed
        .wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn money(text: &str) -> f64 {
    text.parse().unwrap_or(0.0)
}

impl DscoSim {
    /// Seed `products` demo catalog items (with inventory), the demo retailers as trading
    /// partners, the demo warehouses, and `orders` deterministic orders (by `seed`).
    ///
    /// Planted orders (by 1-based order number `n`): `n % 10 == 3` has a line with an unknown SKU;
    /// `n % 10 == 5` lacks shipping city and postal code; `n % 10 == 6` is a test order
    /// (`testFlag: true`); `n % 10 == 7` has a zero-quantity line; `n % 10 == 9` has non-ASCII
    /// names ("Zoë Müller", or CJK every other time); `n % 10 == 0` carries very long strings.
    pub fn seed_demo(&self, products: u32, orders: u32, seed: u64) {
        let now = self.clock().now();
        let supplier = self.config().supplier_id.clone();
        self.with_state(|state, _| {
            for (i, w) in demo::warehouses().iter().enumerate() {
                if state.warehouses.iter().any(|x| x["code"] == json!(w.dsco_code)) {
                    continue;
                }
                state.warehouses.push(json!({
                    "warehouseId": format!("{}", 5_000_001 + i),
                    "code": w.dsco_code,
                    "supplierId": supplier,
                    // No `retailerCode`: these are the supplier's own warehouses, not mapped to a
                    // retailer's code; absent rather than null (dsco-api.md §6).
                    "status": "active",
                    "name": w.name,
                    "address": [format!("{} Industrial Way", 100 + i)],
                    "city": "Springfield",
                    "region": "NJ",
                    "postal": "07000",
                    "country": "US",
                    "createDate": fmt_date(now),
                    "lastUpdate": fmt_date(now),
                }));
            }
            for r in demo::retailers() {
                if state.trading_partners.iter().any(|x| x["accountId"] == json!(r.retailer_id)) {
                    continue;
                }
                state.trading_partners.push(json!({
                    "accountId": r.retailer_id,
                    "tradingPartnerId": format!("TP{}", r.retailer_id),
                    "tradingPartnerName": r.name,
                    "status": "active",
                    "defaultRetailModel": "dropship",
                    "activeDate": fmt_date(now),
                    "terminateDate": null,
                }));
            }
            let codes: Vec<String> = demo::warehouses().into_iter().map(|w| w.dsco_code).collect();
            for p in demo::catalog(products) {
                if state.catalog.contains_key(&p.sku) {
                    continue;
                }
                let item_id = state.new_item_id();
                state.catalog.insert(
                    p.sku.clone(),
                    json!({
                        "sku": p.sku,
                        "title": p.name,
                        "productStatus": "active",
                        "dscoItemId": item_id,
                        "upc": p.dsco_upc,
                        "ean": p.ean,
                        "mpn": p.mpn,
                        "gtin": p.barcode,
                        "cost": money(&p.cost),
                        "msrp": money(&p.price),
                        "brand": "Demo",
                        "partnerSkuMap": [{"partnerSku": format!("R-{}", p.sku), "dscoRetailerId": "1000001"}],
                        "dscoSupplierId": supplier,
                        "dscoCreateDate": fmt_date(now),
                        "dscoLastUpdateDate": fmt_date(now),
                    }),
                );
                // Every 10th product starts out of stock.
                let main = if p.index % 10 == 0 { 0 } else { 5 + (p.index as i64 * 7) % 40 };
                let east = if p.index % 10 == 0 { 0 } else { (p.index as i64 * 3) % 10 };
                let quantities = [main, east, 0];
                let warehouses: Vec<Value> = codes
                    .iter()
                    .zip(quantities)
                    .map(|(code, q)| json!({"code": code, "quantity": q}))
                    .collect();
                let total = main + east;
                state.inventory.insert(
                    p.sku.clone(),
                    json!({
                        "sku": p.sku,
                        "dscoItemId": item_id,
                        "upc": p.dsco_upc,
                        "ean": p.ean,
                        "mpn": p.mpn,
                        "title": p.name,
                        "quantityAvailable": total,
                        "status": if total > 0 { "in-stock" } else { "out-of-stock" },
                        "warehouses": warehouses,
                        "cost": money(&p.cost),
                        "currencyCode": "USD",
                        "dscoSupplierId": supplier,
                        "dscoCreateDate": fmt_date(now),
                        "dscoLastQuantityUpdateDate": fmt_date(now),
                        "dscoLastUpdateDate": fmt_date(now),
                    }),
                );
            }
        });
        let retailers = demo::retailers();
        for n in 1..=orders as u64 {
            let r = mix(seed, n);
            let created = now - chrono::Duration::minutes((orders as u64 - n + 1) as i64);
            let retailer = &retailers[(r % retailers.len() as u64) as usize];
            let line_count = 1 + (r >> 8) % 3;
            let mut lines = Vec::new();
            for l in 0..line_count {
                let pick = mix(seed ^ n, l);
                let sku = if products == 0 {
                    "SKU-0001".to_owned()
                } else {
                    format!("SKU-{:04}", 1 + pick % products as u64)
                };
                lines.push(
                    json!({"lineNumber": l + 1, "sku": sku, "quantity": 1 + (pick >> 16) % 3}),
                );
            }
            let mut shipping = json!({
                "name": "Pat Example", "address": [format!("{} Main St", 1 + r % 900)],
                "city": "Springfield", "region": "NJ", "postal": "07000", "country": "US",
                "phone": "15550000000", "email": "pat@example.com", "addressType": "Residential",
            });
            let mut order = json!({
                "poNumber": format!("PO-{seed}-{n:05}"),
                "consumerOrderNumber": format!("CO-{seed}-{n:05}"),
                "dscoRetailerId": retailer.retailer_id,
                "dscoCreateDate": fmt_date(created),
                "retailerCreateDate": fmt_date(created),
                "channel": "web",
            });
            match n % 10 {
                3 => lines.push(json!({"lineNumber": line_count + 1, "sku": "UNKNOWN-SKU-9999",
                                       "quantity": 1, "expectedCost": 9.99, "consumerPrice": 19.99})),
                5 => {
                    let s = shipping.as_object_mut().expect("a literal object");
                    s.remove("city");
                    s.remove("postal");
                }
                6 => order["testFlag"] = json!(true),
                7 => lines[0]["quantity"] = json!(0),
                9 if (n / 10) % 2 == 0 => {
                    shipping["name"] = json!("Zoë Müller");
                    shipping["address"] = json!(["Königsallee 1"]);
                    shipping["city"] = json!("Düsseldorf");
                    shipping["country"] = json!("DE");
                    order["giftMessage"] = json!("Alles Gute zum Geburtstag, Zoë! 🎉");
                }
                9 => {
                    shipping["name"] = json!("山田太郎");
                    shipping["address"] = json!(["千代田区千代田1-1"]);
                    shipping["city"] = json!("東京都");
                    shipping["region"] = json!("13");
                    shipping["postal"] = json!("100-0001");
                    shipping["country"] = json!("JP");
                }
                0 => {
                    shipping["name"] = json!(format!("{} Longname", "Bartholomew".repeat(25)));
                    shipping["address"] = json!([format!("{} Street", "Very Long Avenue ".repeat(20))]);
                    order["giftMessage"] = json!("Happy birthday! ".repeat(60));
                    order["packingInstructions"] = json!("Handle with care. ".repeat(40));
                }
                _ => {}
            }
            if n % 4 == 1 && order["giftMessage"].is_null() {
                order["giftFlag"] = json!(true);
                order["giftMessage"] = json!("Enjoy!");
            }
            order["shipping"] = shipping;
            order["lineItems"] = Value::Array(lines);
            let _ = self.create_order(order);
        }
    }

    /// Everything the simulator holds, for debugging and the admin surface.
    pub fn dump_state(&self) -> Value {
        let now = self.clock().now();
        self.with_state(|state, _| {
            let logs: Vec<Value> = state
                .log
                .iter()
                .map(|e| {
                    json!({
                        "log": format!("{:?}", e.kind).to_lowercase(),
                        "requestId": e.request_id,
                        "requestMethodDetail": e.detail,
                        "status": e.status,
                        "submitted": fmt_date(e.submitted),
                        "due": fmt_date(e.due),
                        "dateProcessed": e.date_processed.map(fmt_date),
                        "payload": e.payload,
                        "results": e.results,
                    })
                })
                .collect();
            json!({
                "now": fmt_date(now),
                "orders": state.orders.values().collect::<Vec<_>>(),
                "catalog": state.catalog.values().collect::<Vec<_>>(),
                "inventory": state.inventory.values().collect::<Vec<_>>(),
                "invoices": state.invoices,
                "warehouses": state.warehouses,
                "tradingPartners": state.trading_partners,
                "changeLog": logs,
                "activeTokens": state.tokens.values().filter(|exp| **exp > now).count(),
                "openScrolls": state.scrolls.len(),
            })
        })
    }
}

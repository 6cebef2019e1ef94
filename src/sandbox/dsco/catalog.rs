//! Read-only account data (dsco-api.md §6): `GET /catalog`, `GET /warehouse/page`,
//! `GET /tradingpartner`.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::http::{Params, bad_request, not_found};
use super::sim::DscoSim;
use super::state::text;

const ITEM_KEYS: [&str; 8] = [
    "dscoItemId",
    "sku",
    "partnerSku",
    "upc",
    "ean",
    "mpn",
    "isbn",
    "gtin",
];

/// A look-up by `itemKey` and `value` (`[&returnMultiple=]`), as `GET /catalog` and
/// `GET /inventory` both take it (dsco-api.md §4.1, §6).
pub(crate) struct ItemLookup<'a> {
    key: &'a str,
    value: &'a str,
    multiple: bool,
}

impl<'a> ItemLookup<'a> {
    /// Check the parameters; a refusal is the 400 to answer.
    // The refusal is the ready-made response a handler returns; boxing it would only add noise.
    #[allow(clippy::result_large_err)]
    pub(crate) fn parse(params: &'a Params) -> Result<ItemLookup<'a>, Response> {
        let (Some(key), Some(value)) = (params.get("itemKey"), params.get("value")) else {
            return Err(bad_request("itemKey and value are required"));
        };
        if !ITEM_KEYS.contains(&key) {
            return Err(bad_request(&format!(
                "itemKey must be one of {}",
                ITEM_KEYS.join(", ")
            )));
        }
        if key == "partnerSku"
            && params.get("dscoRetailerId").is_none()
            && params.get("dscoTradingPartnerId").is_none()
        {
            return Err(bad_request(
                "a supplier looking up a partnerSku must give dscoRetailerId or dscoTradingPartnerId",
            ));
        }
        Ok(ItemLookup {
            key,
            value,
            multiple: params.flag("returnMultiple"),
        })
    }

    fn matches(&self, item: &Value) -> bool {
        if self.key == "partnerSku" {
            item["partnerSkuMap"].as_array().is_some_and(|m| {
                m.iter()
                    .any(|p| p["partnerSku"].as_str() == Some(self.value))
            })
        } else {
            text(&item[self.key]).as_deref() == Some(self.value)
        }
    }

    /// The first match, or every match with `returnMultiple`; 404 naming `what` when none.
    pub(crate) fn answer<'v>(
        &self,
        what: &str,
        items: impl Iterator<Item = &'v Value>,
    ) -> Response {
        let found: Vec<Value> = items.filter(|item| self.matches(item)).cloned().collect();
        match found.first() {
            None => not_found(&format!("no {what} found with {} {}", self.key, self.value)),
            Some(first) if !self.multiple => Json(first.clone()).into_response(),
            Some(_) => Json(Value::Array(found)).into_response(),
        }
    }
}

/// `GET /catalog?itemKey=&value=[&returnMultiple=]` → `ItemCatalog` (array with returnMultiple).
pub(crate) async fn item(State(sim): State<DscoSim>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref());
    let lookup = match ItemLookup::parse(&params) {
        Ok(lookup) => lookup,
        Err(refusal) => return refusal,
    };
    sim.with_state(|state, _| lookup.answer("catalog item", state.catalog.values()))
}

/// `GET /warehouse/page[?idType=code|warehouseId&idValue=][&status=][&name=]`, scrolled.
pub(crate) async fn warehouses(State(sim): State<DscoSim>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref());
    let now = sim.clock().now();
    sim.with_state(|state, config| {
        if let Some(scroll_id) = params.get("scrollId") {
            return match state.next_page(scroll_id, "warehouses", now) {
                Some(page) => Json(page).into_response(),
                None => not_found("the scrollId is unknown or has expired"),
            };
        }
        let id_filter = match (params.get("idType"), params.get("idValue")) {
            (Some(t @ ("code" | "warehouseId")), Some(v)) => Some((t, v)),
            (None, None) => None,
            _ => return bad_request("idType (code or warehouseId) and idValue go together"),
        };
        let status = params.get("status");
        let name = params.get("name");
        let found: Vec<Value> = state
            .warehouses
            .iter()
            .filter(|w| id_filter.is_none_or(|(t, v)| text(&w[t]).as_deref() == Some(v)))
            .filter(|w| status.is_none_or(|s| w["status"].as_str() == Some(s)))
            .filter(|w| name.is_none_or(|n| w["name"].as_str() == Some(n)))
            .cloned()
            .collect();
        Json(state.start_scroll(found, config.log_page_size, "warehouses", None, now))
            .into_response()
    })
}

/// `GET /tradingpartner[?accountId=|tradingPartnerId=|status=]` → array; more than one filter → 400.
pub(crate) async fn trading_partners(
    State(sim): State<DscoSim>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    let filters: Vec<(&str, &str)> = ["accountId", "tradingPartnerId", "status"]
        .into_iter()
        .filter_map(|k| params.get(k).map(|v| (k, v)))
        .collect();
    if filters.len() > 1 {
        return bad_request("only one of accountId, tradingPartnerId, status may be given");
    }
    sim.with_state(|state, _| {
        let found: Vec<Value> = state
            .trading_partners
            .iter()
            .filter(|tp| {
                filters
                    .first()
                    .is_none_or(|(k, v)| text(&tp[*k]).as_deref() == Some(*v))
            })
            .cloned()
            .collect();
        Json(Value::Array(found)).into_response()
    })
}

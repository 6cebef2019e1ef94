//! Brightpearl resource search (brightpearl-api.md §1.12): query building and decoding of the positional
//! `results` by `metaData.columns[i].name`, never by position.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Largest page Brightpearl serves.
pub const MAX_PAGE_SIZE: u32 = 500;

/// Filters and paging for one search call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// `(column or filter name, value)`; names are case-sensitive (`SKU`, not `sku`).
    pub filters: Vec<(String, String)>,
    /// Restrict the returned columns.
    pub columns: Vec<String>,
    /// e.g. `updatedOn.ASC`.
    pub sort: Option<String>,
    pub page_size: Option<u32>,
    /// 1-based index of the first row.
    pub first_result: Option<u32>,
}

impl SearchQuery {
    pub fn new() -> Self {
        SearchQuery::default()
    }

    pub fn filter(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.filters.push((name.into(), value.into()));
        self
    }

    pub fn columns<I: IntoIterator<Item = S>, S: Into<String>>(mut self, columns: I) -> Self {
        self.columns = columns.into_iter().map(Into::into).collect();
        self
    }

    pub fn sort(mut self, sort: impl Into<String>) -> Self {
        self.sort = Some(sort.into());
        self
    }

    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size.min(MAX_PAGE_SIZE));
        self
    }

    /// The query string pairs for this call.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut pairs = self.filters.clone();
        if !self.columns.is_empty() {
            pairs.push(("columns".into(), self.columns.join(",")));
        }
        if let Some(sort) = &self.sort {
            pairs.push(("sort".into(), sort.clone()));
        }
        if let Some(size) = self.page_size {
            pairs.push(("pageSize".into(), size.to_string()));
        }
        if let Some(first) = self.first_result {
            pairs.push(("firstResult".into(), first.to_string()));
        }
        pairs
    }
}

/// One page of search results, rows keyed by column name.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    pub columns: Vec<String>,
    pub rows: Vec<Map<String, Value>>,
    pub results_available: u64,
    pub results_returned: u64,
    /// Absent on an empty result.
    pub first_result: Option<u64>,
    pub last_result: Option<u64>,
    pub more_pages_available: bool,
    /// Top-level `reference` maps (labels for ids), a sibling of `response`.
    pub reference: Map<String, Value>,
}

impl SearchPage {
    /// Decode every row into `T` (field names = column names). Unknown columns are ignored.
    pub fn rows_as<T: DeserializeOwned>(&self) -> Result<Vec<T>, serde_json::Error> {
        self.rows
            .iter()
            .map(|row| T::deserialize(Value::Object(row.clone())))
            .collect()
    }

    /// The `firstResult` of the next page, when there is one.
    pub fn next_first_result(&self) -> Option<u64> {
        if !self.more_pages_available {
            return None;
        }
        self.last_result
            .map(|last| last + 1)
            .or_else(|| self.first_result.map(|first| first + self.results_returned))
    }
}

#[derive(Deserialize)]
struct Envelope {
    response: SearchResponse,
    #[serde(default)]
    reference: Map<String, Value>,
}

#[derive(Deserialize)]
struct SearchResponse {
    #[serde(default)]
    results: Vec<Vec<Value>>,
    #[serde(rename = "metaData")]
    meta_data: MetaData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetaData {
    #[serde(default)]
    more_pages_available: bool,
    #[serde(default)]
    results_available: u64,
    #[serde(default)]
    results_returned: u64,
    #[serde(default)]
    first_result: Option<u64>,
    #[serde(default)]
    last_result: Option<u64>,
    #[serde(default)]
    columns: Vec<Column>,
}

#[derive(Deserialize)]
struct Column {
    name: String,
}

/// Decode a whole search answer (`{"response":{results,metaData},"reference":{...}}`).
pub fn decode_search_page(body: &[u8]) -> Result<SearchPage, String> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let meta = envelope.response.meta_data;
    let columns: Vec<String> = meta.columns.into_iter().map(|c| c.name).collect();
    let mut rows = Vec::with_capacity(envelope.response.results.len());
    for (index, values) in envelope.response.results.into_iter().enumerate() {
        if values.len() != columns.len() {
            return Err(format!(
                "row {index} has {} values for {} columns",
                values.len(),
                columns.len()
            ));
        }
        rows.push(columns.iter().cloned().zip(values).collect::<Map<_, _>>());
    }
    Ok(SearchPage {
        columns,
        rows,
        results_available: meta.results_available,
        results_returned: meta.results_returned,
        first_result: meta.first_result,
        last_result: meta.last_result,
        more_pages_available: meta.more_pages_available,
        reference: envelope.reference,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brightpearl::model::{OrderId, OrderSearchRow};

    const RECORDED: &str = r##"{
      "response": {
        "results": [[322, 1, 200, 3, "#0001", "dsco:1"], [323, 1, 201, 4, null, "dsco:2"]],
        "metaData": {"morePagesAvailable": true, "resultsAvailable": 4, "resultsReturned": 2,
          "firstResult": 1, "lastResult": 2,
          "columns": [{"name":"orderId"},{"name":"orderTypeId"},{"name":"contactId"},
                      {"name":"orderStatusId"},{"name":"customerRef"},{"name":"externalRef"}]}
      },
      "reference": {"orderTypeNames": {"1": "SALES_ORDER"}}
    }"##;

    #[test]
    fn decodes_rows_by_column_name() {
        let page = decode_search_page(RECORDED.as_bytes()).unwrap();
        assert_eq!(page.rows.len(), 2);
        assert_eq!(page.rows[0]["externalRef"], "dsco:1");
        assert_eq!(page.next_first_result(), Some(3));
        assert_eq!(page.reference["orderTypeNames"]["1"], "SALES_ORDER");
        let typed: Vec<OrderSearchRow> = page.rows_as().unwrap();
        assert_eq!(typed[1].order_id, OrderId(323));
        assert_eq!(typed[1].customer_ref, None);
        assert_eq!(typed[1].contact_id, Some(201));
    }

    #[test]
    fn column_order_does_not_matter() {
        // Same data, columns reordered: decoding follows the names.
        let body = r#"{"response":{"results":[["dsco:1", 322]],"metaData":{"morePagesAvailable":false,
          "resultsAvailable":1,"resultsReturned":1,"firstResult":1,"lastResult":1,
          "columns":[{"name":"externalRef"},{"name":"orderId"}]}}}"#;
        let page = decode_search_page(body.as_bytes()).unwrap();
        let typed: Vec<OrderSearchRow> = page.rows_as().unwrap();
        assert_eq!(typed[0].order_id, OrderId(322));
        assert_eq!(typed[0].external_ref.as_deref(), Some("dsco:1"));
        assert_eq!(page.next_first_result(), None);
    }

    #[test]
    fn empty_result_has_no_first_or_last() {
        let body = r#"{"response":{"results":[],"metaData":{"morePagesAvailable":false,
          "resultsAvailable":0,"resultsReturned":0,"columns":[{"name":"orderId"}]}}}"#;
        let page = decode_search_page(body.as_bytes()).unwrap();
        assert!(page.rows.is_empty());
        assert_eq!(page.first_result, None);
        assert_eq!(page.next_first_result(), None);
    }

    #[test]
    fn ragged_rows_are_refused() {
        let body =
            r#"{"response":{"results":[[1,2]],"metaData":{"columns":[{"name":"orderId"}]}}}"#;
        assert!(decode_search_page(body.as_bytes()).is_err());
    }

    #[test]
    fn query_pairs() {
        let q = SearchQuery::new()
            .filter("externalRef", "dsco:1")
            .columns(["orderId", "externalRef"])
            .sort("orderId.ASC")
            .page_size(900);
        assert_eq!(
            q.to_pairs(),
            vec![
                ("externalRef".to_string(), "dsco:1".to_string()),
                ("columns".to_string(), "orderId,externalRef".to_string()),
                ("sort".to_string(), "orderId.ASC".to_string()),
                ("pageSize".to_string(), "500".to_string()),
            ]
        );
    }
}

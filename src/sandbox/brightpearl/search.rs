//! The generic resource search (brightpearl-api.md §1.12): column filters by type, `PERIOD`
//! `from/to`, `columns=`, `sort` in both spellings, paging, positional results with `metaData`
//! and the top-level `reference`.
//!
//! Each resource builds its rows (one JSON value per column) and calls [`search`]; resource-only
//! filters (e.g. `customerRefs`) are applied by the resource before that.

use std::cmp::Ordering;

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::idset::IdSet;
use super::request::Req;
use super::sim::Inner;
use super::wire::{self, Dates};

/// Column data types (§1.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    IdSet,
    Integer,
    Text,
    SearchString,
    Boolean,
    Period,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::IdSet => "IDSET",
            Kind::Integer => "INTEGER",
            Kind::Text => "STRING",
            Kind::SearchString => "SEARCH_STRING",
            Kind::Boolean => "BOOLEAN",
            Kind::Period => "PERIOD",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    /// Name of the `reference` map labelling this column's values.
    pub reference: Option<&'static str>,
}

pub const fn col(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        reference: None,
    }
}

pub const fn col_ref(name: &'static str, kind: Kind, reference: &'static str) -> Column {
    Column {
        name,
        kind,
        reference: Some(reference),
    }
}

fn descriptor(column: &Column) -> Value {
    json!({
        "name": column.name,
        "sortable": true,
        "filterable": true,
        "reportDataType": column.kind.name(),
        "referenceData": column.reference.map_or_else(Vec::new, |name| vec![name]),
        "isFreeTextSearchable": false,
        "required": false,
    })
}

/// A parsed filter on one column.
enum Filter {
    Ids(IdSet),
    Integer(i64),
    Text(String),
    Contains(String),
    Boolean(bool),
    Period(
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
    ),
}

/// Parse a `PERIOD` value `from/to` (either side optional); a bare value means that instant or,
/// for a date, that whole day.
// guess: a date-only `to` includes its whole day, and a bare value without `/` is accepted
// (brightpearl-api.md §1.12 shows only `from/` and `from/to`)
/// Bounds of a `PERIOD` filter; either side may be open.
pub type Period = (
    Option<chrono::DateTime<chrono::Utc>>,
    Option<chrono::DateTime<chrono::Utc>>,
);

pub fn parse_period(dates: &Dates, value: &str) -> Option<Period> {
    let is_date = |text: &str| text.len() == 10;
    let end_of = |text: &str| -> Option<chrono::DateTime<chrono::Utc>> {
        let at = dates.parse(text)?;
        Some(if is_date(text) {
            at + chrono::Duration::days(1) - chrono::Duration::milliseconds(1)
        } else {
            at
        })
    };
    match value.split_once('/') {
        Some((from, to)) => {
            let from = match from.trim() {
                "" => None,
                text => Some(dates.parse(text)?),
            };
            let to = match to.trim() {
                "" => None,
                text => Some(end_of(text)?),
            };
            if from.is_none() && to.is_none() {
                return None;
            }
            Some((from, to))
        }
        None => Some((Some(dates.parse(value)?), Some(end_of(value)?))),
    }
}

fn parse_filter(dates: &Dates, column: &Column, value: &str) -> Result<Filter, Response> {
    let fail = || wire::unparsable_filter(column.name, value, column.kind.name());
    Ok(match column.kind {
        Kind::IdSet => {
            // guess: open-ended ranges and `*` are refused on IDSET filters (brightpearl-api.md
            // §1.12, ryansmiller report)
            if value.trim().is_empty() || value.contains('*') {
                return Err(fail());
            }
            Filter::Ids(IdSet::parse(value).map_err(|_| fail())?)
        }
        Kind::Integer => Filter::Integer(value.trim().parse().map_err(|_| fail())?),
        // guess: STRING matches exactly (case-sensitive) and SEARCH_STRING is a case-insensitive
        // "contains" (brightpearl-api.md §1.12, UNCONFIRMED there)
        Kind::Text => Filter::Text(value.to_owned()),
        Kind::SearchString => Filter::Contains(value.to_lowercase()),
        Kind::Boolean => match value.trim().to_ascii_lowercase().as_str() {
            "true" => Filter::Boolean(true),
            "false" => Filter::Boolean(false),
            _ => return Err(fail()),
        },
        Kind::Period => {
            let (from, to) = parse_period(dates, value).ok_or_else(fail)?;
            Filter::Period(from, to)
        }
    })
}

fn matches(dates: &Dates, filter: &Filter, cell: &Value) -> bool {
    match filter {
        Filter::Ids(set) => cell
            .as_u64()
            .is_some_and(|id| u32::try_from(id).is_ok_and(|id| set.contains(id))),
        Filter::Integer(wanted) => cell.as_i64() == Some(*wanted),
        Filter::Text(wanted) => cell.as_str() == Some(wanted.as_str()),
        Filter::Contains(needle) => cell
            .as_str()
            .is_some_and(|text| text.to_lowercase().contains(needle.as_str())),
        Filter::Boolean(wanted) => cell.as_bool() == Some(*wanted),
        Filter::Period(from, to) => cell
            .as_str()
            .and_then(|text| dates.parse(text))
            .is_some_and(|at| from.is_none_or(|from| at >= from) && to.is_none_or(|to| at <= to)),
    }
}

fn compare(left: &Value, right: &Value) -> Ordering {
    match (left, right) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Number(a), Value::Number(b)) => a
            .as_f64()
            .unwrap_or_default()
            .partial_cmp(&b.as_f64().unwrap_or_default())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        (a, b) => a
            .as_str()
            .unwrap_or_default()
            .cmp(b.as_str().unwrap_or_default()),
    }
}

/// Parse `sort`: comma-separated `column|DIR` or `column.DIR` (or bare `column`) (§1.12).
fn parse_sort(columns: &[Column], value: &str) -> Vec<(usize, bool)> {
    value
        .split(',')
        .filter_map(|piece| {
            let piece = piece.trim();
            let (name, descending) = match piece.rsplit_once(['|', '.']) {
                Some((name, direction)) if direction.eq_ignore_ascii_case("DESC") => (name, true),
                Some((name, direction)) if direction.eq_ignore_ascii_case("ASC") => (name, false),
                _ => (piece, false),
            };
            // guess: unknown sort columns are ignored (brightpearl-api.md §1.12 does not say)
            columns
                .iter()
                .position(|column| column.name == name)
                .map(|index| (index, descending))
        })
        .collect()
}

fn parse_positive(request: &Req, name: &str, default: usize) -> Result<usize, Response> {
    match request.query(name) {
        None => Ok(default),
        Some(value) => match value.trim().parse::<usize>() {
            Ok(number) if number > 0 => Ok(number),
            _ => Err(wire::unparsable_filter(name, value, "INTEGER")),
        },
    }
}

/// Run a search over `rows` (one value per column) and render Brightpearl's search response.
/// `reference` holds every label map the columns name; only labels for values on the page are
/// sent.
pub fn search(
    inner: &Inner,
    request: &Req,
    columns: &[Column],
    mut rows: Vec<Vec<Value>>,
    reference: &Map<String, Value>,
) -> Response {
    let dates = &inner.dates;
    // Filters: any query parameter named like a column (names are case-sensitive, §1.12).
    for (name, value) in &request.query {
        let Some(index) = columns.iter().position(|column| column.name == name) else {
            continue;
        };
        let filter = match parse_filter(dates, &columns[index], value) {
            Ok(filter) => filter,
            Err(response) => return response,
        };
        rows.retain(|row| matches(dates, &filter, &row[index]));
    }

    let mut sorting = request
        .query("sort")
        .map(|value| parse_sort(columns, value))
        .unwrap_or_default();
    if sorting.is_empty() {
        // guess: without `sort`, results come in ascending order of the first column
        // (brightpearl-api.md §1.12)
        sorting.push((0, false));
    }
    rows.sort_by(|a, b| {
        sorting
            .iter()
            .map(|(index, descending)| {
                let order = compare(&a[*index], &b[*index]);
                if *descending { order.reverse() } else { order }
            })
            .find(|order| *order != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    });

    // guess: `pageSize` above 500 is capped at 500 and the default page is 500 rows
    // (brightpearl-api.md §1.12)
    let page_size = match parse_positive(request, "pageSize", 500) {
        Ok(size) => size.min(500),
        Err(response) => return response,
    };
    let first_result = match parse_positive(request, "firstResult", 1) {
        Ok(first) => first,
        Err(response) => return response,
    };

    let output: Vec<usize> = match request.query("columns") {
        Some(list) => list
            .split(',')
            .filter_map(|name| columns.iter().position(|column| column.name == name.trim()))
            .collect(),
        None => (0..columns.len()).collect(),
    };

    let available = rows.len();
    let page: Vec<Vec<Value>> = rows
        .into_iter()
        .skip(first_result - 1)
        .take(page_size)
        .collect();
    let returned = page.len();

    let mut labels = Map::new();
    for index in &output {
        let Some(map_name) = columns[*index].reference else {
            continue;
        };
        let Some(Value::Object(full)) = reference.get(map_name) else {
            continue;
        };
        let mut subset = Map::new();
        for row in &page {
            let key = match &row[*index] {
                Value::String(text) => text.clone(),
                Value::Null => continue,
                other => other.to_string(),
            };
            if let Some(label) = full.get(&key) {
                subset.insert(key, label.clone());
            }
        }
        labels.insert(map_name.to_owned(), Value::Object(subset));
    }

    let results: Vec<Value> = page
        .into_iter()
        .map(|row| Value::Array(output.iter().map(|index| row[*index].clone()).collect()))
        .collect();
    let mut meta = json!({
        "morePagesAvailable": first_result - 1 + returned < available,
        "resultsAvailable": available,
        "resultsReturned": returned,
        "columns": output.iter().map(|index| descriptor(&columns[*index])).collect::<Vec<_>>(),
        "sorting": sorting.iter().map(|(index, descending)| json!({
            "filterable": descriptor(&columns[*index]),
            "direction": if *descending { "DESC" } else { "ASC" },
        })).collect::<Vec<_>>(),
    });
    // firstResult / lastResult are absent when nothing is returned (§1.12).
    if returned > 0 {
        meta["firstResult"] = json!(first_result);
        meta["lastResult"] = json!(first_result - 1 + returned);
    }
    wire::json_response(
        axum::http::StatusCode::OK,
        json!({
            "response": {"results": results, "metaData": meta},
            "reference": labels,
        }),
    )
}

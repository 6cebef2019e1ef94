//! Manual mappings between DSCO and Brightpearl, their rules and their CSV form.
//!
//! Five kinds: [`items`] (DSCO SKU → Brightpearl product, overriding the automatic match that
//! [`items::ItemMatcher`] also performs), [`customers`] (DSCO retailer → Brightpearl contact),
//! [`shipping_methods`] (both directions between DSCO ship codes and Brightpearl shipping
//! methods), [`warehouses`] (Brightpearl warehouse → DSCO warehouse code) and
//! [`inventory_buffers`] (DSCO SKU → units held back from its published stock). Each kind is a
//! [`MappingRow`]: its CSV columns (key columns first), how a row is parsed and checked against
//! reference data, and its key. Uploads ([`upload`]) parse and check every row in one pass and
//! write in one store transaction: all rows apply, or none and every bad row is reported.
//!
//! This module reads and writes the store through typed methods only; it knows nothing of HTTP.

pub mod csv;
pub mod customers;
pub mod dsco_lists;
pub mod inventory_buffers;
pub mod items;
pub mod shipping_methods;
pub mod warehouses;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::reference::ReferenceData;
use crate::store::{self, MappingWriteCounts, ReadTx, Store};

pub use customers::CustomerMapping;
pub use inventory_buffers::InventoryBuffer;
pub use items::ItemMapping;
pub use shipping_methods::ShippingMethodMapping;
pub use warehouses::WarehouseMapping;

/// The mapping kinds, by their contract names.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum MappingKind {
    Items,
    Customers,
    ShippingMethods,
    Warehouses,
    InventoryBuffers,
}

impl MappingKind {
    pub const ALL: [MappingKind; 5] = [
        MappingKind::Items,
        MappingKind::Customers,
        MappingKind::ShippingMethods,
        MappingKind::Warehouses,
        MappingKind::InventoryBuffers,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MappingKind::Items => "items",
            MappingKind::Customers => "customers",
            MappingKind::ShippingMethods => "shipping-methods",
            MappingKind::Warehouses => "warehouses",
            MappingKind::InventoryBuffers => "inventory-buffers",
        }
    }

    /// Whether rows name Brightpearl ids that are checked against reference data.
    pub fn needs_reference(self) -> bool {
        !matches!(self, MappingKind::Customers | MappingKind::InventoryBuffers)
    }

    /// The CSV header, key columns first.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            MappingKind::Items => ItemMapping::COLUMNS,
            MappingKind::Customers => CustomerMapping::COLUMNS,
            MappingKind::ShippingMethods => ShippingMethodMapping::COLUMNS,
            MappingKind::Warehouses => WarehouseMapping::COLUMNS,
            MappingKind::InventoryBuffers => InventoryBuffer::COLUMNS,
        }
    }
}

impl fmt::Display for MappingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MappingKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MappingKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown mapping kind {s:?}; expected items, customers, shipping-methods, warehouses or inventory-buffers"
                )
            })
    }
}

/// How an upload combines with the stored mappings of its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Add and update the uploaded rows, keep the others.
    #[default]
    Merge,
    /// The upload becomes the whole mapping: rows it does not hold are removed.
    Replace,
}

/// One bad row: its line in the file (1 is the header; 0 for a single mapping sent as JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub message: String,
}

impl RowError {
    pub fn new(line: u64, message: impl Into<String>) -> RowError {
        RowError {
            line,
            message: message.into(),
        }
    }
}

/// Why an upload or a single change was not applied.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("reference data not retrieved yet; run the reference flow first")]
    ReferenceMissing,
    #[error("{} bad row(s); nothing was applied", .0.len())]
    Rows(Vec<RowError>),
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// What rows are checked against: the Brightpearl reference data and catalog, DSCO's lists.
#[derive(Debug, Default)]
pub struct CheckContext {
    pub reference: Option<ReferenceData>,
    pub product_ids: HashSet<u32>,
    pub warehouse_ids: HashSet<u32>,
    pub shipping_method_ids: HashSet<u32>,
    /// DSCO warehouse codes, lower-cased; empty means "not known, accept any".
    pub dsco_warehouse_codes: HashSet<String>,
    /// DSCO service level codes, lower-cased; with `dsco_carrier_methods` empty means "any".
    pub dsco_service_level_codes: HashSet<String>,
    /// DSCO (carrier, method) pairs, lower-cased.
    pub dsco_carrier_methods: HashSet<(String, String)>,
    /// `shipments.order_only_service_levels`, lower-cased: codes a shipment cannot carry.
    pub order_only_service_levels: HashSet<String>,
}

impl CheckContext {
    /// Load what rows of `kind` are checked against.
    pub fn load(tx: &ReadTx, kind: MappingKind) -> Result<CheckContext, store::Error> {
        let reference = tx.reference_data()?;
        let mut ctx = CheckContext::default();
        if let Some(r) = &reference {
            ctx.warehouse_ids = r.warehouses.iter().map(|w| w.id).collect();
            ctx.shipping_method_ids = r.shipping_methods.iter().map(|m| m.id).collect();
        }
        ctx.reference = reference;
        match kind {
            MappingKind::Items => ctx.product_ids = tx.product_ids()?.into_iter().collect(),
            MappingKind::Warehouses => {
                ctx.dsco_warehouse_codes = tx
                    .dsco_warehouses()?
                    .into_iter()
                    .map(|w| normalize(&w.code))
                    .collect();
            }
            MappingKind::ShippingMethods => {
                ctx.order_only_service_levels = crate::settings::Settings::load(tx)?
                    .shipments
                    .order_only_service_levels
                    .iter()
                    .map(|c| normalize(c))
                    .collect();
                for m in tx.dsco_ship_methods()? {
                    if !m.service_level_code.trim().is_empty() {
                        ctx.dsco_service_level_codes
                            .insert(normalize(&m.service_level_code));
                    }
                    if !m.carrier.trim().is_empty() || !m.method.trim().is_empty() {
                        ctx.dsco_carrier_methods
                            .insert((normalize(&m.carrier), normalize(&m.method)));
                    }
                }
            }
            MappingKind::Customers | MappingKind::InventoryBuffers => {}
        }
        Ok(ctx)
    }
}

/// A kind of mapping row: its columns, parsing, key and checks.
pub trait MappingRow: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    const KIND: MappingKind;
    /// CSV columns, key columns first.
    const COLUMNS: &'static [&'static str];
    /// How many leading columns form the key (joined by `|`).
    const KEY_COLUMNS: usize;

    /// Parse one row from values in `COLUMNS` order; every problem in it, as messages.
    fn from_values(values: &[String]) -> Result<Self, Vec<String>>;

    /// Values in `COLUMNS` order.
    fn to_values(&self) -> Vec<String>;

    /// Check the row's ids and codes against reference data and DSCO's lists.
    fn check(&self, ctx: &CheckContext) -> Vec<String>;

    /// The stored key: the key columns joined by `|`.
    fn key(&self) -> String {
        self.to_values()[..Self::KEY_COLUMNS].join("|")
    }

    /// The stored key for a key as a caller wrote it.
    fn normalize_key(key: &str) -> String {
        key.trim().to_owned()
    }

    /// Rules across rows (e.g. one DSCO code per Brightpearl method). `rows` are the new rows
    /// with their lines; `others` the stored rows they do not replace.
    fn check_across(_rows: &[(u64, Self)], _others: &[Self]) -> Vec<RowError> {
        Vec::new()
    }
}

/// Trim and lower-case, for case-insensitive comparisons.
pub fn normalize(value: &str) -> String {
    value.trim().to_lowercase()
}

/// Parse a positive integer id column.
fn positive_id(column: &str, value: &str, problems: &mut Vec<String>) -> u32 {
    if value.is_empty() {
        problems.push(format!("{column} is empty"));
        return 0;
    }
    match value.parse::<u32>() {
        Ok(id) if id > 0 => id,
        _ => {
            problems.push(format!("{column} {value:?} is not a positive integer"));
            0
        }
    }
}

/// Parse a required text column.
fn required(column: &str, value: &str, problems: &mut Vec<String>) -> String {
    if value.is_empty() {
        problems.push(format!("{column} is empty"));
    }
    value.to_owned()
}

/// Parse and check a whole upload; every bad row is reported.
fn parse_rows<R: MappingRow>(
    bytes: &[u8],
    ctx: &CheckContext,
    existing: &[(String, R)],
    mode: Mode,
) -> Result<Vec<(u64, R)>, Vec<RowError>> {
    let table = csv::parse(bytes, R::COLUMNS).map_err(|e| vec![e])?;
    let mut problems = table.problems;
    let mut rows = Vec::with_capacity(table.rows.len());
    let mut first_line_of_key: HashMap<String, u64> = HashMap::with_capacity(table.rows.len());
    for (line, values) in table.rows {
        match R::from_values(&values) {
            Err(messages) => problems.extend(messages.into_iter().map(|m| RowError::new(line, m))),
            Ok(row) => {
                let mut messages = row.check(ctx);
                let key = row.key();
                if let Some(first) = first_line_of_key.get(&key) {
                    messages.push(format!("duplicate key {key:?} (first on line {first})"));
                } else {
                    first_line_of_key.insert(key, line);
                }
                if messages.is_empty() {
                    rows.push((line, row));
                } else {
                    problems.extend(messages.into_iter().map(|m| RowError::new(line, m)));
                }
            }
        }
    }
    let others: Vec<R> = match mode {
        Mode::Replace => Vec::new(),
        Mode::Merge => existing
            .iter()
            .filter(|(k, _)| !first_line_of_key.contains_key(k))
            .map(|(_, r)| r.clone())
            .collect(),
    };
    problems.extend(R::check_across(&rows, &others));
    if problems.is_empty() {
        Ok(rows)
    } else {
        problems.sort_by_key(|p| p.line);
        Err(problems)
    }
}

/// Apply a CSV upload of one kind: parse, check, and write in one transaction.
pub fn upload<R: MappingRow>(
    store: &Store,
    bytes: &[u8],
    mode: Mode,
) -> Result<MappingWriteCounts, MappingError> {
    let (ctx, existing) = store.read(|tx| {
        let ctx = CheckContext::load(tx, R::KIND)?;
        // Only rules across rows need the stored rows; items are the big kind and have none.
        let existing = if R::KIND == MappingKind::ShippingMethods {
            tx.mappings::<R>(R::KIND.as_str())?
        } else {
            Vec::new()
        };
        Ok((ctx, existing))
    })?;
    if R::KIND.needs_reference() && ctx.reference.is_none() {
        return Err(MappingError::ReferenceMissing);
    }
    let rows = parse_rows::<R>(bytes, &ctx, &existing, mode).map_err(MappingError::Rows)?;
    let keyed: Vec<(String, R)> = rows.into_iter().map(|(_, r)| (r.key(), r)).collect();
    let counts = store.write(|tx| {
        tx.write_mappings(
            R::KIND.as_str(),
            keyed.iter().map(|(k, r)| (k.as_str(), r)),
            mode == Mode::Replace,
        )
    })?;
    Ok(counts)
}

/// Every stored row of a kind as CSV (what an upload takes back unchanged).
pub fn export<R: MappingRow>(tx: &ReadTx) -> Result<Vec<u8>, store::Error> {
    let rows = tx.mappings::<R>(R::KIND.as_str())?;
    Ok(csv::write(
        R::COLUMNS,
        rows.into_iter().map(|(_, r)| r.to_values()),
    ))
}

/// Build a row from a JSON object and the key from the path: key columns come from the key,
/// the others from the body (a key column in the body must agree with the key).
fn row_from_json<R: MappingRow>(key: &str, body: &Value) -> Result<R, Vec<String>> {
    let Value::Object(fields) = body else {
        return Err(vec!["the body must be a JSON object".into()]);
    };
    let mut problems = Vec::new();
    for name in fields.keys() {
        if !R::COLUMNS.contains(&name.as_str()) {
            problems.push(format!("unknown field {name:?}"));
        }
    }
    let key_parts: Vec<&str> = if R::KEY_COLUMNS == 1 {
        vec![key]
    } else {
        key.split('|').collect()
    };
    if key_parts.len() != R::KEY_COLUMNS {
        problems.push(format!(
            "the key must be {} joined by |",
            R::COLUMNS[..R::KEY_COLUMNS].join(", ")
        ));
        return Err(problems);
    }
    let mut values = Vec::with_capacity(R::COLUMNS.len());
    for (i, column) in R::COLUMNS.iter().enumerate() {
        let from_body = match fields.get(*column) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.trim().to_owned()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(other) => {
                problems.push(format!(
                    "{column} must be a string or a number, not {other}"
                ));
                None
            }
        };
        if i < R::KEY_COLUMNS {
            let from_key = key_parts[i].trim().to_owned();
            if let Some(b) = &from_body
                && *b != from_key
                && R::normalize_key(b) != R::normalize_key(&from_key)
            {
                problems.push(format!(
                    "{column} {b:?} in the body does not match the key ({from_key:?})"
                ));
            }
            // The body's spelling wins when it names the same key (e.g. a SKU's case).
            values.push(from_body.unwrap_or(from_key));
        } else {
            values.push(from_body.unwrap_or_default());
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    R::from_values(&values)
}

/// Store one mapping sent as JSON under `key`, checked like an uploaded row.
pub fn put_one<R: MappingRow>(store: &Store, key: &str, body: &Value) -> Result<R, MappingError> {
    let bad = |messages: Vec<String>| {
        MappingError::Rows(messages.into_iter().map(|m| RowError::new(0, m)).collect())
    };
    let row = row_from_json::<R>(key, body).map_err(bad)?;
    let key = row.key();
    let (ctx, existing) = store.read(|tx| {
        Ok((
            CheckContext::load(tx, R::KIND)?,
            tx.mappings::<R>(R::KIND.as_str())?,
        ))
    })?;
    if R::KIND.needs_reference() && ctx.reference.is_none() {
        return Err(MappingError::ReferenceMissing);
    }
    let mut messages = row.check(&ctx);
    let others: Vec<R> = existing
        .into_iter()
        .filter(|(k, _)| *k != key)
        .map(|(_, r)| r)
        .collect();
    messages.extend(
        R::check_across(&[(0, row.clone())], &others)
            .into_iter()
            .map(|e| e.message),
    );
    if !messages.is_empty() {
        return Err(bad(messages));
    }
    store.write(|tx| tx.put_mapping(R::KIND.as_str(), &key, &row))?;
    Ok(row)
}

/// Operations on a kind chosen at run time (the API's `{kind}`).
pub mod dynamic {
    use super::*;

    /// Dispatch a generic function over the row type of `kind`.
    macro_rules! by_kind {
        ($kind:expr, $f:ident ( $($arg:expr),* )) => {
            match $kind {
                MappingKind::Items => $f::<ItemMapping>($($arg),*),
                MappingKind::Customers => $f::<CustomerMapping>($($arg),*),
                MappingKind::ShippingMethods => $f::<ShippingMethodMapping>($($arg),*),
                MappingKind::Warehouses => $f::<WarehouseMapping>($($arg),*),
                MappingKind::InventoryBuffers => $f::<InventoryBuffer>($($arg),*),
            }
        };
    }

    fn to_json<R: MappingRow>(row: &R) -> Value {
        serde_json::to_value(row).unwrap_or(Value::Null)
    }

    fn page_of<R: MappingRow>(
        tx: &ReadTx,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Value)>, store::Error> {
        Ok(tx
            .mappings_page::<R>(R::KIND.as_str(), after, limit)?
            .into_iter()
            .map(|(k, r)| (k, to_json(&r)))
            .collect())
    }

    /// A page of stored rows as JSON, with their keys.
    pub fn page(
        tx: &ReadTx,
        kind: MappingKind,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Value)>, store::Error> {
        by_kind!(kind, page_of(tx, after, limit))
    }

    fn one_of<R: MappingRow>(tx: &ReadTx, key: &str) -> Result<Option<Value>, store::Error> {
        Ok(tx
            .mapping::<R>(R::KIND.as_str(), &R::normalize_key(key))?
            .map(|r| to_json(&r)))
    }

    /// One stored row as JSON.
    pub fn get(tx: &ReadTx, kind: MappingKind, key: &str) -> Result<Option<Value>, store::Error> {
        by_kind!(kind, one_of(tx, key))
    }

    fn normalized<R: MappingRow>(key: &str) -> String {
        R::normalize_key(key)
    }

    /// The stored form of a key.
    pub fn normalize_key(kind: MappingKind, key: &str) -> String {
        by_kind!(kind, normalized(key))
    }

    pub fn export(tx: &ReadTx, kind: MappingKind) -> Result<Vec<u8>, store::Error> {
        by_kind!(kind, export_rows(tx))
    }

    fn export_rows<R: MappingRow>(tx: &ReadTx) -> Result<Vec<u8>, store::Error> {
        super::export::<R>(tx)
    }

    pub fn upload(
        store: &Store,
        kind: MappingKind,
        bytes: &[u8],
        mode: Mode,
    ) -> Result<MappingWriteCounts, MappingError> {
        by_kind!(kind, upload_rows(store, bytes, mode))
    }

    fn upload_rows<R: MappingRow>(
        store: &Store,
        bytes: &[u8],
        mode: Mode,
    ) -> Result<MappingWriteCounts, MappingError> {
        super::upload::<R>(store, bytes, mode)
    }

    pub fn put(
        store: &Store,
        kind: MappingKind,
        key: &str,
        body: &Value,
    ) -> Result<Value, MappingError> {
        by_kind!(kind, put_row(store, key, body))
    }

    fn put_row<R: MappingRow>(
        store: &Store,
        key: &str,
        body: &Value,
    ) -> Result<Value, MappingError> {
        super::put_one::<R>(store, key, body).map(|r| to_json(&r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_by_contract_name() {
        for kind in MappingKind::ALL {
            assert_eq!(kind.as_str().parse::<MappingKind>().unwrap(), kind);
        }
        assert!("item".parse::<MappingKind>().is_err());
    }

    fn ctx_with_products(ids: &[u32]) -> CheckContext {
        CheckContext {
            reference: Some(ReferenceData::empty(chrono::Utc::now())),
            product_ids: ids.iter().copied().collect(),
            ..Default::default()
        }
    }

    #[test]
    fn an_upload_reports_every_bad_row_by_line_and_reason() {
        let csv = b"dsco_sku,brightpearl_product_id\nA,1\nB,x\n,2\nC,99\na,2\nD\n";
        let errors = parse_rows::<ItemMapping>(csv, &ctx_with_products(&[1, 2]), &[], Mode::Merge)
            .unwrap_err();
        let got: Vec<(u64, &str)> = errors
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert_eq!(got.len(), 5, "{got:?}");
        assert_eq!(got[0].0, 3);
        assert!(got[0].1.contains("not a positive integer"));
        assert_eq!(got[1], (4, "dsco_sku is empty"));
        assert_eq!(got[2].0, 5);
        assert!(got[2].1.contains("unknown Brightpearl product 99"));
        assert_eq!(got[3].0, 6);
        assert!(got[3].1.contains("duplicate key"), "{got:?}");
        assert!(got[3].1.contains("first on line 2"));
        assert_eq!(got[4], (7, "missing column brightpearl_product_id"));
    }

    #[test]
    fn a_clean_upload_parses_every_row() {
        let csv = "dsco_sku,brightpearl_product_id\nA,1\nB,2\n";
        let rows = parse_rows::<ItemMapping>(
            csv.as_bytes(),
            &ctx_with_products(&[1, 2]),
            &[],
            Mode::Merge,
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].1.brightpearl_product_id, 2);
    }

    #[test]
    fn a_json_row_takes_its_key_columns_from_the_key() {
        let row: ShippingMethodMapping = row_from_json(
            "orders|GCG||",
            &serde_json::json!({"brightpearl_shipping_method_id": 7}),
        )
        .unwrap();
        assert_eq!(row.dsco_service_level_code, "GCG");
        assert_eq!(row.key(), "orders|GCG||");
        let errors = row_from_json::<ItemMapping>(
            "A",
            &serde_json::json!({"dsco_sku": "B", "brightpearl_product_id": 1}),
        )
        .unwrap_err();
        assert!(errors[0].contains("does not match the key"), "{errors:?}");
        let errors = row_from_json::<ShippingMethodMapping>("orders|GCG", &serde_json::json!({}))
            .unwrap_err();
        assert!(errors[0].contains("joined by |"), "{errors:?}");
    }
}

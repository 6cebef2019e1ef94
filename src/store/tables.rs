//! Every redb table the product uses. Keys are ordered tuples of strings and integers; values are
//! JSON bytes through the store's one encode/decode pair (`error.rs`) unless they are plain
//! integers.

use redb::TableDefinition;

/// `schema_version`, and id sequences (`next_record_id`, `next_run_id`, `next_inbox_seq`).
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// One JSON document per name: `settings`, `connection.brightpearl`, `connection.dsco`, `install`, reference
/// data snapshots (`reference.warehouses`, ...). Order views were documents `order/<id>` here
/// until schema version 4.
pub const NAME_TO_DOCUMENT: TableDefinition<&str, &[u8]> = TableDefinition::new("documents");
/// Manual mappings: (kind, key) → row. Kinds: items, customers, shipping-methods, warehouses,
/// inventory-buffers.
pub const KIND_KEY_TO_MAPPING: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("mappings");
/// Links between DSCO and Brightpearl objects: (kind, DSCO id) → link.
pub const KIND_DSCO_ID_TO_LINK: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("links");
/// The reverse index: (kind, Brightpearl id) → DSCO id.
pub const KIND_BP_ID_TO_DSCO_ID: TableDefinition<(&str, &str), &str> =
    TableDefinition::new("links_by_brightpearl_id");
/// Per-flow cursors: cursor name → JSON.
pub const NAME_TO_CURSOR: TableDefinition<&str, &[u8]> = TableDefinition::new("cursors");
/// Open intents of non-idempotent upstream writes: (kind, key) → intent.
pub const KIND_KEY_TO_INTENT: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("intents");
/// Idempotency keys already applied → unix milliseconds when first applied.
pub const IDEMPOTENCY_KEY_TO_MILLIS: TableDefinition<&str, i64> =
    TableDefinition::new("idempotency_keys");
/// Sync records by id.
pub const RECORD_ID_TO_RECORD: TableDefinition<u64, &[u8]> = TableDefinition::new("records");
/// (flow, kind, source id) → record id: one record per object a flow touches.
pub const SUBJECT_TO_RECORD_ID: TableDefinition<(&str, &str, &str), u64> =
    TableDefinition::new("records_by_subject");
/// (status, flow, record id) → (): counts and lists by status without reading records.
/// Added by schema version 2.
pub const STATUS_FLOW_ID_TO_UNIT: TableDefinition<(&str, &str, u64), ()> =
    TableDefinition::new("records_by_status");
/// Runs by id.
pub const RUN_ID_TO_RUN: TableDefinition<u64, &[u8]> = TableDefinition::new("runs");
/// The Brightpearl product catalog by product id, replaced whole by the reference flow.
/// Added by schema version 3.
pub const PRODUCT_ID_TO_PRODUCT: TableDefinition<u32, &[u8]> = TableDefinition::new("products");
/// DSCO items seen on order lines, by DSCO `sku`. Added by schema version 3.
pub const DSCO_SKU_TO_ITEM: TableDefinition<&str, &[u8]> = TableDefinition::new("dsco_items");
/// DSCO retailers seen on orders, by `dscoRetailerId`. Added by schema version 3.
pub const DSCO_RETAILER_ID_TO_RETAILER: TableDefinition<&str, &[u8]> =
    TableDefinition::new("dsco_retailers");
/// What a user sees of each order, by DSCO order id. Added by schema version 4.
pub const DSCO_ORDER_ID_TO_ORDER_VIEW: TableDefinition<&str, &[u8]> =
    TableDefinition::new("order_views");
/// (state, DSCO order id) → (): order views listed by state without reading the others.
/// Added by schema version 4.
pub const STATE_DSCO_ORDER_ID_TO_UNIT: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("order_views_by_state");
/// The webhook inbox: (flow, sequence) → entry (event, resource id, received at), oldest first.
/// Added by schema version 5.
pub const FLOW_SEQ_TO_INBOX_ENTRY: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("inbox");
/// (flow, event, resource id) → the entry's sequence: one entry per object and event. Added by
/// schema version 5.
pub const FLOW_EVENT_ID_TO_INBOX_SEQ: TableDefinition<(&str, &str, u64), u64> =
    TableDefinition::new("inbox_by_subject");
/// Brightpearl event → unix milliseconds of the last accepted delivery. Added by schema version 5.
pub const EVENT_TO_LAST_DELIVERY_MILLIS: TableDefinition<&str, i64> =
    TableDefinition::new("webhook_deliveries");
/// Published DSCO SKUs: what DSCO confirmed and what was last published. Added by schema version 6.
pub const SKU_TO_INVENTORY: TableDefinition<&str, &[u8]> = TableDefinition::new("inventory");
/// The inventory change queue (`product:<id>`, `sku:<dsco sku>`) → unix milliseconds queued.
/// Added by schema version 6.
pub const CHANGE_TO_MILLIS: TableDefinition<&str, i64> = TableDefinition::new("stock_changes");
/// DSCO orders not yet a Brightpearl order → the units they hold. Added by schema version 6.
pub const DSCO_ORDER_ID_TO_PENDING_UNITS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("pending_units");

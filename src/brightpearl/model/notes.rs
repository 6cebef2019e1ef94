//! Order-note search rows (`/order-service/order-note-search`, brightpearl-api.md §4.7).

use serde::{Deserialize, Serialize};

use super::ids::OrderId;

/// One row of the order-note search, by its `metaData.columns` names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderNoteSearchRow {
    pub order_id: OrderId,
    pub note_id: u64,
    #[serde(default)]
    pub note_text: Option<String>,
    #[serde(default)]
    pub order_status_id: Option<u64>,
}

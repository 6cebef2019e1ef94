//! Webhook wire types (brightpearl-api.md §4.16).

use serde::{Deserialize, Serialize};

use super::ids::WebhookId;

/// Body of `POST /integration-service/webhook`; GET returns the same plus `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<WebhookId>,
    pub subscribe_to: String,
    pub http_method: String,
    pub uri_template: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_set_accepted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_of_service: Option<u8>,
}

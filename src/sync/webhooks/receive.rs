//! What a delivery to the public listener becomes: the body read as our template's JSON
//! ([`Delivery`]), its ID set parsed in full, and, in one store transaction, an inbox entry per
//! (enabled flow, event, id) plus the event's last delivery time. No upstream call: the flows'
//! runs read the resources later.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::desired::flows_for_event;
use crate::brightpearl::idset::parse_id_set;
use crate::flow_name::FlowName;
use crate::settings::Settings;
use crate::store::{self, InboxEntry, WriteTx};

/// A delivery body as [`super::BODY_TEMPLATE`] renders it (brightpearl-api.md §4.16): every
/// value a string, `id` one id or an ID set.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub account_code: String,
    pub resource_type: String,
    pub id: String,
    pub lifecycle_event: String,
    pub full_event: String,
    pub raised_on: String,
    pub brightpearl_version: String,
}

impl Delivery {
    /// Read a body; the error names what is not our template's JSON.
    pub fn parse(body: &[u8]) -> Result<Delivery, String> {
        let delivery: Delivery = serde_json::from_slice(body)
            .map_err(|e| format!("the body is not the webhook template's JSON: {e}"))?;
        if delivery.full_event.trim().is_empty() {
            return Err("fullEvent is empty".into());
        }
        Ok(delivery)
    }

    /// Every resource id the delivery names.
    pub fn ids(&self) -> Result<Vec<u64>, String> {
        parse_id_set(&self.id).map_err(|e| format!("id {:?}: {e}", self.id))
    }
}

/// What an accepted delivery stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    /// The flows that got entries (new or delivered again); each gets a queued run.
    pub flows: Vec<FlowName>,
    /// Entries that were not in the inbox yet.
    pub added: usize,
}

/// Commit a delivery: an entry per enabled flow the event feeds and per id, and the event's last
/// delivery time. An event no enabled flow takes is recorded as delivered and otherwise dropped.
pub fn accept(
    tx: &WriteTx,
    delivery: &Delivery,
    ids: &[u64],
    enabled: &BTreeSet<FlowName>,
    now: DateTime<Utc>,
) -> Result<Accepted, store::Error> {
    let settings: Settings = tx.document(store::SETTINGS_DOCUMENT)?.unwrap_or_default();
    let flows = flows_for_event(&delivery.full_event, enabled, &settings);
    let entries: Vec<InboxEntry> = flows
        .iter()
        .flat_map(|flow| {
            ids.iter().map(|id| InboxEntry {
                flow: *flow,
                event: delivery.full_event.clone(),
                id: *id,
                received_at: now,
            })
        })
        .collect();
    let added = tx.inbox_add(&entries)?;
    tx.record_webhook_delivery(&delivery.full_event, now)?;
    Ok(Accepted { flows, added })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_template_and_refuses_anything_else() {
        let body =
            br#"{"accountCode":"acme","resourceType":"goods-out-note","id":"67166,67170-67172",
            "lifecycleEvent":"created","fullEvent":"goods-out-note.created",
            "raisedOn":"2023-03-17T06:13:02.848Z","brightpearlVersion":"4.95.2936"}"#;
        let delivery = Delivery::parse(body).unwrap();
        assert_eq!(delivery.account_code, "acme");
        assert_eq!(delivery.ids().unwrap(), [67166, 67170, 67171, 67172]);
        for bad in [
            &b"not json"[..],
            br#"{"accountCode":"acme"}"#,
            br#"{"accountCode":1,"resourceType":"","id":"1","lifecycleEvent":"","fullEvent":"x","raisedOn":"","brightpearlVersion":""}"#,
            br#"[]"#,
        ] {
            assert!(Delivery::parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let mut bad_ids = delivery.clone();
        bad_ids.id = "${resource-id}".into();
        assert!(bad_ids.ids().unwrap_err().contains("is not an id"));
    }
}

//! One reconcile of Brightpearl's webhooks with the desired set: list the account's hooks; ours
//! (carrying our `install=`) that match a desired hook in every field are kept, the rest of ours
//! deleted, and the desired ones missing created. There is no update (brightpearl-api.md §4.16),
//! so a changed hook is deleted and created again. Hooks that are not ours are never touched.
//!
//! Creates need no intent: an unanswered create that did take effect shows up as one of ours in
//! the next reconcile's list, where it is kept (or deleted as a duplicate).

use serde::Serialize;

use super::desired::is_ours;
use crate::brightpearl::{self, Lane, Webhook, WebhookId};

/// Webhook registration is housekeeping: the low-priority lane, behind orders and shipments.
pub const LANE: Lane = Lane::Reference;

/// One hook a reconcile created, deleted or kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct HookChange {
    #[schema(value_type = u64)]
    pub id: WebhookId,
    pub subscribe_to: String,
}

/// What one reconcile did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReconcileReport {
    pub created: Vec<HookChange>,
    pub deleted: Vec<HookChange>,
    pub kept: Vec<HookChange>,
}

impl ReconcileReport {
    /// Whether nothing was created or deleted.
    pub fn unchanged(&self) -> bool {
        self.created.is_empty() && self.deleted.is_empty()
    }
}

/// What to do with the account's hooks, decided without IO: `(keep, delete, create)`.
pub fn plan<'a>(
    existing: &'a [Webhook],
    desired: &'a [Webhook],
    install_id: &str,
) -> (Vec<&'a Webhook>, Vec<&'a Webhook>, Vec<&'a Webhook>) {
    let mut ours: Vec<Option<&Webhook>> = existing
        .iter()
        .filter(|hook| is_ours(hook, install_id))
        .map(Some)
        .collect();
    let mut keep = Vec::new();
    let mut create = Vec::new();
    for wanted in desired {
        let same = ours
            .iter_mut()
            .find(|hook| hook.is_some_and(|hook| same_fields(hook, wanted)));
        match same.and_then(Option::take) {
            Some(hook) => keep.push(hook),
            None => create.push(wanted),
        }
    }
    let delete = ours.into_iter().flatten().collect();
    (keep, delete, create)
}

/// Every field but the id.
fn same_fields(a: &Webhook, b: &Webhook) -> bool {
    Webhook {
        id: None,
        ..a.clone()
    } == Webhook {
        id: None,
        ..b.clone()
    }
}

/// Make the account's hooks of this install exactly `desired`. Creates go first, so a changed
/// hook is never missing for a moment (a doubled delivery collapses in the inbox); a hook
/// already gone when deleted counts as deleted.
pub async fn reconcile(
    client: &brightpearl::Client,
    desired: &[Webhook],
    install_id: &str,
) -> Result<ReconcileReport, brightpearl::Error> {
    let existing = client.list_webhooks(LANE).await?;
    let (keep, delete, create) = plan(&existing, desired, install_id);
    let change = |id: WebhookId, hook: &Webhook| HookChange {
        id,
        subscribe_to: hook.subscribe_to.clone(),
    };
    let mut report = ReconcileReport {
        kept: keep
            .iter()
            .filter_map(|hook| Some(change(hook.id?, hook)))
            .collect(),
        ..ReconcileReport::default()
    };
    for hook in create {
        let id = client.create_webhook(LANE, hook).await?;
        tracing::info!(webhook_id = %id, event = %hook.subscribe_to, "Brightpearl webhook created");
        report.created.push(change(id, hook));
    }
    for hook in delete {
        let Some(id) = hook.id else { continue };
        match client.delete_webhook(LANE, id).await {
            Ok(()) => {}
            Err(error) if error.is_not_found() => {}
            Err(error) => return Err(error),
        }
        tracing::info!(webhook_id = %id, event = %hook.subscribe_to, "Brightpearl webhook deleted");
        report.deleted.push(change(id, hook));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(id: u64, event: &str, uri: &str) -> Webhook {
        Webhook {
            id: Some(WebhookId(id)),
            subscribe_to: event.into(),
            http_method: "POST".into(),
            uri_template: uri.into(),
            body_template: Some("{}".into()),
            content_type: Some("application/json".into()),
            id_set_accepted: Some(true),
            quality_of_service: Some(1),
        }
    }

    const OURS: &str = "https://h/hooks/brightpearl?key=k&install=me";

    fn wanted(event: &str) -> Webhook {
        Webhook {
            id: None,
            ..hook(0, event, OURS)
        }
    }

    fn ids(hooks: &[&Webhook]) -> Vec<u64> {
        hooks.iter().map(|h| h.id.map_or(0, |id| id.0)).collect()
    }

    #[test]
    fn keeps_matches_replaces_changed_and_leaves_others_alone() {
        let mut changed = hook(3, "order.modified", OURS);
        changed.quality_of_service = Some(0);
        let existing = vec![
            hook(1, "goods-out-note.created", OURS),
            hook(2, "goods-out-note.created", OURS), // a duplicate of ours
            changed,
            hook(4, "product.modified.on-hand-modified", OURS), // no longer wanted
            hook(
                5,
                "order.modified",
                "https://other/hook?install=someone-else&key=x",
            ),
            hook(6, "order.modified", "https://other/hook?token=abc"),
        ];
        let desired = vec![
            wanted("goods-out-note.created"),
            wanted("order.modified"),
            wanted("goods-out-note.destroyed"),
        ];
        let (keep, delete, create) = plan(&existing, &desired, "me");
        assert_eq!(ids(&keep), [1]);
        assert_eq!(ids(&delete), [2, 3, 4]);
        let created: Vec<&str> = create.iter().map(|h| h.subscribe_to.as_str()).collect();
        assert_eq!(created, ["order.modified", "goods-out-note.destroyed"]);
    }

    #[test]
    fn nothing_desired_deletes_only_ours() {
        let existing = vec![
            hook(1, "goods-out-note.created", OURS),
            hook(2, "order.modified", "https://other/hook"),
        ];
        let (keep, delete, create) = plan(&existing, &[], "me");
        assert!(keep.is_empty() && create.is_empty());
        assert_eq!(ids(&delete), [1]);
    }

    #[test]
    fn an_exact_set_is_kept_whole() {
        let existing = vec![
            hook(7, "order.modified", OURS),
            hook(8, "goods-out-note.created", OURS),
        ];
        let desired = vec![wanted("goods-out-note.created"), wanted("order.modified")];
        let (keep, delete, create) = plan(&existing, &desired, "me");
        assert_eq!(ids(&keep), [8, 7]);
        assert!(delete.is_empty() && create.is_empty());
    }
}

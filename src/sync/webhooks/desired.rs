//! The webhooks this install wants, as a pure function of the enabled flows, the settings, the
//! public URL and the install's identity; which flows a delivered event feeds; and how our hooks
//! are told from anyone else's. No IO.

use std::collections::BTreeSet;

use url::Url;

use crate::brightpearl::Webhook;
use crate::flow_name::FlowName;
use crate::settings::{Settings, ShipmentTrigger};
use crate::store::Install;

/// The public listener's one route.
pub const HOOK_PATH: &str = "/hooks/brightpearl";

/// The delivery body: every placeholder of brightpearl-api.md §4.16, as JSON text. The listener
/// reads exactly these keys ([`crate::sync::webhooks::Delivery`]).
pub const BODY_TEMPLATE: &str = concat!(
    r#"{"accountCode":"${account-code}","resourceType":"${resource-type}","#,
    r#""id":"${resource-id}","lifecycleEvent":"${lifecycle-event}","#,
    r#""fullEvent":"${full-event}","raisedOn":"${raised-on}","#,
    r#""brightpearlVersion":"${brightpearl-version}"}"#
);

pub const GOODS_OUT_NOTE_EVENTS: [&str; 4] = [
    "goods-out-note.created",
    "goods-out-note.modified",
    "goods-out-note.modified.shipped",
    "goods-out-note.destroyed",
];
pub const NOTE_DESTROYED_EVENT: &str = "goods-out-note.destroyed";
pub const ORDER_STATUS_EVENT: &str = "order.modified.order-status";
pub const ON_HAND_EVENT: &str = "product.modified.on-hand-modified";
pub const ORDER_MODIFIED_EVENT: &str = "order.modified";

/// The events the enabled flows need, each once (one subscription may feed several flows).
pub fn wanted_events(enabled: &BTreeSet<FlowName>, settings: &Settings) -> BTreeSet<&'static str> {
    let mut events = BTreeSet::new();
    for flow in enabled {
        match flow {
            FlowName::Shipments => match settings.shipments.trigger {
                ShipmentTrigger::GoodsOutNote => events.extend(GOODS_OUT_NOTE_EVENTS),
                ShipmentTrigger::OrderStatus => {
                    events.insert(ORDER_STATUS_EVENT);
                }
            },
            FlowName::Cancellations => {
                events.insert(ORDER_STATUS_EVENT);
            }
            FlowName::Inventory => {
                events.insert(ON_HAND_EVENT);
            }
            FlowName::Invoices => {
                events.insert(ORDER_MODIFIED_EVENT);
            }
            FlowName::Orders | FlowName::Reference => {}
        }
    }
    events
}

/// Every webhook this install wants registered, in event order. No public URL (no listener):
/// none, so the reconcile deletes ours.
pub fn desired_webhooks(
    enabled: &BTreeSet<FlowName>,
    settings: &Settings,
    public_url: Option<&Url>,
    install: &Install,
) -> Vec<Webhook> {
    let Some(public_url) = public_url else {
        return Vec::new();
    };
    let uri = hook_uri(public_url, install);
    wanted_events(enabled, settings)
        .into_iter()
        .map(|event| Webhook {
            id: None,
            subscribe_to: event.to_owned(),
            http_method: "POST".into(),
            uri_template: uri.clone(),
            body_template: Some(BODY_TEMPLATE.into()),
            content_type: Some("application/json".into()),
            // One call per batch with an ID set, and at-least-once delivery: the vendor's
            // recommendation (brightpearl-api.md §4.16); the inbox collapses duplicates.
            id_set_accepted: Some(true),
            quality_of_service: Some(1),
        })
        .collect()
}

/// `{public url}/hooks/brightpearl?key=<secret>&install=<install id>`. Both values are
/// URL-safe (hex), so they go in unescaped.
pub fn hook_uri(public_url: &Url, install: &Install) -> String {
    format!(
        "{}{HOOK_PATH}?key={}&install={}",
        public_url.as_str().trim_end_matches('/'),
        install.key.expose(),
        install.id
    )
}

/// Whether a hook is this install's: its `uriTemplate` carries our `install=`. A hook of another
/// install, or of another tool, is never touched.
pub fn is_ours(hook: &Webhook, install_id: &str) -> bool {
    query_value(&hook.uri_template, "install") == Some(install_id)
}

/// The value of `name` in a URI's query, read without parsing the URI (a template may hold
/// `${...}` placeholders anywhere).
pub fn query_value<'a>(uri: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = uri.split_once('?')?;
    let query = query.split('#').next().unwrap_or(query);
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The URI with the `key=` value shown as `***`.
pub fn redacted_uri(uri: &str) -> String {
    let Some((base, query)) = uri.split_once('?') else {
        return uri.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some(("key", _)) => "key=***".to_owned(),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

/// The enabled flows a delivered event feeds. `order.modified` and everything below it feeds
/// invoices (a subscription to `order.modified` may be sent its sub-events too); a status change
/// feeds shipments only when they are triggered by order status.
pub fn flows_for_event(
    full_event: &str,
    enabled: &BTreeSet<FlowName>,
    settings: &Settings,
) -> Vec<FlowName> {
    let within = |event: &str| {
        full_event == event
            || full_event
                .strip_prefix(event)
                .is_some_and(|rest| rest.starts_with('.'))
    };
    let mut flows = BTreeSet::new();
    if within("goods-out-note") {
        flows.insert(FlowName::Shipments);
    }
    if full_event == ORDER_STATUS_EVENT {
        if settings.shipments.trigger == ShipmentTrigger::OrderStatus {
            flows.insert(FlowName::Shipments);
        }
        flows.insert(FlowName::Cancellations);
    }
    if full_event == ON_HAND_EVENT {
        flows.insert(FlowName::Inventory);
    }
    if within(ORDER_MODIFIED_EVENT) {
        flows.insert(FlowName::Invoices);
    }
    flows.retain(|flow| enabled.contains(flow));
    flows.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn install() -> Install {
        Install {
            id: "inst1".into(),
            key: Secret::new("s3cr3t".into()),
        }
    }

    fn enabled(flows: &[FlowName]) -> BTreeSet<FlowName> {
        flows.iter().copied().collect()
    }

    fn status_trigger() -> Settings {
        let mut settings = Settings::default();
        settings.shipments.trigger = ShipmentTrigger::OrderStatus;
        settings
    }

    fn events(hooks: &[Webhook]) -> Vec<&str> {
        hooks.iter().map(|h| h.subscribe_to.as_str()).collect()
    }

    #[test]
    fn each_enabled_flow_adds_its_events_once() {
        let url = Url::parse("https://hooks.example.com").unwrap();
        let check = |flows: &[FlowName], settings: &Settings, expected: &[&str]| {
            let hooks = desired_webhooks(&enabled(flows), settings, Some(&url), &install());
            assert_eq!(events(&hooks), expected, "{flows:?}");
        };
        let default = Settings::default();
        use FlowName::*;
        check(
            &[Shipments],
            &default,
            &[
                "goods-out-note.created",
                "goods-out-note.destroyed",
                "goods-out-note.modified",
                "goods-out-note.modified.shipped",
            ],
        );
        check(
            &[Shipments],
            &status_trigger(),
            &["order.modified.order-status"],
        );
        // One hook feeds both flows.
        check(
            &[Shipments, Cancellations],
            &status_trigger(),
            &["order.modified.order-status"],
        );
        check(&[Cancellations], &default, &["order.modified.order-status"]);
        check(
            &[Inventory],
            &default,
            &["product.modified.on-hand-modified"],
        );
        check(&[Invoices], &default, &["order.modified"]);
        check(&[Orders, Reference], &default, &[]);
        check(
            &FlowName::ALL,
            &status_trigger(),
            &[
                "order.modified",
                "order.modified.order-status",
                "product.modified.on-hand-modified",
            ],
        );
    }

    #[test]
    fn every_hook_posts_the_full_template_to_our_url_with_key_and_install() {
        let url = Url::parse("https://hooks.example.com/dsco/").unwrap();
        let hooks = desired_webhooks(
            &enabled(&[FlowName::Inventory]),
            &Settings::default(),
            Some(&url),
            &install(),
        );
        assert_eq!(
            hooks,
            [Webhook {
                id: None,
                subscribe_to: "product.modified.on-hand-modified".into(),
                http_method: "POST".into(),
                uri_template:
                    "https://hooks.example.com/dsco/hooks/brightpearl?key=s3cr3t&install=inst1"
                        .into(),
                body_template: Some(BODY_TEMPLATE.into()),
                content_type: Some("application/json".into()),
                id_set_accepted: Some(true),
                quality_of_service: Some(1),
            }]
        );
        let template: serde_json::Value = serde_json::from_str(BODY_TEMPLATE).unwrap();
        for placeholder in [
            "account-code",
            "resource-type",
            "resource-id",
            "lifecycle-event",
            "full-event",
            "raised-on",
            "brightpearl-version",
        ] {
            assert!(
                BODY_TEMPLATE.contains(&format!("\"${{{placeholder}}}\"")),
                "{placeholder}"
            );
        }
        assert_eq!(template.as_object().unwrap().len(), 7);
        assert!(is_ours(&hooks[0], "inst1"));
        assert!(!is_ours(&hooks[0], "inst"));
    }

    #[test]
    fn no_public_url_wants_no_hooks() {
        let hooks = desired_webhooks(
            &enabled(&FlowName::ALL),
            &Settings::default(),
            None,
            &install(),
        );
        assert!(hooks.is_empty());
    }

    #[test]
    fn ours_carries_our_install_and_the_key_is_redacted() {
        let hook = |uri: &str| Webhook {
            id: None,
            subscribe_to: "order.modified".into(),
            http_method: "POST".into(),
            uri_template: uri.into(),
            body_template: None,
            content_type: None,
            id_set_accepted: None,
            quality_of_service: None,
        };
        assert!(is_ours(
            &hook("https://x/hooks/brightpearl?install=inst1&key=k"),
            "inst1"
        ));
        assert!(!is_ours(
            &hook("https://x/hooks/brightpearl?key=k&install=other"),
            "inst1"
        ));
        assert!(!is_ours(&hook("https://x/bp/hook?token=inst1"), "inst1"));
        assert!(!is_ours(&hook("https://x/${resource-id}"), "inst1"));
        assert!(!is_ours(&hook("https://x/?myinstall=inst1"), "inst1"));
        assert_eq!(
            redacted_uri("https://x/hooks/brightpearl?key=s3cr3t&install=inst1"),
            "https://x/hooks/brightpearl?key=***&install=inst1"
        );
        assert_eq!(redacted_uri("https://x/y"), "https://x/y");
    }

    #[test]
    fn events_feed_only_enabled_flows() {
        use FlowName::*;
        let all = enabled(&FlowName::ALL);
        let check = |event: &str,
                     flows: &BTreeSet<FlowName>,
                     settings: &Settings,
                     expected: &[FlowName]| {
            assert_eq!(flows_for_event(event, flows, settings), expected, "{event}");
        };
        let default = Settings::default();
        for event in GOODS_OUT_NOTE_EVENTS {
            check(event, &all, &default, &[Shipments]);
        }
        check(
            "goods-out-note.modified.picked",
            &all,
            &default,
            &[Shipments],
        );
        check(
            ORDER_STATUS_EVENT,
            &all,
            &default,
            &[Invoices, Cancellations],
        );
        check(
            ORDER_STATUS_EVENT,
            &all,
            &status_trigger(),
            &[Shipments, Invoices, Cancellations],
        );
        check(
            ORDER_STATUS_EVENT,
            &enabled(&[Shipments]),
            &status_trigger(),
            &[Shipments],
        );
        check(ON_HAND_EVENT, &all, &default, &[Inventory]);
        check(ORDER_MODIFIED_EVENT, &all, &default, &[Invoices]);
        check("order.modified.fully-shipped", &all, &default, &[Invoices]);
        check(
            "goods-out-note.created",
            &enabled(&[Inventory]),
            &default,
            &[],
        );
        check("product.modified", &all, &default, &[]);
        check("order.modifiedx", &all, &default, &[]);
        check("goods-out-notes.created", &all, &default, &[]);
    }
}

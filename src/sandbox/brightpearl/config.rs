//! How the Brightpearl simulator behaves ([`BrightpearlSimConfig`]): the sandbox account's
//! credentials, throttling, token lifetimes, date offset, webhook delivery settings and the demo
//! account's warehouse ([`DemoFulfilment`]).

use std::sync::Arc;
use std::time::Duration;

use crate::sandbox::common::SimClock;

/// How the simulator behaves; `Default` gives the sandbox account with fixed credentials.
#[derive(Debug, Clone)]
pub struct BrightpearlSimConfig {
    /// Account code in `/public-api/{account}/...` ("sandbox").
    pub account: String,
    /// Private app reference (`brightpearl-app-ref` for private apps).
    pub app_ref: String,
    /// Private system app token (`brightpearl-account-token`).
    pub account_token: String,
    /// Private staff app token (`brightpearl-staff-token`).
    pub staff_token: String,
    /// Developer reference OAuth calls send as `brightpearl-dev-ref`.
    pub dev_ref: String,
    /// OAuth `client_id`; OAuth calls send it as `brightpearl-app-ref` (§2.3: client_id = app ref).
    pub oauth_client_id: String,
    /// OAuth client secret; when non-empty the token endpoint requires it (confidential app, §2.3).
    pub oauth_client_secret: String,
    /// Requests per rolling window per credential pool (§3; 200).
    pub throttle_cap: u32,
    /// Rolling window length (§3; 60 s).
    pub throttle_window: Duration,
    pub clock: Arc<SimClock>,
    /// Deliver every webhook call twice (QoS 1 is at-least-once, §4.16).
    pub webhook_duplicate_delivery: bool,
    /// The account's display offset dates are rendered in (§5.2), minutes east of UTC.
    pub account_utc_offset_minutes: i32,
    /// `api_domain` in token responses; `None` answers with the request's `Host` (§1.2).
    pub api_domain: Option<String>,
    /// Access-token lifetime (§2.3: 604800 s).
    pub access_token_ttl: Duration,
    /// How long events are gathered before webhook calls go out (ID-set batching, §4.16).
    pub webhook_batch_window: Duration,
    /// Attempts per webhook call before giving up (QoS retry, §4.16).
    pub webhook_max_attempts: u32,
    /// The demo account's warehouse: when set, sales orders created through the API are
    /// fulfilled by themselves (goods-out notes, then shipped). Off by default, so tests see only
    /// what they do.
    pub demo: Option<DemoFulfilment>,
}

/// How the demo warehouse fulfils sales orders created through the API, on the simulator's
/// clock: `note_after` the order's creation its goods-out notes appear (without tracking), and
/// `ship_after` a note's creation it gets its tracking reference and is shipped. A few orders are
/// planted, by the order in which they were created (the k-th, 1-based):
/// - k % 4 == 2: two partial notes, the second shipped `ship_after` after the first;
/// - k % 12 == 3: one note shipped without tracking (no `shipping.reference`);
/// - k % 12 == 7: one note on [`DemoFulfilment::UNMAPPED_SHIPPING_METHOD_ID`], a shipping method
///   the sandbox does not map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoFulfilment {
    pub note_after: Duration,
    pub ship_after: Duration,
    /// An order whose notes are all shipped is invoiced this much later.
    pub invoice_after: Duration,
}

impl DemoFulfilment {
    /// The demo's extra shipping method ("DHL Express Worldwide"), seeded only with the demo on.
    pub const UNMAPPED_SHIPPING_METHOD_ID: u32 = 5;
}

impl Default for DemoFulfilment {
    fn default() -> Self {
        DemoFulfilment {
            note_after: Duration::from_secs(15),
            ship_after: Duration::from_secs(15),
            invoice_after: Duration::from_secs(20),
        }
    }
}

impl Default for BrightpearlSimConfig {
    fn default() -> Self {
        BrightpearlSimConfig {
            account: "sandbox".into(),
            app_ref: "sandbox_dscosync".into(),
            account_token: "c2FuZGJveC1hY2NvdW50LXRva2VuLWZvci10ZXN0cw==".into(),
            staff_token: "c2FuZGJveC1zdGFmZi10b2tlbi1mb3ItdGVzdHMtMDE=".into(),
            dev_ref: "dscobrightpearl".into(),
            oauth_client_id: "dsco-brightpearl".into(),
            oauth_client_secret: "sandbox-client-secret".into(),
            throttle_cap: 200,
            throttle_window: Duration::from_secs(60),
            clock: SimClock::new(),
            webhook_duplicate_delivery: false,
            account_utc_offset_minutes: -360,
            api_domain: None,
            access_token_ttl: Duration::from_secs(604_800),
            webhook_batch_window: Duration::from_millis(50),
            webhook_max_attempts: 3,
            demo: None,
        }
    }
}

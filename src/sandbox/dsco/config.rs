//! How the simulated DSCO account behaves ([`DscoSimConfig`]) and the fixed facts of the API it
//! simulates: the path prefix and the small-batch body cap.

use std::sync::Arc;
use std::time::Duration;

use super::limits::{self, EndpointLimit};
use crate::sandbox::common::SimClock;

/// The path prefix of every DSCO API route (dsco-api.md §1.1).
pub const API_PREFIX: &str = "/api/v3";

/// The small-batch body cap (dsco-api.md §1.5).
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;

/// How the simulated DSCO account behaves.
#[derive(Debug, Clone)]
pub struct DscoSimConfig {
    /// OAuth client id accepted by `POST /oauth2/token`.
    pub client_id: String,
    /// OAuth client secret accepted by `POST /oauth2/token`.
    pub client_secret: String,
    /// The legacy long-lived bearer key (DscoAuth scheme, dsco-api.md §1.3).
    pub legacy_api_key: String,
    /// Lifetime of issued access tokens (`expires_in`).
    pub token_ttl: Duration,
    /// How long after submission asynchronous work is processed (measured on the clock).
    pub processing_delay: Duration,
    pub clock: Arc<SimClock>,
    /// Our supplier account id (`dscoSupplierId`).
    pub supplier_id: String,
    /// Whether the per-endpoint 429 buckets are on.
    pub rate_limits: bool,
    /// The per-endpoint limits (defaults: dsco-api.md §1.5); tests shrink them to hit them.
    pub limits: Vec<EndpointLimit>,
    /// Service level codes accepted on shipments (dsco-api.md §3.3).
    pub shipment_service_levels: Vec<String>,
    /// Generic order-level codes that a retailer puts on orders but that are refused on packages.
    pub order_only_service_levels: Vec<String>,
    /// Page size used by the change-log and warehouse searches.
    pub log_page_size: usize,
}

impl Default for DscoSimConfig {
    fn default() -> Self {
        let codes = |list: &[&str]| list.iter().map(|c| (*c).to_owned()).collect();
        Self {
            client_id: "sandbox-client".into(),
            client_secret: "sandbox-secret".into(),
            legacy_api_key: "222222-22222-2222-2222-222222222".into(),
            token_ttl: Duration::from_secs(3600),
            processing_delay: Duration::ZERO,
            clock: SimClock::new(),
            supplier_id: "1000060000".into(),
            rate_limits: true,
            limits: limits::default_limits(),
            // dsco-api.md §3.3: the KB FedEx block plus the codes observed on real shipments.
            shipment_service_levels: codes(&[
                "FESD", "FSDC", "FEFO", "FEPO", "FESO", "F2DA", "FE2D", "FEES", "FECG", "FEHD",
                "FESP", "UPCG", "USGA", "USPM", "ASEE", "ASEP", "ASEL", "ASET", "ONCG", "PSDD",
                "UPSV", "UPSP",
            ]),
            // guess: the generic retailer codes are refused on packages; [MW] lost a shipment
            // sent with GCG (dsco-api.md §8 item 4, §3.3).
            order_only_service_levels: codes(&["GCG", "GCP", "GCE"]),
            log_page_size: 1000,
        }
    }
}

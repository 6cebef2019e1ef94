//! Webhook operations (`integration-service`, brightpearl-api.md §4.16). Webhook bodies carry our
//! callback token, so [`Call`] keeps them out of logs.

use reqwest::Method;

use super::{Call, Client};
use crate::brightpearl::error::Error;
use crate::brightpearl::model::{Webhook, WebhookId};
use crate::brightpearl::quota::Lane;

impl Client {
    /// `POST /integration-service/webhook`.
    pub async fn create_webhook(&self, lane: Lane, webhook: &Webhook) -> Result<WebhookId, Error> {
        let call = Call::new(lane, Method::POST, "integration-service/webhook").json(webhook)?;
        self.fetch(call).await
    }

    /// `GET /integration-service/webhook`; an account without webhooks gives an empty list.
    pub async fn list_webhooks(&self, lane: Lane) -> Result<Vec<Webhook>, Error> {
        self.fetch_or_empty(Call::new(lane, Method::GET, "integration-service/webhook"))
            .await
    }

    /// `DELETE /integration-service/webhook/{ID}`.
    pub async fn delete_webhook(&self, lane: Lane, id: WebhookId) -> Result<(), Error> {
        let call = Call::new(
            lane,
            Method::DELETE,
            format!("integration-service/webhook/{id}"),
        );
        self.execute(call).await.map(drop)
    }
}

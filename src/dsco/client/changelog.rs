//! Change-log reads (dsco-api.md §1.8): by `requestId` (polled until COMPLETED, or read once),
//! and by date window, every scroll page followed; and the submit of an asynchronous batch
//! that only returns its `requestId` (the caller reads the outcome later, `sync::dsco_once`).

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use serde::Serialize;

use super::{AsyncWrite, Call, Client, decode, rfc3339};
use crate::dsco::batch::{ChangeLog, ObjectOutcome, is_complete, match_outcomes};
use crate::dsco::error::Error;
use crate::dsco::model::{ChangeLogEntry, ChangeLogResponse, RequestId, UpdateResponse};
use crate::upstream::excerpt;

impl Client {
    // -----------------------------------------------------------------------------------------
    // Change logs

    /// Poll a change log for `request_id` until COMPLETED (bounded backoff and deadline) and
    /// match its entries to `keys` (the submitted objects' keys, in order). Public so a caller
    /// holding the request id of an earlier [`Error::ChangeLogTimeout`] can resume.
    pub async fn poll_change_log(
        &self,
        log: ChangeLog,
        request_id: &RequestId,
        keys: &[String],
    ) -> Result<Vec<ObjectOutcome>, Error> {
        let deadline = Instant::now() + self.polling.deadline;
        let mut look = 0u32;
        loop {
            tokio::time::sleep(self.polling.delay(look)).await;
            look += 1;
            let (status, logs) = self.read_change_log(log, request_id).await?;
            if is_complete(status.as_deref(), &logs, keys.len()) {
                return Ok(match_outcomes(keys, logs));
            }
            if Instant::now() >= deadline {
                return Err(Error::ChangeLogTimeout {
                    endpoint: log.endpoint().to_owned(),
                    request_id: request_id.clone(),
                });
            }
            tracing::debug!(request_id = %request_id, look, "dsco batch still processing");
        }
    }

    /// Every entry for `request_id` (all scroll pages) and the request's status.
    async fn read_change_log(
        &self,
        log: ChangeLog,
        request_id: &RequestId,
    ) -> Result<(Option<String>, Vec<ChangeLogEntry>), Error> {
        let mut logs = Vec::new();
        let status = self
            .change_log_pages(log, request_id, |page| logs.extend(page))
            .await?;
        Ok((status, logs))
    }

    /// The entries for `request_id` handed to `each` one scroll page at a time (a request of
    /// 100,000 objects is never held whole), and the request's status.
    pub async fn change_log_pages(
        &self,
        log: ChangeLog,
        request_id: &RequestId,
        mut each: impl FnMut(Vec<ChangeLogEntry>),
    ) -> Result<Option<String>, Error> {
        let first = vec![("requestId".to_owned(), request_id.0.clone())];
        let page: ChangeLogResponse = self
            .fetch(Call::get(log.endpoint(), log.path(), first))
            .await?;
        let status = page.status.clone();
        let mut scroll = page.scroll_id.filter(|_| !page.logs.is_empty());
        each(page.logs);
        while let Some(scroll_id) = scroll {
            let query = vec![("scrollId".to_owned(), scroll_id)];
            let next: ChangeLogResponse = match self
                .fetch(Call::get(log.endpoint(), log.path(), query))
                .await
            {
                Err(Error::NotFound { endpoint }) => {
                    return Err(Error::ScrollExpired { endpoint });
                }
                other => other?,
            };
            if next.logs.is_empty() {
                break;
            }
            scroll = next.scroll_id;
            each(next.logs);
        }
        Ok(status)
    }

    /// Every entry of a change log processed in `[start, end)` (dsco-api.md §1.8: both dates
    /// are required without `requestId`; `startDate` inclusive, `endDate` exclusive), all pages.
    pub async fn change_log_between(
        &self,
        log: ChangeLog,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<ChangeLogEntry>, Error> {
        let first = vec![
            ("startDate".to_owned(), rfc3339(&start)),
            ("endDate".to_owned(), rfc3339(&end)),
        ];
        let page: ChangeLogResponse = self
            .fetch(Call::get(log.endpoint(), log.path(), first))
            .await?;
        let mut logs = page.logs;
        let mut scroll = page.scroll_id.filter(|_| !logs.is_empty());
        while let Some(scroll_id) = scroll {
            let query = vec![("scrollId".to_owned(), scroll_id)];
            let next: ChangeLogResponse = match self
                .fetch(Call::get(log.endpoint(), log.path(), query))
                .await
            {
                Err(Error::NotFound { endpoint }) => {
                    return Err(Error::ScrollExpired { endpoint });
                }
                other => other?,
            };
            if next.logs.is_empty() {
                break;
            }
            logs.extend(next.logs);
            scroll = next.scroll_id;
        }
        Ok(logs)
    }

    // Submit without polling

    /// Submit an asynchronous batch and return DSCO's `requestId` at once, without polling:
    /// the caller stores the id before it reads the outcome (`sync::dsco_once`).
    pub async fn submit<T: Serialize>(
        &self,
        write: AsyncWrite,
        objects: &[T],
    ) -> Result<RequestId, Error> {
        let (endpoint, path) = write.endpoint();
        let mut call = Call::post(endpoint, path, objects)?;
        if let AsyncWrite::Inventory { skip_unknown: true } = write {
            call.query
                .push(("skipItemsThatDontExist".into(), "true".into()));
        }
        self.accepted(call, objects.len()).await
    }

    /// Send a batch write and read DSCO's `202` answer: its request id, or the refusal.
    pub(super) async fn accepted(&self, call: Call, objects: usize) -> Result<RequestId, Error> {
        let endpoint = call.endpoint;
        let (status, body) = self.execute(call).await?;
        let accepted: UpdateResponse = decode(endpoint, status, &body)?;
        if accepted.status.eq_ignore_ascii_case("failure") {
            return Err(Error::Rejected {
                endpoint: endpoint.to_owned(),
                status,
                messages: accepted.messages,
                body: excerpt(&body),
            });
        }
        tracing::debug!(endpoint, request_id = %accepted.request_id, objects, "dsco batch accepted");
        Ok(accepted.request_id)
    }
}

//! Order views (what `GET /v1/orders` shows), one per DSCO order, with an index by state.
//! The store does not know the view type: it keeps the caller's JSON and, to keep the index,
//! reads only the view's string field `state`.

use redb::ReadableTable;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::{Error, decode, encode};
use super::tables::{DSCO_ORDER_ID_TO_ORDER_VIEW, STATE_DSCO_ORDER_ID_TO_UNIT};
use super::tx::{Reads, Tx, WriteTx};

/// The one field of a stored view the store reads.
#[derive(Deserialize)]
struct ViewState {
    state: String,
}

impl<T: Reads> Tx<T> {
    /// The view of one order.
    pub fn order_view<V: DeserializeOwned>(&self, dsco_order_id: &str) -> Result<Option<V>, Error> {
        let table = self.table(DSCO_ORDER_ID_TO_ORDER_VIEW)?;
        match table.get(dsco_order_id).map_err(Error::db)? {
            Some(v) => Ok(Some(decode("order_views", v.value())?)),
            None => Ok(None),
        }
    }

    /// Views in DSCO-id order after `after` (exclusive), at most `limit`; with `state`, only
    /// views in that state, found through the state index.
    pub fn order_views<V: DeserializeOwned>(
        &self,
        state: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<V>, Error> {
        let views = self.table(DSCO_ORDER_ID_TO_ORDER_VIEW)?;
        let mut out = Vec::new();
        let Some(state) = state else {
            for entry in views.range(after.unwrap_or("")..).map_err(Error::db)? {
                if out.len() >= limit {
                    break;
                }
                let (id, v) = entry.map_err(Error::db)?;
                if Some(id.value()) == after {
                    continue;
                }
                out.push(decode("order_views", v.value())?);
            }
            return Ok(out);
        };
        let index = self.table(STATE_DSCO_ORDER_ID_TO_UNIT)?;
        for entry in index
            .range((state, after.unwrap_or(""))..)
            .map_err(Error::db)?
        {
            let (key, _) = entry.map_err(Error::db)?;
            let (entry_state, id) = key.value();
            if entry_state != state || out.len() >= limit {
                break;
            }
            if Some(id) == after {
                continue;
            }
            if let Some(v) = views.get(id).map_err(Error::db)? {
                out.push(decode("order_views", v.value())?);
            }
        }
        Ok(out)
    }
}

impl WriteTx<'_> {
    /// Store an order's view; `state` is the view's `state` field, its key in the state index.
    pub fn put_order_view<V: Serialize>(
        &self,
        dsco_order_id: &str,
        state: &str,
        view: &V,
    ) -> Result<(), Error> {
        let mut views = self.table_mut(DSCO_ORDER_ID_TO_ORDER_VIEW)?;
        let previous = views
            .insert(dsco_order_id, encode(view).as_slice())
            .map_err(Error::db)?
            .and_then(|old| serde_json::from_slice::<ViewState>(old.value()).ok());
        let mut index = self.table_mut(STATE_DSCO_ORDER_ID_TO_UNIT)?;
        if let Some(previous) = previous
            && previous.state != state
        {
            index
                .remove((previous.state.as_str(), dsco_order_id))
                .map_err(Error::db)?;
        }
        index
            .insert((state, dsco_order_id), ())
            .map_err(Error::db)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::db::Store;
    use serde_json::{Value, json};

    fn view(id: &str, state: &str) -> Value {
        json!({"dsco_order_id": id, "state": state, "timeline": []})
    }

    fn ids(views: Vec<Value>) -> Vec<String> {
        views
            .into_iter()
            .map(|v| v["dsco_order_id"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn views_list_by_state_and_move_between_states() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("s.redb")).unwrap();
        s.write(|tx| {
            for (id, state) in [("D-3", "imported"), ("D-1", "imported"), ("D-2", "failed")] {
                tx.put_order_view(id, state, &view(id, state))?;
            }
            Ok(())
        })
        .unwrap();
        s.read(|tx| {
            assert_eq!(ids(tx.order_views(None, None, 10)?), ["D-1", "D-2", "D-3"]);
            assert_eq!(ids(tx.order_views(None, Some("D-1"), 1)?), ["D-2"]);
            assert_eq!(
                ids(tx.order_views(Some("imported"), None, 10)?),
                ["D-1", "D-3"]
            );
            assert_eq!(
                ids(tx.order_views(Some("imported"), Some("D-1"), 10)?),
                ["D-3"]
            );
            assert!(
                tx.order_views::<Value>(Some("shipped"), None, 10)?
                    .is_empty()
            );
            Ok(())
        })
        .unwrap();
        s.write(|tx| tx.put_order_view("D-2", "imported", &view("D-2", "imported")))
            .unwrap();
        s.read(|tx| {
            assert!(
                tx.order_views::<Value>(Some("failed"), None, 10)?
                    .is_empty()
            );
            assert_eq!(
                ids(tx.order_views(Some("imported"), None, 2)?),
                ["D-1", "D-2"]
            );
            let one: Option<Value> = tx.order_view("D-2")?;
            assert_eq!(one.unwrap()["state"], "imported");
            Ok(())
        })
        .unwrap();
    }
}

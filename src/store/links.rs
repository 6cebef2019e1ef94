//! Links between a DSCO object and the Brightpearl object made from it, by kind, with the
//! reverse index from the Brightpearl id.

use chrono::{DateTime, Utc};
use redb::{ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize};

use super::error::{Error, decode, encode};
use super::kind::Kind;
use super::tables::{KIND_BP_ID_TO_DSCO_ID, KIND_DSCO_ID_TO_LINK};
use super::tx::{Reads, Tx, WriteTx};

/// A link between a DSCO object and the Brightpearl object made from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub dsco_id: String,
    pub bp_id: String,
    pub linked_at: DateTime<Utc>,
    /// Flow-specific state (e.g. an order's `state` and timeline).
    #[serde(default)]
    pub data: serde_json::Value,
}

impl<T: Reads> Tx<T> {
    pub fn link(&self, kind: impl Into<Kind>, dsco_id: &str) -> Result<Option<Link>, Error> {
        let kind = kind.into();
        let table = self.table(KIND_DSCO_ID_TO_LINK)?;
        match table.get((kind.as_str(), dsco_id)).map_err(Error::db)? {
            Some(v) => Ok(Some(decode("links", v.value())?)),
            None => Ok(None),
        }
    }

    pub fn link_by_bp_id(&self, kind: impl Into<Kind>, bp_id: &str) -> Result<Option<Link>, Error> {
        let kind = kind.into();
        let dsco_id = {
            let table = self.table(KIND_BP_ID_TO_DSCO_ID)?;
            match table.get((kind.as_str(), bp_id)).map_err(Error::db)? {
                Some(v) => v.value().to_owned(),
                None => return Ok(None),
            }
        };
        self.link(kind, &dsco_id)
    }

    /// Links of a kind in DSCO-id order, after `after` (exclusive), at most `limit`.
    pub fn links(
        &self,
        kind: impl Into<Kind>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Link>, Error> {
        let kind = kind.into();
        let kind = kind.as_str();
        let table = self.table(KIND_DSCO_ID_TO_LINK)?;
        let mut out = Vec::new();
        for entry in table
            .range((kind, after.unwrap_or(""))..)
            .map_err(Error::db)?
        {
            let (k, v) = entry.map_err(Error::db)?;
            let (entry_kind, id) = k.value();
            if entry_kind != kind || out.len() >= limit {
                break;
            }
            if Some(id) == after {
                continue;
            }
            out.push(decode("links", v.value())?);
        }
        Ok(out)
    }

    pub fn link_count(&self) -> Result<u64, Error> {
        self.table(KIND_DSCO_ID_TO_LINK)?.len().map_err(Error::db)
    }
}

impl WriteTx<'_> {
    /// Store a link (and its reverse index). Linking a DSCO id to a different Brightpearl id than
    /// it already has is refused: that would be a duplicate upstream object.
    pub fn put_link(&self, kind: impl Into<Kind>, link: &Link) -> Result<(), Error> {
        let kind = kind.into();
        if let Some(existing) = self.link(&kind, &link.dsco_id)?
            && existing.bp_id != link.bp_id
        {
            return Err(Error::Conflict(format!(
                "{kind} {} is already linked to Brightpearl {}, not {}",
                link.dsco_id, existing.bp_id, link.bp_id
            )));
        }
        let mut table = self.table_mut(KIND_DSCO_ID_TO_LINK)?;
        table
            .insert(
                (kind.as_str(), link.dsco_id.as_str()),
                encode(link).as_slice(),
            )
            .map_err(Error::db)?;
        let mut reverse = self.table_mut(KIND_BP_ID_TO_DSCO_ID)?;
        reverse
            .insert((kind.as_str(), link.bp_id.as_str()), link.dsco_id.as_str())
            .map_err(Error::db)?;
        Ok(())
    }
}

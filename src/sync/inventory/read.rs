//! Reading Brightpearl's availability (`onHand` per warehouse, brightpearl-api.md §4.11) on the
//! low-priority lane, in ID sets of 200; a set Brightpearl refuses with a 400 is halved until
//! the product it refuses is alone, which is left out and reported.

use std::collections::BTreeMap;

use crate::brightpearl::{self, Lane, ProductId};

use super::quantity::OnHand;

/// What a read gives: `onHand` by product and warehouse, and the products Brightpearl refused
/// (with its code and words).
#[derive(Debug, Default)]
pub struct Read {
    pub on_hand: OnHand,
    pub refused: Vec<(u32, String)>,
}

/// Read the availability of `products`. Errors other than a 400 end the read (the run fails
/// and is retried); what was read before is not used.
pub async fn availability(
    bp: &brightpearl::Client,
    products: &[u32],
) -> Result<Read, brightpearl::Error> {
    let mut out = Read::default();
    let mut sets: Vec<Vec<u32>> = products.chunks(200).map(<[u32]>::to_vec).collect();
    sets.reverse();
    while let Some(set) = sets.pop() {
        let ids: Vec<ProductId> = set.iter().map(|p| ProductId(u64::from(*p))).collect();
        match bp.get_product_availability(Lane::Inventory, &ids).await {
            Ok(found) => {
                for (id, a) in found {
                    let by_warehouse = a
                        .warehouses
                        .iter()
                        .filter_map(|(w, levels)| Some((w.parse::<u32>().ok()?, levels.on_hand)))
                        .collect();
                    out.on_hand.insert(id.0 as u32, by_warehouse);
                }
                // A product Brightpearl leaves out holds no stock anywhere.
                for p in &set {
                    out.on_hand.entry(*p).or_default();
                }
            }
            Err(e) if e.status().is_some_and(|s| s.as_u16() == 400) => {
                if set.len() == 1 {
                    out.refused.push((set[0], refusal(&e)));
                } else {
                    let (left, right) = set.split_at(set.len() / 2);
                    sets.push(right.to_vec());
                    sets.push(left.to_vec());
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

fn refusal(e: &brightpearl::Error) -> String {
    match e {
        brightpearl::Error::Rejected { errors, .. } if !errors.is_empty() => errors
            .iter()
            .map(|a| format!("{} {}", a.code, a.message).trim().to_owned())
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// Products as the flow reads them: sorted, once each.
pub fn distinct(products: impl IntoIterator<Item = u32>) -> Vec<u32> {
    let set: BTreeMap<u32, ()> = products.into_iter().map(|p| (p, ())).collect();
    set.into_keys().collect()
}

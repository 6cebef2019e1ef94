//! The demo account's warehouse (`BrightpearlSimConfig::demo`): sales orders created through the
//! API get goods-out notes `note_after` their creation and are shipped `ship_after` later, on the
//! simulator's clock, raising the same webhook events the HTTP routes raise
//! (`goods-out-note.created`, `.modified`, `.modified.shipped`, ...; brightpearl-api.md §4.14,
//! §4.16). Notes are made without tracking; the tracking reference is set when the note ships,
//! as a warehouse does when the parcel is labelled. The planted variants are listed on
//! [`DemoFulfilment`].
//!
//! Off by default, so tests see only what they do; `dsco-brightpearl sandbox` turns it on. Work
//! comes due when [`run_due`] runs: before every API request and on the sandbox's ticker.

use chrono::{DateTime, Utc};

use super::goods_out::{create_in, ship_in};
use super::rows::unallocated;
use crate::sandbox::brightpearl::config::DemoFulfilment;
use crate::sandbox::brightpearl::hooks::Event;
use crate::sandbox::brightpearl::orders::{change_status_in, invoice_in};
use crate::sandbox::brightpearl::state::{DemoOrder, DemoShipment, DemoStage, State};

/// Take a sales order just created through the API into the demo warehouse's work.
pub fn enroll_demo_order(state: &mut State, order_id: u32, now: DateTime<Utc>) {
    let ordinal = state.demo_orders.len() as u32 + 1;
    state.demo_orders.insert(
        order_id,
        DemoOrder {
            ordinal,
            created: now,
            stage: DemoStage::Waiting,
        },
    );
}

/// Do what has come due by `now`: make the notes of orders waiting long enough, ship the notes
/// whose time has come. Returns the events raised.
pub fn run_due(state: &mut State, demo: &DemoFulfilment, now: DateTime<Utc>) -> Vec<Event> {
    let mut events = Vec::new();
    let ids: Vec<u32> = state.demo_orders.keys().copied().collect();
    for order_id in ids {
        let Some(order) = state.demo_orders.get(&order_id).cloned() else {
            continue;
        };
        let stage = match order.stage {
            DemoStage::Waiting if order.created + duration(demo.note_after) <= now => {
                make_notes(state, demo, order_id, order.ordinal, now, &mut events)
            }
            DemoStage::Noted(mut shipments) => {
                for shipment in shipments
                    .iter_mut()
                    .filter(|s| !s.shipped && s.ship_at <= now)
                {
                    // A note deleted or shipped by someone else meanwhile is simply not shipped.
                    if let Ok(raised) = ship_in(
                        state,
                        now,
                        shipment.note_id,
                        shipment.tracking.as_deref(),
                        None,
                    ) {
                        events.extend(raised);
                    }
                    shipment.shipped = true;
                }
                if shipments.iter().all(|s| s.shipped) {
                    DemoStage::Shipped(now + duration(demo.invoice_after))
                } else {
                    DemoStage::Noted(shipments)
                }
            }
            DemoStage::Shipped(at) if at <= now => {
                // The accounts team invoices what has shipped.
                if let Ok((_, raised)) = invoice_in(state, now, order_id, None, None) {
                    events.extend(raised);
                }
                DemoStage::Done
            }
            other => other,
        };
        if let Some(entry) = state.demo_orders.get_mut(&order_id) {
            entry.stage = stage;
        }
    }
    events
}

/// Which planted variant the `ordinal`-th order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Whole,
    TwoPartialNotes,
    Untracked,
    UnmappedMethod,
    /// The supplier cannot fulfil it and moves it to the cancelled status with a note.
    Cancelled,
}

fn variant(ordinal: u32) -> Variant {
    if ordinal % 12 == 11 {
        Variant::Cancelled
    } else if ordinal % 12 == 3 {
        Variant::Untracked
    } else if ordinal % 12 == 7 {
        Variant::UnmappedMethod
    } else if ordinal % 4 == 2 {
        Variant::TwoPartialNotes
    } else {
        Variant::Whole
    }
}

fn make_notes(
    state: &mut State,
    demo: &DemoFulfilment,
    order_id: u32,
    ordinal: u32,
    now: DateTime<Utc>,
    events: &mut Vec<Event>,
) -> DemoStage {
    let Some(order) = state.orders.get(&order_id) else {
        return DemoStage::Skipped("the order is gone".into());
    };
    if state.cancelled_status_id == Some(order.status_id) {
        return DemoStage::Skipped("the order is cancelled".into());
    }
    if state
        .goods_out
        .values()
        .any(|note| note.order_id == order_id)
    {
        return DemoStage::Skipped("the order already has goods-out notes".into());
    }
    let left: Vec<(u32, u32)> = unallocated(state, order_id)
        .into_iter()
        .filter(|(_, (_, quantity))| *quantity > 0)
        .map(|(row, (_, quantity))| (row, quantity as u32))
        .collect();
    if left.is_empty() {
        return DemoStage::Skipped("the order has no product rows to ship".into());
    }
    if variant(ordinal) == Variant::Cancelled
        && let Some(status) = state.cancelled_status_id
    {
        let note = Some((
            "Out of stock: cancelled by the supplier (sandbox demo)".to_owned(),
            false,
        ));
        return match change_status_in(state, now, order_id, status, note) {
            Ok(raised) => {
                events.extend(raised);
                DemoStage::Skipped("cancelled by the supplier".into())
            }
            Err((_, _, reason)) => DemoStage::Skipped(reason),
        };
    }
    let units: u32 = left.iter().map(|(_, quantity)| quantity).sum();
    let variant = match variant(ordinal) {
        Variant::TwoPartialNotes if units < 2 => Variant::Whole,
        other => other,
    };
    let method =
        (variant == Variant::UnmappedMethod).then_some(DemoFulfilment::UNMAPPED_SHIPPING_METHOD_ID);
    let first_rows = match variant {
        Variant::TwoPartialNotes => first_half(&left, units / 2),
        _ => Vec::new(),
    };
    let mut notes = Vec::new();
    match create_in(state, now, order_id, &first_rows, method) {
        Ok((id, raised)) => {
            notes.push(id);
            events.extend(raised);
        }
        Err(reason) => return DemoStage::Skipped(reason),
    }
    if variant == Variant::TwoPartialNotes {
        match create_in(state, now, order_id, &[], method) {
            Ok((id, raised)) => {
                notes.push(id);
                events.extend(raised);
            }
            Err(reason) => return DemoStage::Skipped(reason),
        }
    }
    let shipments = notes
        .into_iter()
        .enumerate()
        .map(|(index, note_id)| DemoShipment {
            note_id,
            ship_at: now + duration(demo.ship_after) * (index as i32 + 1),
            tracking: (variant != Variant::Untracked).then(|| tracking_number(state, note_id)),
            shipped: false,
        })
        .collect();
    DemoStage::Noted(shipments)
}

/// The first `units` units of the order's rows, row by row.
fn first_half(left: &[(u32, u32)], units: u32) -> Vec<(u32, u32)> {
    let mut wanted = units;
    let mut out = Vec::new();
    for (row, quantity) in left {
        if wanted == 0 {
            break;
        }
        let take = (*quantity).min(wanted);
        out.push((*row, take));
        wanted -= take;
    }
    out
}

/// A tracking number shaped like the note's carrier's.
// guess: the shapes of UPS (1Z…, 18), FedEx (12 digits) and USPS (22 digits) tracking numbers;
// Brightpearl keeps `shipping.reference` as free text (brightpearl-api.md §4.14)
fn tracking_number(state: &State, note_id: u32) -> String {
    let carrier = state
        .goods_out
        .get(&note_id)
        .and_then(|note| state.shipping_methods.get(&note.shipping_method_id))
        .and_then(|method| method["carrier"].as_str())
        .unwrap_or_default();
    match carrier {
        "UPS" => format!("1Z999AA1{note_id:010}"),
        "FedEx" => format!("{}", 770_000_000_000u64 + u64::from(note_id)),
        "USPS" => format!("9400111{note_id:015}"),
        _ => format!("DEMO{note_id:010}"),
    }
}

fn duration(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::milliseconds(d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planted_variants_come_round_by_ordinal() {
        let variants: Vec<Variant> = (1..=12).map(variant).collect();
        assert_eq!(variants[1], Variant::TwoPartialNotes);
        assert_eq!(variants[2], Variant::Untracked);
        assert_eq!(variants[6], Variant::UnmappedMethod);
        assert_eq!(variants[0], Variant::Whole);
        assert_eq!(first_half(&[(10, 1), (11, 3)], 2), vec![(10, 1), (11, 1)]);
        assert_eq!(first_half(&[(10, 4)], 2), vec![(10, 2)]);
    }
}

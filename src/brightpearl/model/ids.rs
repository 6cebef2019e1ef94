//! Id newtypes: each a transparent `u64` on the wire, printed as the bare number.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_newtype {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl From<$name> for u64 {
            fn from(id: $name) -> u64 {
                id.0
            }
        }
    )*};
}

id_newtype!(
    /// An order id (sales orders are orders).
    OrderId,
    /// An order row id (keys of `orderRows`).
    OrderRowId,
    ProductId,
    ContactId,
    PostalAddressId,
    WarehouseId,
    ShippingMethodId,
    OrderStatusId,
    ChannelId,
    PriceListId,
    TaxCodeId,
    GoodsOutNoteId,
    WebhookId,
    NoteId,
);

//! [`Kind`]: what a sync record, link or intent is about, stored as the same short string the
//! store has always written (`order`, `contact`, ...), so no migration is needed.

/// The kind of object a record, link or intent names. Strings the enum does not name (the test
/// flows' `thing`, `item`) are kept as [`Kind::Other`]; compare and hash by [`Kind::as_str`].
#[derive(Debug, Clone)]
pub enum Kind {
    /// A DSCO order and the Brightpearl sales order made from it.
    Order,
    /// A cancellation seen on DSCO.
    Cancellation,
    /// A retailer's Brightpearl contact.
    Contact,
    /// A consumer's Brightpearl contact (per-consumer customer mode).
    Consumer,
    /// The Brightpearl reference data and catalog.
    ReferenceData,
    /// A shipment sent to DSCO.
    Shipment,
    /// An invoice sent to DSCO.
    Invoice,
    /// A cancellation the supplier sends to DSCO.
    SupplierCancel,
    /// A retailer's request to cancel.
    CancelRequest,
    /// Stock levels sent to DSCO.
    Inventory,
    /// Any other string.
    Other(String),
}

impl Kind {
    /// Every named kind (all but [`Kind::Other`]).
    pub const NAMED: [Kind; 10] = [
        Kind::Order,
        Kind::Cancellation,
        Kind::Contact,
        Kind::Consumer,
        Kind::ReferenceData,
        Kind::Shipment,
        Kind::Invoice,
        Kind::SupplierCancel,
        Kind::CancelRequest,
        Kind::Inventory,
    ];

    /// The stored string.
    pub fn as_str(&self) -> &str {
        match self {
            Kind::Order => "order",
            Kind::Cancellation => "cancellation",
            Kind::Contact => "contact",
            Kind::Consumer => "consumer",
            Kind::ReferenceData => "reference_data",
            Kind::Shipment => "shipment",
            Kind::Invoice => "invoice",
            Kind::SupplierCancel => "supplier_cancel",
            Kind::CancelRequest => "cancel_request",
            Kind::Inventory => "inventory",
            Kind::Other(s) => s,
        }
    }

    fn named(s: &str) -> Option<Kind> {
        Kind::NAMED.into_iter().find(|k| k.as_str() == s)
    }
}

impl From<&str> for Kind {
    fn from(s: &str) -> Kind {
        Kind::named(s).unwrap_or_else(|| Kind::Other(s.to_owned()))
    }
}

impl From<&String> for Kind {
    fn from(s: &String) -> Kind {
        Kind::from(s.as_str())
    }
}

impl From<String> for Kind {
    fn from(s: String) -> Kind {
        Kind::named(&s).unwrap_or(Kind::Other(s))
    }
}

impl From<&Kind> for Kind {
    fn from(k: &Kind) -> Kind {
        k.clone()
    }
}

impl From<Kind> for String {
    fn from(k: Kind) -> String {
        match k {
            Kind::Other(s) => s,
            named => named.as_str().to_owned(),
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for Kind {
    fn eq(&self, other: &Kind) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Kind {}

impl std::hash::Hash for Kind {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl PartialEq<str> for Kind {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Kind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Kind {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<Kind> for &str {
    fn eq(&self, other: &Kind) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Kind> for String {
    fn eq(&self, other: &Kind) -> bool {
        self == other.as_str()
    }
}

impl serde::Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Kind, D::Error> {
        String::deserialize(deserializer).map(Kind::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_write_the_strings_stored_today() {
        for (kind, text) in [
            (Kind::Order, "order"),
            (Kind::Cancellation, "cancellation"),
            (Kind::Contact, "contact"),
            (Kind::Consumer, "consumer"),
            (Kind::ReferenceData, "reference_data"),
            (Kind::Other("thing".into()), "thing"),
        ] {
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{text}\""));
            let back: Kind = serde_json::from_str(&format!("\"{text}\"")).unwrap();
            assert_eq!(back, kind);
            assert_eq!(Kind::from(text).as_str(), text);
        }
    }

    #[test]
    fn unknown_strings_are_other_and_named_ones_never_are() {
        assert!(matches!(Kind::from("item"), Kind::Other(s) if s == "item"));
        assert!(matches!(Kind::from(String::from("order")), Kind::Order));
        for kind in Kind::NAMED {
            assert!(!matches!(Kind::from(kind.as_str()), Kind::Other(_)));
        }
        assert_eq!(Kind::Other("order".into()), Kind::Order);
        assert!(Kind::Order == "order" && "contact" == Kind::Contact);
    }
}

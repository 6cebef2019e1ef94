//! [`Problem`]: one mistake in the configuration or the settings document, named by the dotted
//! path of the key or field at fault (`api.listen`, `orders.per_retailer.R1.currency`).
//!
//! A leaf: it imports nothing from the crate, so `config` and `settings` can share it.

use std::fmt;

/// One mistake and how to fix it, at a dotted path (empty for the document as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_path_then_message() {
        let p = Problem::new("api.listen", "\"x\" is not an address like 127.0.0.1:8700");
        assert_eq!(
            p.to_string(),
            "api.listen: \"x\" is not an address like 127.0.0.1:8700"
        );
    }
}

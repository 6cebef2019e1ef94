//! Brightpearl's text field limits (brightpearl-api.md §5.3a), in characters. Callers cut text to
//! fit before sending; the client does not.

pub const REF: usize = 64;
pub const EXTERNAL_REF: usize = 64;
pub const ADDRESS_LINE: usize = 100;
pub const POSTAL: usize = 30;
pub const EMAIL: usize = 255;
pub const NOTE: usize = 10_000;
pub const ROW_NAME: usize = 255;
pub const CONTACT_NAME: usize = 32;

//! DSCO addresses as Brightpearl takes them: 3-letter country codes, and a contact's postal
//! address cut to Brightpearl's field limits. No IO.

use crate::brightpearl::{Address, limits};
use crate::dsco;

/// The first `limit` characters of `value`.
pub fn cut(value: &str, limit: usize) -> String {
    value.chars().take(limit).collect()
}

/// A DSCO address as a contact's postal address (a placeholder street when DSCO sent none).
pub fn postal_address(a: &dsco::OrderAddress) -> Address {
    let street = if a.address.is_empty() {
        [a.address1.clone(), a.address2.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
    } else {
        a.address.clone()
    };
    Address {
        address_full_name: None,
        company_name: None,
        address_line1: Some(cut(
            street
                .first()
                .map(String::as_str)
                .unwrap_or("(no street on the DSCO order)"),
            limits::ADDRESS_LINE,
        )),
        address_line2: street.get(1).map(|s| cut(s, limits::ADDRESS_LINE)),
        address_line3: a.city.as_deref().map(|s| cut(s, limits::ADDRESS_LINE)),
        address_line4: a
            .region
            .clone()
            .or(a.state.clone())
            .map(|s| cut(&s, limits::ADDRESS_LINE)),
        postal_code: a.postal.as_deref().map(|s| cut(s, limits::POSTAL)),
        country_iso_code: a.country.as_deref().map(country_iso3),
        telephone: a.phone.as_deref().map(|s| cut(s, limits::POSTAL)),
        mobile_telephone: None,
        fax: None,
        email: a.email.as_deref().map(|s| cut(s, limits::EMAIL)),
    }
}

/// DSCO sends 2-letter country codes; Brightpearl documents 3-letter ones on addresses
/// (brightpearl-api.md §4.1, §4.17). Common codes are converted; others pass through.
pub fn country_iso3(code: &str) -> String {
    let upper = code.trim().to_ascii_uppercase();
    let mapped = match upper.as_str() {
        "US" => "USA",
        "CA" => "CAN",
        "GB" | "UK" => "GBR",
        "MX" => "MEX",
        "DE" => "DEU",
        "FR" => "FRA",
        "AU" => "AUS",
        "NZ" => "NZL",
        "IE" => "IRL",
        "NL" => "NLD",
        "ES" => "ESP",
        "IT" => "ITA",
        "JP" => "JPN",
        "CN" => "CHN",
        "PR" => "PRI",
        _ => return upper,
    };
    mapped.to_owned()
}

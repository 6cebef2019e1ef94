//! Wire helpers: the `{response}` / `{errors}` envelopes, the 401 and throttle bodies, dates in the
//! account's offset, fixed-point money and quantities, and the text limits of §5.3a.
//!
//! Nothing here touches simulator state.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::{Value, json};

/// Content type Brightpearl answers with (brightpearl-api.md §1.5).
pub const CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// A JSON response with Brightpearl's content type; null-valued object keys are dropped (§1.5).
pub fn json_response(status: StatusCode, mut body: Value) -> Response {
    strip_nulls(&mut body);
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// `200 {"response": value}`.
pub fn ok(value: Value) -> Response {
    json_response(StatusCode::OK, json!({ "response": value }))
}

/// `200 {}`: what writes that return nothing answer (§1.5).
pub fn empty() -> Response {
    json_response(StatusCode::OK, json!({}))
}

/// `{"errors":[{"code","message"}]}` with the given status (§1.6).
pub fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    errors(status, vec![(code.to_owned(), message.into())])
}

/// Several errors at once (§1.6: "several errors can come back at once").
pub fn errors(status: StatusCode, list: Vec<(String, String)>) -> Response {
    let list: Vec<Value> = list
        .into_iter()
        .map(|(code, message)| json!({"code": code, "message": message}))
        .collect();
    json_response(status, json!({ "errors": list }))
}

pub fn bad_request(code: &str, message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, code, message)
}

pub fn not_found(message: impl Into<String>) -> Response {
    error(StatusCode::NOT_FOUND, "CMNC-404", message)
}

/// 401 bodies carry a string in `response`, no `errors` (§1.6, §2.5).
pub fn unauthorized(message: impl Into<String>) -> Response {
    json_response(
        StatusCode::UNAUTHORIZED,
        json!({ "response": message.into() }),
    )
}

/// The body of a throttled 503.
// guess: the text is undocumented; it carries both substrings the client libraries look for
// ("too many requests" and "Please wait before sending another request") (brightpearl-api.md §3)
pub fn throttled_body() -> Value {
    json!({"response": "You have sent too many requests. Please wait before sending another request"})
}

/// What the common `Throttle` fault answers (no state: the window is assumed full), announcing
/// `period_ms` (default a whole minute) in `brightpearl-next-throttle-period`.
pub fn throttle_fault_response(period_ms: Option<u64>) -> Response {
    let mut response = json_response(StatusCode::SERVICE_UNAVAILABLE, throttled_body());
    let headers = response.headers_mut();
    headers.insert(
        "brightpearl-requests-remaining",
        HeaderValue::from_static("0"),
    );
    headers.insert(
        "brightpearl-next-throttle-period",
        HeaderValue::from(period_ms.unwrap_or(60_000)),
    );
    response
}

/// What the common `ServerErrorBody` fault answers: a 5xx with Brightpearl's `errors` envelope.
// guess: the code and words of a server-side failure are not recorded (brightpearl-api.md §1.6
// lists only the 5xx codes that mean a request mistake); a code outside those is what matters.
pub fn server_error_body_response(status: StatusCode) -> Response {
    error(
        status,
        "CMNC-500",
        "An internal error has occurred. Please try again later",
    )
}

/// `500 CMNC-018`: a search filter value that does not parse as its column type (§1.6, §1.12).
pub fn unparsable_filter(name: &str, value: &str, kind: &str) -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "CMNC-018",
        format!("Filter {name} with value '{value}' cannot be parsed as {kind}"),
    )
}

/// Remove object keys whose value is null, recursively; nulls inside arrays stay (search rows
/// carry them positionally, §1.12).
pub fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// Dates rendered as Brightpearl does: `yyyy-MM-dd'T'HH:mm:ss.SSS±hh:mm` in the account's offset
/// (§5.2).
#[derive(Debug, Clone, Copy)]
pub struct Dates {
    pub offset: FixedOffset,
}

impl Dates {
    pub fn new(offset_minutes: i32) -> Self {
        let offset = FixedOffset::east_opt(offset_minutes * 60)
            .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset is valid"));
        Self { offset }
    }

    pub fn format(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.offset)
            .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
            .to_string()
    }

    pub fn format_opt(&self, at: Option<DateTime<Utc>>) -> Value {
        at.map_or(Value::Null, |at| Value::String(self.format(at)))
    }

    /// Accept `Z` or an offset (§5.2), with or without fractional seconds, or a bare date
    /// (midnight in the account's offset).
    pub fn parse(&self, text: &str) -> Option<DateTime<Utc>> {
        let text = text.trim();
        if let Ok(at) = DateTime::parse_from_rfc3339(text) {
            return Some(at.with_timezone(&Utc));
        }
        // Offsets without a colon (`+0000`) appear on some resources (§5.2).
        for pattern in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"] {
            if let Ok(at) = DateTime::parse_from_str(text, pattern) {
                return Some(at.with_timezone(&Utc));
            }
        }
        // guess: a timestamp without any offset is read in the account's offset rather than
        // refused (brightpearl-api.md §5.2 only documents `Z` and explicit offsets)
        for pattern in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%dT%H:%M",
        ] {
            if let Ok(naive) = NaiveDateTime::parse_from_str(text, pattern) {
                return self.local(naive);
            }
        }
        let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
        self.local(date.and_hms_opt(0, 0, 0)?)
    }

    fn local(&self, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
        self.offset
            .from_local_datetime(&naive)
            .single()
            .map(|at| at.with_timezone(&Utc))
    }
}

/// `raisedOn` in webhook payloads: UTC with `Z` and milliseconds (§4.16).
pub fn format_utc_millis(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A fixed-point decimal with four places, enough for Brightpearl's money and quantities
/// (≤ 4 dp on input, §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Fixed(pub i128);

impl Fixed {
    pub const SCALE: i128 = 10_000;

    pub fn from_int(value: i64) -> Self {
        Fixed(value as i128 * Self::SCALE)
    }

    /// Parse a JSON string or number; more than four decimals is refused.
    pub fn from_json(value: &Value) -> Option<Fixed> {
        match value {
            Value::String(text) => Self::parse(text),
            Value::Number(number) => Self::parse(&number.to_string()),
            _ => None,
        }
    }

    pub fn parse(text: &str) -> Option<Fixed> {
        let text = text.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && fraction.is_empty()
            || !whole.chars().all(|c| c.is_ascii_digit())
            || !fraction.chars().all(|c| c.is_ascii_digit())
            || fraction.len() > 4
            || whole.len() > 20
        {
            return None;
        }
        let whole: i128 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let fraction: i128 = format!("{fraction:0<4}").parse().ok()?;
        let value = whole * Self::SCALE + fraction;
        Some(Fixed(if negative { -value } else { value }))
    }

    /// Render with `places` decimals (≤ 4), rounding half away from zero.
    pub fn format(&self, places: u32) -> String {
        let drop = 10_i128.pow(4 - places.min(4));
        let magnitude = self.0.abs();
        let rounded = (magnitude + drop / 2) / drop;
        let unit = 10_i128.pow(places.min(4));
        let sign = if self.0 < 0 && rounded != 0 { "-" } else { "" };
        if places == 0 {
            format!("{sign}{rounded}")
        } else {
            format!(
                "{sign}{}.{:0width$}",
                rounded / unit,
                rounded % unit,
                width = places as usize
            )
        }
    }

    /// `self / by`, four decimals, rounding half away from zero; zero divisor gives zero.
    pub fn div(&self, by: Fixed) -> Fixed {
        if by.0 == 0 {
            return Fixed(0);
        }
        let numerator = self.0 * Self::SCALE * 2;
        let quotient = numerator / by.0;
        Fixed((quotient + quotient.signum()) / 2)
    }

    pub fn is_integer(&self) -> bool {
        self.0 % Self::SCALE == 0
    }

    pub fn whole(&self) -> i64 {
        (self.0 / Self::SCALE) as i64
    }
}

/// The text limits of brightpearl-api.md §5.3a: (field, limit in characters).
pub mod limits {
    pub const ORDER_REF: usize = 64;
    pub const ORDER_EXTERNAL_REF: usize = 64;
    pub const ROW_EXTERNAL_REF: usize = 64;
    pub const ADDRESS_LINE: usize = 100;
    pub const ADDRESS_SHORT: usize = 30;
    pub const EMAIL: usize = 255;
    pub const CONTACT_NAME: usize = 32;
    pub const PRODUCT_SKU: usize = 32;
    pub const NOTE_TEXT: usize = 10_000;
    pub const ROW_NAME: usize = 255;
    pub const TRACKING_REFERENCE: usize = 64;

    /// Address keys and their limits (§5.3a).
    pub const ADDRESS_FIELDS: &[(&str, usize)] = &[
        ("addressFullName", ADDRESS_LINE),
        ("companyName", ADDRESS_LINE),
        ("addressLine1", ADDRESS_LINE),
        ("addressLine2", ADDRESS_LINE),
        ("addressLine3", ADDRESS_LINE),
        ("addressLine4", ADDRESS_LINE),
        ("postalCode", ADDRESS_SHORT),
        ("telephone", ADDRESS_SHORT),
        ("mobileTelephone", ADDRESS_SHORT),
        ("fax", ADDRESS_SHORT),
        ("email", EMAIL),
    ];
}

/// `Some(message)` when `value` is longer than `limit` characters; the message names the field.
// guess: limits count Unicode characters, not bytes (brightpearl-api.md §5.3a)
pub fn too_long(field: &str, value: &str, limit: usize) -> Option<String> {
    let length = value.chars().count();
    (length > limit).then(|| format!("{field} is {length} characters long; the maximum is {limit}"))
}

/// Countries the simulator knows: 2-letter, 3-letter, name, Brightpearl-style id.
const COUNTRIES: &[(&str, &str, &str, u32)] = &[
    ("US", "USA", "United States", 226),
    ("GB", "GBR", "United Kingdom", 222),
    ("CA", "CAN", "Canada", 38),
    ("MX", "MEX", "Mexico", 138),
    ("DE", "DEU", "Germany", 80),
    ("FR", "FRA", "France", 73),
    ("AU", "AUS", "Australia", 13),
    ("IE", "IRL", "Ireland", 103),
];

/// Look a country up by 2- or 3-letter code or id.
pub fn country(code: &str) -> Option<(&'static str, &'static str, &'static str, u32)> {
    let code = code.trim().to_ascii_uppercase();
    COUNTRIES
        .iter()
        .find(|(two, three, _, id)| *two == code || *three == code || id.to_string() == code)
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_parses_and_formats() {
        let check = |input: &str, places: u32, expected: &str| {
            assert_eq!(
                Fixed::parse(input).unwrap().format(places),
                expected,
                "{input}"
            );
        };
        check("9.0909", 4, "9.0909");
        check("0.91", 2, "0.91");
        check("2", 4, "2.0000");
        check("39.98", 2, "39.98");
        check("0.905", 2, "0.91");
        check("-1.5", 2, "-1.50");
        assert_eq!(Fixed::parse("1.23456"), None);
        assert_eq!(Fixed::parse("abc"), None);
        assert_eq!(
            Fixed::parse("10").unwrap().div(Fixed::parse("3").unwrap()),
            Fixed(33_333)
        );
    }

    #[test]
    fn dates_render_in_account_offset_and_parse_both_forms() {
        let dates = Dates::new(-360);
        let at = dates.parse("2026-04-17T10:00:00-06:00").unwrap();
        assert_eq!(dates.format(at), "2026-04-17T10:00:00.000-06:00");
        let zulu = dates.parse("2011-07-15T16:10:45.555Z").unwrap();
        assert_eq!(dates.format(zulu), "2011-07-15T10:10:45.555-06:00");
        let day = dates.parse("2025-03-01").unwrap();
        assert_eq!(dates.format(day), "2025-03-01T00:00:00.000-06:00");
        assert!(dates.parse("yesterday").is_none());
    }

    #[test]
    fn nulls_are_stripped_from_objects_only() {
        let mut value = json!({"a": null, "b": [null, 1], "c": {"d": null}});
        strip_nulls(&mut value);
        assert_eq!(value, json!({"b": [null, 1], "c": {}}));
    }
}

//! One decoded API request ([`Req`]) and what handlers return for it ([`Outcome`]), plus the
//! path-segment parsing every resource shares: ID sets with their caps, single ids, `%XX` escapes.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde_json::Value;

use super::hooks::Event;
use super::idset::IdSet;
use super::wire;

/// One API request, decoded: the service and the path segments after `{service}-service/`.
pub(crate) struct Req {
    pub method: Method,
    pub service: String,
    /// Percent-decoded segments; a trailing slash leaves an empty last segment, which is dropped.
    pub segments: Vec<String>,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub path: String,
}

impl Req {
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The JSON body; a missing or unparsable body is refused (§1.6 `CMNC-010`).
    // guess: both an empty and an unparsable body answer 400 CMNC-010 (brightpearl-api.md §1.6
    // gives the code without the status)
    pub fn json(&self) -> Result<Value, Response> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(wire::bad_request("CMNC-010", "A JSON body is required"));
        }
        serde_json::from_slice(&self.body).map_err(|error| {
            wire::bad_request(
                "CMNC-010",
                format!("A JSON body is required; the body could not be parsed: {error}"),
            )
        })
    }

    pub fn not_found(&self) -> Response {
        wire::not_found(format!("Cannot find the resource {}", self.path))
    }
}

/// Parse an ID-set path segment (absent = all), refusing sets over `cap` ids.
// guess: an unparsable ID set answers 400 CMNC-019 and one over the per-resource cap 400 CMNC-022
// (brightpearl-api.md §1.3 says only "rejected or truncated")
pub(crate) fn id_set(segment: Option<&str>, cap: Option<u64>) -> Result<IdSet, Response> {
    let set =
        IdSet::parse_opt(segment).map_err(|message| wire::bad_request("CMNC-019", message))?;
    if let (Some(cap), Some(requested)) = (cap, set.requested())
        && requested > cap
    {
        return Err(wire::bad_request(
            "CMNC-022",
            format!(
                "The ID set names {requested} ids; at most {cap} are allowed per request. Use OPTIONS to split it"
            ),
        ));
    }
    Ok(set)
}

/// A single positive id from a path segment.
pub(crate) fn single_id(segment: Option<&str>) -> Option<u32> {
    segment?.parse::<u32>().ok().filter(|id| *id > 0)
}

/// Decode `%XX` escapes in a path segment; malformed escapes are kept as sent.
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && index + 2 < bytes.len()
            && let Ok(hex) = std::str::from_utf8(&bytes[index + 1..index + 3])
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            index += 3;
            continue;
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a handler returns: the response and the resource events it raised.
pub(crate) type Outcome = (Response, Vec<Event>);

/// A response without events.
pub(crate) fn plain(response: Response) -> Outcome {
    (response, Vec::new())
}

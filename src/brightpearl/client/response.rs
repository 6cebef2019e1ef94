//! Reading Brightpearl answers: the `{response}` envelope, search rows, id-keyed maps, an
//! `errors` body behind a 2xx status, rate-limit headers, and transport failures as [`Error`]s.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::brightpearl::error::{Error, classify_status, excerpt};

pub(super) fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

pub(super) fn decode_envelope<T: DeserializeOwned>(
    endpoint: &str,
    body: &[u8],
) -> Result<T, Error> {
    #[derive(serde::Deserialize)]
    struct Envelope<T> {
        response: T,
    }
    serde_json::from_slice::<Envelope<T>>(body)
        .map(|e| e.response)
        .map_err(|e| Error::Decode {
            endpoint: endpoint.to_owned(),
            status: StatusCode::OK,
            message: e.to_string(),
            body: excerpt(body),
        })
}

pub(super) fn errors_in_success(endpoint: &str, status: StatusCode, body: &[u8]) -> Option<Error> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let errors = value.get("errors")?.as_array()?;
    if errors.is_empty() {
        return None;
    }
    Some(classify_status(endpoint, status, body, None, None))
        .filter(|e| matches!(e, Error::Rejected { .. }))
        .or(Some(Error::Decode {
            endpoint: endpoint.to_owned(),
            status,
            message: "success status with an errors body".into(),
            body: excerpt(body),
        }))
}

pub(super) fn decode_rows<T: DeserializeOwned>(
    path: &str,
    rows: Vec<Map<String, Value>>,
) -> Result<Vec<T>, Error> {
    rows.into_iter()
        .map(|row| {
            T::deserialize(Value::Object(row)).map_err(|e| Error::Decode {
                endpoint: format!("GET {path}"),
                status: StatusCode::OK,
                message: format!("search row: {e}"),
                body: String::new(),
            })
        })
        .collect()
}

pub(super) fn parse_key(endpoint: &str, key: &str) -> Result<u64, Error> {
    key.parse().map_err(|_| Error::Decode {
        endpoint: endpoint.to_owned(),
        status: StatusCode::OK,
        message: format!("map key {key:?} is not an id"),
        body: String::new(),
    })
}

//! Brightpearl credentials (brightpearl-api.md §2) and the request headers they become; credential
//! headers are marked sensitive so they never reach a log line.

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};

use crate::brightpearl::error::Error;
use crate::secret::Secret;

/// Credentials (brightpearl-api.md §2).
#[derive(Debug, Clone)]
pub enum Auth {
    /// A private app: `brightpearl-app-ref` plus an account or staff token.
    PrivateApp {
        app_ref: String,
        token: Secret<String>,
        kind: TokenKind,
    },
    /// An OAuth instance app: bearer token plus app and developer references.
    OAuth {
        app_ref: String,
        dev_ref: String,
        access_token: Secret<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// `brightpearl-account-token` (system private app).
    Account,
    /// `brightpearl-staff-token` (staff private app).
    Staff,
}

pub(super) fn auth_headers(auth: &Auth) -> Result<HeaderMap, Error> {
    let mut headers = HeaderMap::new();
    match auth {
        Auth::PrivateApp {
            app_ref,
            token,
            kind,
        } => {
            headers.insert(
                HeaderName::from_static("brightpearl-app-ref"),
                plain(app_ref)?,
            );
            let name = match kind {
                TokenKind::Account => "brightpearl-account-token",
                TokenKind::Staff => "brightpearl-staff-token",
            };
            headers.insert(HeaderName::from_static(name), sensitive(token.expose())?);
        }
        Auth::OAuth {
            app_ref,
            dev_ref,
            access_token,
        } => {
            headers.insert(
                AUTHORIZATION,
                sensitive(&format!("Bearer {}", access_token.expose()))?,
            );
            headers.insert(
                HeaderName::from_static("brightpearl-app-ref"),
                plain(app_ref)?,
            );
            headers.insert(
                HeaderName::from_static("brightpearl-dev-ref"),
                plain(dev_ref)?,
            );
        }
    }
    Ok(headers)
}

fn sensitive(value: &str) -> Result<HeaderValue, Error> {
    let mut header = HeaderValue::from_str(value)
        .map_err(|_| Error::Config("credential is not a valid header value".into()))?;
    header.set_sensitive(true);
    Ok(header)
}

fn plain(value: &str) -> Result<HeaderValue, Error> {
    HeaderValue::from_str(value).map_err(|_| Error::Config(format!("bad header value {value:?}")))
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn auth_headers_are_sensitive() {
        let headers = auth_headers(&Auth::OAuth {
            app_ref: "acme_app".into(),
            dev_ref: "dev".into(),
            access_token: Secret::from("abc"),
        })
        .unwrap();
        assert!(headers[AUTHORIZATION].is_sensitive());
        assert_eq!(headers[AUTHORIZATION], "Bearer abc");
        assert_eq!(headers["brightpearl-dev-ref"], "dev");
        assert!(!format!("{headers:?}").contains("abc"));
    }
}

//! The OAuth token endpoint answer (brightpearl-api.md §2.3): snake_case JSON, unlike the REST API.

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenResponse {
    pub access_token: crate::secret::Secret<String>,
    #[serde(default)]
    pub refresh_token: Option<crate::secret::Secret<String>>,
    /// A string on the wire; absent from refresh answers.
    #[serde(default)]
    pub installation_instance_id: Option<String>,
    #[serde(default)]
    pub api_domain: Option<String>,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

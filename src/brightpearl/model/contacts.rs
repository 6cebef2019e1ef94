//! Contact wire types (brightpearl-api.md §4.17): search rows and the contact create body.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ids::{ContactId, PostalAddressId};

/// A row of `/contact-service/contact-search`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactSearchRow {
    pub contact_id: ContactId,
    #[serde(default)]
    pub primary_email: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub company_name: Option<String>,
    #[serde(default)]
    pub is_customer: Option<bool>,
    #[serde(default)]
    pub is_supplier: Option<bool>,
}

/// Body of `POST /contact-service/contact`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewContact {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub salutation: Option<String>,
    pub first_name: String,
    pub last_name: String,
    /// `DEF`, `BIL`, `DEL` → postal address id.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub post_address_ids: BTreeMap<String, PostalAddressId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub communication: Option<ContactCommunication>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relationship_to_account: Option<RelationshipToAccount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marketing_details: Option<MarketingDetails>,
    /// The company; nesting as on Contact GET (`organisation.name`). Guess: the create nesting
    /// beyond names, addresses and emails is UNCONFIRMED (brightpearl-api.md §4.17).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation: Option<ContactOrganisation>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactOrganisation {
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactCommunication {
    /// `PRI`, `SEC`, `TER` → `{email}`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub emails: BTreeMap<String, ContactEmail>,
    /// `PRI`, `SEC`, `MOB`, `FAX` → number.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub telephones: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactEmail {
    pub email: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelationshipToAccount {
    pub is_supplier: bool,
    pub is_staff: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarketingDetails {
    pub is_receive_email_newsletter: bool,
}

//! Contact operations (`contact-service`, brightpearl-api.md §4.17): search, create, postal addresses.

use reqwest::Method;

use super::response::decode_rows;
use super::{Call, Client};
use crate::brightpearl::error::Error;
use crate::brightpearl::model::{
    Address, ContactId, ContactSearchRow, NewContact, PostalAddressId,
};
use crate::brightpearl::quota::Lane;
use crate::brightpearl::search::SearchQuery;

impl Client {
    /// `/contact-service/contact-search` with any filters (e.g. `primaryEmail`), all pages.
    pub async fn search_contacts(
        &self,
        lane: Lane,
        query: &SearchQuery,
    ) -> Result<Vec<ContactSearchRow>, Error> {
        const PATH: &str = "contact-service/contact-search";
        let rows = self.search_all(lane, PATH, query).await?;
        decode_rows(PATH, rows)
    }

    /// Contacts whose `primaryEmail` matches (the match may be partial: compare before use).
    pub async fn search_contacts_by_email(
        &self,
        lane: Lane,
        email: &str,
    ) -> Result<Vec<ContactSearchRow>, Error> {
        self.search_contacts(lane, &SearchQuery::new().filter("primaryEmail", email))
            .await
    }

    /// `POST /contact-service/contact`; not retried once it may have reached the server.
    pub async fn create_contact(
        &self,
        lane: Lane,
        contact: &NewContact,
    ) -> Result<ContactId, Error> {
        let call = Call::new(lane, Method::POST, "contact-service/contact").json(contact)?;
        self.fetch(call).await
    }

    /// `POST /contact-service/postal-address`.
    pub async fn create_postal_address(
        &self,
        lane: Lane,
        address: &Address,
    ) -> Result<PostalAddressId, Error> {
        let call = Call::new(lane, Method::POST, "contact-service/postal-address").json(address)?;
        self.fetch(call).await
    }
}

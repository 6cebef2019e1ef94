//! Brightpearl contacts for DSCO customers: which contact an order belongs to (the mapped
//! contact of the retailer, or of the consumer, per `customers.mode`), else one created exactly
//! once and mapped, when `auto_create` is on. The orders flow and
//! `POST /v1/mappings/customers/{id}/create-in-brightpearl` both create retailer contacts here,
//! taking turns through the app's one [`ContactsLock`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::brightpearl::{
    self, Address, ContactCommunication, ContactEmail, ContactOrganisation, Lane, NewContact,
    RelationshipToAccount, SearchQuery, limits,
};
use crate::dsco;
use crate::mapping::MappingKind;
use crate::mapping::customers::{self, CustomerMap, CustomerMapping};
use crate::settings::{CustomerMode, CustomersSettings};
use crate::store::{Link, Store};
use crate::sync::exactly_once::{Attempt, create_once};

use crate::sync::address::{cut, postal_address};

/// Intent and link kind for contacts.
pub const CONTACT_KIND: &str = "contact";
/// Link kind for consumers' contacts (per_consumer mode).
pub const CONSUMER_KIND: &str = "consumer";

/// How resolving the customer ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Customer {
    Contact(u64),
    /// A person must act (no mapping and no auto-create, or Brightpearl refused the contact).
    NeedsAttention {
        reason: String,
        code: Option<String>,
    },
    /// Try again later (nothing certain happened, or an unanswered create is being settled).
    Retry(String),
    /// Waiting for an unanswered create's grace period.
    Waiting(String),
}

/// Turns at creating retailer contacts. The app makes one and hands it to every flow context
/// and to the control API, so the mapping check and the exactly-once create of
/// [`create_retailer_contact`] are never interleaved for one retailer.
#[derive(Debug, Clone, Default)]
pub struct ContactsLock(Arc<tokio::sync::Mutex<()>>);

impl ContactsLock {
    async fn turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.0.lock().await
    }
}

/// Resolves customers for one run, remembering contacts it found or created.
pub struct Resolver<'a> {
    pub client: &'a brightpearl::Client,
    pub store: &'a Store,
    pub lock: &'a ContactsLock,
    pub settings: &'a CustomersSettings,
    pub mapped: &'a CustomerMap,
    pub grace: Duration,
    pub cache: HashMap<String, u64>,
}

/// The last name that marks a retailer's contact, searchable after an unanswered create.
pub fn retailer_marker(retailer_id: &str) -> String {
    cut(
        &format!("DSCO retailer {retailer_id}"),
        limits::CONTACT_NAME,
    )
}

impl Resolver<'_> {
    pub async fn resolve(&mut self, order: &dsco::Order) -> Result<Customer, crate::store::Error> {
        match self.settings.mode {
            CustomerMode::PerRetailer => self.for_retailer(order).await,
            CustomerMode::PerConsumer => self.for_consumer(order).await,
        }
    }

    async fn for_retailer(&mut self, order: &dsco::Order) -> Result<Customer, crate::store::Error> {
        let Some(retailer) = order
            .dsco_retailer_id
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
        else {
            return Ok(Customer::NeedsAttention {
                reason: "the DSCO order has no dscoRetailerId, so no customer can be chosen".into(),
                code: None,
            });
        };
        if let Some(id) = self.mapped.contact_for(retailer) {
            return Ok(Customer::Contact(u64::from(id)));
        }
        let key = format!("retailer:{retailer}");
        if let Some(id) = self.cache.get(&key) {
            return Ok(Customer::Contact(*id));
        }
        if !self.settings.auto_create {
            return Ok(Customer::NeedsAttention {
                reason: format!("no customer mapping for retailer {retailer}"),
                code: None,
            });
        }
        let name = order
            .dsco_trading_partner_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("DSCO retailer {retailer}"));
        let address = order.bill_to.as_ref().map(postal_address);
        let customer = create_retailer_contact(
            self.client,
            self.store,
            self.lock,
            retailer,
            &name,
            address,
            self.grace,
        )
        .await?;
        if let Customer::Contact(id) = customer {
            self.cache.insert(key, id);
        }
        Ok(customer)
    }

    async fn for_consumer(&mut self, order: &dsco::Order) -> Result<Customer, crate::store::Error> {
        let ship = &order.shipping;
        let email = ship
            .email
            .as_deref()
            .map(|e| e.trim().to_ascii_lowercase())
            .filter(|e| !e.is_empty());
        let first = ship.first_name.clone().or_else(|| {
            ship.name
                .as_deref()
                .and_then(|n| n.split_whitespace().next().map(str::to_owned))
        });
        let last = ship.last_name.clone().or_else(|| {
            ship.name.as_deref().map(|n| {
                let mut parts = n.split_whitespace();
                parts.next();
                parts.collect::<Vec<_>>().join(" ")
            })
        });
        let full_name = [first.clone(), last.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let postal = ship.postal.clone().unwrap_or_default();
        let key = match &email {
            Some(e) => format!("consumer:email:{e}"),
            None if !full_name.trim().is_empty() => format!(
                "consumer:name:{}|{}",
                full_name.trim().to_lowercase(),
                postal.trim().to_lowercase()
            ),
            None => {
                return Ok(Customer::NeedsAttention {
                    reason: "the ship-to has neither an email nor a name to find the consumer by"
                        .into(),
                    code: None,
                });
            }
        };
        if let Some(id) = self.cache.get(&key) {
            return Ok(Customer::Contact(*id));
        }
        let k = key.clone();
        if let Some(link) = self
            .store
            .call(move |s| s.read(|tx| tx.link(CONSUMER_KIND, &k)))
            .await?
            && let Ok(id) = link.bp_id.parse::<u64>()
        {
            self.cache.insert(key, id);
            return Ok(Customer::Contact(id));
        }
        let client = self.client;
        let search_email = email.clone();
        let search_first = first.clone().unwrap_or_default();
        let search_last = last.clone().unwrap_or_default();
        let search = move || async move {
            let rows = match &search_email {
                Some(e) => client.search_contacts_by_email(Lane::Orders, e).await?,
                None => {
                    client
                        .search_contacts(
                            Lane::Orders,
                            &SearchQuery::new()
                                .filter("firstName", &search_first)
                                .filter("lastName", &search_last),
                        )
                        .await?
                }
            };
            Ok(rows
                .into_iter()
                .filter(|r| match &search_email {
                    Some(e) => {
                        r.primary_email
                            .as_deref()
                            .map(str::to_ascii_lowercase)
                            .as_deref()
                            == Some(e.as_str())
                    }
                    // guess: without an email, same first and last name count as the same consumer.
                    None => {
                        r.first_name.as_deref() == Some(search_first.as_str())
                            && r.last_name.as_deref() == Some(search_last.as_str())
                    }
                })
                .map(|r| r.contact_id.0)
                .min())
        };
        // An existing contact with this email is the consumer's, mapped or not.
        if email.is_some() {
            match search.clone()().await {
                Ok(Some(id)) => {
                    self.link_consumer(&key, id).await?;
                    return Ok(Customer::Contact(id));
                }
                Ok(None) => {}
                Err(e) => {
                    return Ok(Customer::Retry(format!(
                        "could not search Brightpearl contacts for the consumer: {e}"
                    )));
                }
            }
        }
        if !self.settings.auto_create {
            return Ok(Customer::NeedsAttention {
                reason: format!(
                    "no Brightpearl contact for consumer {} and customers.auto_create is off",
                    email.clone().unwrap_or(full_name)
                ),
                code: None,
            });
        }
        let mut communication = ContactCommunication::default();
        if let Some(e) = &email {
            communication.emails.insert(
                "PRI".into(),
                ContactEmail {
                    email: cut(e, limits::EMAIL),
                },
            );
        }
        if let Some(phone) = ship.phone.as_deref().filter(|p| !p.trim().is_empty()) {
            communication
                .telephones
                .insert("PRI".into(), cut(phone, limits::POSTAL));
        }
        let contact = NewContact {
            salutation: None,
            first_name: cut(first.as_deref().unwrap_or(""), limits::CONTACT_NAME),
            last_name: cut(last.as_deref().unwrap_or(""), limits::CONTACT_NAME),
            post_address_ids: Default::default(),
            communication: Some(communication),
            relationship_to_account: Some(RelationshipToAccount {
                is_supplier: false,
                is_staff: false,
            }),
            marketing_details: None,
            organisation: None,
        };
        let address = Some(postal_address(ship));
        let attempt = create_once(self.store, CONTACT_KIND, &key, self.grace, search, || {
            create_contact(client, contact, address)
        })
        .await?;
        let link_key = key.clone();
        self.conclude_and_remember(attempt, &key, move |store, contact_id| {
            store.write(|tx| {
                tx.put_link(
                    CONSUMER_KIND,
                    &Link {
                        dsco_id: link_key.clone(),
                        bp_id: contact_id.to_string(),
                        linked_at: tx.now(),
                        data: serde_json::Value::Null,
                    },
                )?;
                tx.clear_intent(CONTACT_KIND, &link_key)?;
                Ok(())
            })
        })
        .await
    }

    async fn link_consumer(
        &mut self,
        key: &str,
        contact_id: u64,
    ) -> Result<(), crate::store::Error> {
        let k = key.to_owned();
        self.store
            .call(move |s| {
                s.write(|tx| {
                    tx.put_link(
                        CONSUMER_KIND,
                        &Link {
                            dsco_id: k.clone(),
                            bp_id: contact_id.to_string(),
                            linked_at: tx.now(),
                            data: serde_json::Value::Null,
                        },
                    )
                })
            })
            .await?;
        self.cache.insert(key.to_owned(), contact_id);
        Ok(())
    }

    /// [`conclude_create`], remembering the contact for the rest of the run.
    async fn conclude_and_remember<F>(
        &mut self,
        attempt: Attempt<u64>,
        key: &str,
        commit: F,
    ) -> Result<Customer, crate::store::Error>
    where
        F: FnOnce(&Store, u64) -> Result<(), crate::store::Error> + Send + 'static,
    {
        let customer = conclude_create(self.store, attempt, key, commit).await?;
        if let Customer::Contact(id) = customer {
            self.cache.insert(key.to_owned(), id);
        }
        Ok(customer)
    }
}

/// Create the Brightpearl contact of a DSCO retailer at most once and map it (`customers`
/// mapping) in the transaction that clears the create's intent. The orders flow (auto-create)
/// and `POST /v1/mappings/customers/{id}/create-in-brightpearl` both come through here, one at
/// a time through `lock`.
///
/// The contact's first name and organisation are `name`; its last name is
/// [`retailer_marker`], which is what an unanswered create is searched by. A retailer already
/// mapped when the call gets its turn yields that contact and nothing is sent.
pub async fn create_retailer_contact(
    client: &brightpearl::Client,
    store: &Store,
    lock: &ContactsLock,
    retailer_id: &str,
    name: &str,
    address: Option<Address>,
    grace: Duration,
) -> Result<Customer, crate::store::Error> {
    let _turn = lock.turn().await;
    let retailer = retailer_id.trim().to_owned();
    let lookup = retailer.clone();
    if let Some(id) = store
        .call(move |s| s.read(|tx| customers::contact_for(tx, &lookup)))
        .await?
    {
        return Ok(Customer::Contact(u64::from(id)));
    }
    let key = format!("retailer:{retailer}");
    let marker = retailer_marker(&retailer);
    let contact = NewContact {
        salutation: None,
        first_name: cut(name, limits::CONTACT_NAME),
        last_name: marker.clone(),
        post_address_ids: Default::default(),
        communication: None,
        relationship_to_account: Some(RelationshipToAccount {
            is_supplier: false,
            is_staff: false,
        }),
        marketing_details: None,
        organisation: Some(ContactOrganisation {
            name: cut(name, limits::ADDRESS_LINE),
        }),
    };
    let attempt = create_once(
        store,
        CONTACT_KIND,
        &key,
        grace,
        || async move {
            let rows = client
                .search_contacts(
                    Lane::Orders,
                    &SearchQuery::new().filter("lastName", &marker),
                )
                .await?;
            Ok(rows
                .into_iter()
                .filter(|r| r.last_name.as_deref() == Some(marker.as_str()))
                .map(|r| r.contact_id.0)
                .min())
        },
        || create_contact(client, contact, address),
    )
    .await?;
    conclude_create(store, attempt, &key, move |store, contact_id| {
        // Customer mappings hold 32-bit ids, as Brightpearl's contact ids are; a larger one is
        // refused rather than stored wrong (the intent stays open for a person to look at).
        let contact = u32::try_from(contact_id).map_err(|_| {
            crate::store::Error::Conflict(format!(
                "Brightpearl contact id {contact_id} does not fit a customer mapping"
            ))
        })?;
        store.write(|tx| {
            tx.put_mapping(
                MappingKind::Customers.as_str(),
                &retailer,
                &CustomerMapping {
                    dsco_retailer_id: retailer.clone(),
                    brightpearl_contact_id: contact,
                },
            )?;
            tx.clear_intent(CONTACT_KIND, &format!("retailer:{retailer}"))?;
            Ok(())
        })
    })
    .await
}

/// Turn an exactly-once contact create into the customer outcome, running `commit` (the link or
/// mapping, and the cleared intent) on a created or found contact.
async fn conclude_create<F>(
    store: &Store,
    attempt: Attempt<u64>,
    key: &str,
    commit: F,
) -> Result<Customer, crate::store::Error>
where
    F: FnOnce(&Store, u64) -> Result<(), crate::store::Error> + Send + 'static,
{
    Ok(match attempt {
        Attempt::Created(id) | Attempt::Found(id) => {
            store.call(move |s| commit(s, id)).await?;
            tracing::info!(contact_id = id, key, "customer contact ready");
            Customer::Contact(id)
        }
        Attempt::Waiting(why) => Customer::Waiting(why),
        Attempt::Rejected { reason, code } => Customer::NeedsAttention {
            reason: format!("creating the customer contact failed: {reason}"),
            code,
        },
        Attempt::NotApplied { reason, .. } | Attempt::Unknown { reason, .. } => {
            Customer::Retry(format!("creating the customer contact: {reason}"))
        }
    })
}

/// Create the postal address, then the contact that uses it.
async fn create_contact(
    client: &brightpearl::Client,
    mut contact: NewContact,
    address: Option<Address>,
) -> Result<u64, brightpearl::Error> {
    if let Some(address) = address {
        let address_id = client.create_postal_address(Lane::Orders, &address).await?;
        for kind in ["DEF", "BIL", "DEL"] {
            contact.post_address_ids.insert(kind.into(), address_id);
        }
    }
    client
        .create_contact(Lane::Orders, &contact)
        .await
        .map(|id| id.0)
}

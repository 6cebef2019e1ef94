//! Contacts and postal addresses (brightpearl-api.md §4.17, §1.9): contact POST, paginated contact
//! GET, OPTIONS, contact search (several contacts may share an email), postal-address POST/GET.
//!
//! Guessed error codes: `CONC-001` missing addressLine1, `CONC-002` text over its §5.3a limit,
//! `CONC-003` unknown address or address of another contact, `CONC-004` unknown country.

// guess: the CONC codes above (brightpearl-api.md §1.6 lists none for contacts)

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::idset::get_uris;
use super::request::{Outcome, Req, id_set, plain};
use super::search::{Column, Kind, col, search};
use super::sim::Inner;
use super::state::{Address, Contact};
use super::wire::{self, limits, too_long};
use crate::sandbox::common::lock;

pub fn route(inner: &Inner, request: &Req) -> Outcome {
    let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
    plain(match (&request.method, segments.as_slice()) {
        (&Method::GET, ["contact", rest @ ..]) => {
            get_contacts(inner, request, rest.first().copied())
        }
        (&Method::OPTIONS, ["contact", rest @ ..]) => options(inner, rest.first().copied()),
        (&Method::POST, ["contact"]) => post_contact(inner, request),
        (&Method::GET, ["contact-search"]) => contact_search(inner, request),
        (&Method::POST, ["postal-address"]) => post_address(inner, request),
        (&Method::GET, ["postal-address", ids]) => get_addresses(inner, ids),
        _ => request.not_found(),
    })
}

pub fn render_contact(inner: &Inner, contact: &Contact) -> Value {
    let emails: Map<String, Value> = contact
        .emails
        .iter()
        .map(|(kind, email)| (kind.clone(), json!({"email": email})))
        .collect();
    json!({
        "contactId": contact.id,
        "isPrimaryContact": true,
        "salutation": contact.salutation,
        "firstName": contact.first_name,
        "lastName": contact.last_name,
        "postAddressIds": contact.post_address_ids,
        "communication": {
            "emails": emails,
            "telephones": contact.telephones,
            "messagingVoips": {},
            "websites": {},
        },
        "contactStatus": {"current": {"contactStatusId": 0}},
        "relationshipToAccount": {"isSupplier": contact.is_supplier, "isStaff": contact.is_staff},
        "marketingDetails": {"isReceiveEmailNewsletter": contact.newsletter},
        "financialDetails": {
            "priceListId": contact.price_list_id, "nominalCode": "0", "creditLimit": 0,
            "creditTermDays": 0, "currencyId": 1, "discountPercentage": 0.0, "creditTermTypeId": 1,
        },
        "assignment": {"current": {}},
        "organisation": {"organisationId": contact.id, "name": contact.company_name},
        "tradeStatus": if contact.is_customer { "CUSTOMER" } else { "UNKNOWN" },
        // Spelled `createdByid` on the wire (§4.17).
        "createdByid": 0,
        "createdOn": inner.dates.format_opt(contact.created_on),
        "updatedOn": inner.dates.format_opt(contact.updated_on),
        "contactTags": "",
        "aliases": {},
        "companyId": 0,
    })
}

fn get_contacts(inner: &Inner, request: &Req, ids: Option<&str>) -> Response {
    let set = match id_set(ids, None) {
        Ok(set) => set,
        Err(response) => return response,
    };
    let state = lock(&inner.state);
    let mut selected = set.select(state.contacts.keys().copied());
    if selected.is_empty() {
        return wire::not_found("No Contact Found");
    }
    let descending = request
        .query("sort")
        .is_some_and(|sort| sort.ends_with(".DESC") || sort.ends_with("|DESC"));
    if descending {
        selected.reverse();
    }
    let parse = |name: &str, default: usize| {
        request
            .query(name)
            .and_then(|value| value.parse::<usize>().ok())
            .filter(|value| *value > 0)
            .unwrap_or(default)
    };
    // At most 200 per page; firstResult is 1-based within the requested set (§1.9).
    let page_size = parse("pageSize", 200).min(200);
    let first = parse("firstResult", 1);
    let page: Vec<Value> = selected
        .iter()
        .skip(first - 1)
        .take(page_size)
        .filter_map(|id| state.contacts.get(id))
        .map(|contact| render_contact(inner, contact))
        .collect();
    let returned = page.len();
    let mut pagination = json!({
        "morePagesAvailable": first - 1 + returned < selected.len(),
        "resultsReturned": returned,
    });
    if returned > 0 {
        pagination["firstResult"] = json!(first);
        pagination["lastResult"] = json!(first - 1 + returned);
    }
    wire::json_response(
        StatusCode::OK,
        json!({
            "response": page,
            "pagination": pagination,
            "sorting": [{"field": "contactId", "direction": if descending { "DESC" } else { "ASC" }}],
        }),
    )
}

fn options(inner: &Inner, ids: Option<&str>) -> Response {
    let set = match id_set(ids, None) {
        Ok(set) => set,
        Err(response) => return response,
    };
    let state = lock(&inner.state);
    let ids = set.select(state.contacts.keys().copied());
    wire::ok(json!({"getUris": get_uris("contact", &ids, 200)}))
}

fn text_at(body: &Value, pointer: &str) -> Option<String> {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn post_contact(inner: &Inner, request: &Req) -> Response {
    let body = match request.json() {
        Ok(body) => body,
        Err(response) => return response,
    };
    let mut problems: Vec<(String, String)> = Vec::new();
    let mut check = |field: &str, value: &str, limit: usize| {
        if let Some(message) = too_long(field, value, limit) {
            problems.push(("CONC-002".into(), message));
        }
    };
    let first_name = text_at(&body, "/firstName").unwrap_or_default();
    let last_name = text_at(&body, "/lastName").unwrap_or_default();
    let salutation = text_at(&body, "/salutation").unwrap_or_default();
    check("firstName", &first_name, limits::CONTACT_NAME);
    check("lastName", &last_name, limits::CONTACT_NAME);
    check("salutation", &salutation, limits::CONTACT_NAME);
    let mut emails = std::collections::BTreeMap::new();
    for kind in ["PRI", "SEC", "TER"] {
        if let Some(email) = text_at(&body, &format!("/communication/emails/{kind}/email")) {
            check(
                &format!("communication.emails.{kind}.email"),
                &email,
                limits::EMAIL,
            );
            emails.insert(kind.to_owned(), email);
        }
    }
    let mut telephones = std::collections::BTreeMap::new();
    for kind in ["PRI", "SEC", "MOB", "FAX"] {
        if let Some(phone) = text_at(&body, &format!("/communication/telephones/{kind}")) {
            check(
                &format!("communication.telephones.{kind}"),
                &phone,
                limits::ADDRESS_SHORT,
            );
            telephones.insert(kind.to_owned(), phone);
        }
    }
    let mut state = lock(&inner.state);
    let mut address_ids = std::collections::BTreeMap::new();
    if let Some(map) = body.get("postAddressIds").and_then(Value::as_object) {
        for (kind, value) in map {
            let id = value.as_u64().and_then(|id| u32::try_from(id).ok());
            match id.and_then(|id| state.addresses.get(&id)) {
                // An address may belong to only one contact (§4.17).
                Some(address) if address.contact_id == 0 => {
                    address_ids.insert(kind.clone(), address.id);
                }
                Some(address) => problems.push((
                    "CONC-003".into(),
                    format!(
                        "Address {} already belongs to contact {}",
                        address.id, address.contact_id
                    ),
                )),
                None => problems.push((
                    "CONC-003".into(),
                    format!("postAddressIds.{kind}: address {value} does not exist"),
                )),
            }
        }
    }
    if !problems.is_empty() {
        return wire::errors(StatusCode::BAD_REQUEST, problems);
    }
    let now = inner.now();
    let id = state.ids.next_contact();
    for address_id in address_ids.values() {
        if let Some(address) = state.addresses.get_mut(address_id) {
            address.contact_id = id;
        }
    }
    let flag = |pointer: &str| {
        body.pointer(pointer)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let contact = Contact {
        id,
        salutation,
        first_name,
        last_name,
        company_name: text_at(&body, "/organisation/name")
            .or_else(|| text_at(&body, "/companyName"))
            .unwrap_or_default(),
        emails,
        telephones,
        post_address_ids: address_ids,
        is_supplier: flag("/relationshipToAccount/isSupplier"),
        is_staff: flag("/relationshipToAccount/isStaff"),
        is_customer: !flag("/relationshipToAccount/isSupplier"),
        price_list_id: body
            .pointer("/financialDetails/priceListId")
            .and_then(Value::as_u64)
            .map_or(2, |id| id as u32),
        newsletter: flag("/marketingDetails/isReceiveEmailNewsletter"),
        created_on: Some(now),
        updated_on: Some(now),
    };
    state.contacts.insert(id, contact);
    wire::ok(json!(id))
}

/// Validate and store a postal address; used by the POST and by seeding.
pub fn create_address(inner: &Inner, body: &Value) -> Result<u32, Response> {
    let mut problems: Vec<(String, String)> = Vec::new();
    let line1 = body
        .get("addressLine1")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if line1.trim().is_empty() {
        problems.push(("CONC-001".into(), "addressLine1 is required".into()));
    }
    let mut fields = Map::new();
    for (key, limit) in limits::ADDRESS_FIELDS {
        if let Some(value) = body.get(*key).and_then(Value::as_str) {
            if let Some(message) = too_long(key, value, *limit) {
                problems.push(("CONC-002".into(), message));
            }
            fields.insert((*key).to_owned(), json!(value));
        }
    }
    let country_code = body
        .get("countryIsoCode")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| body.get("countryId").map(|id| id.to_string()));
    let country = match &country_code {
        Some(code) => match wire::country(code) {
            Some(country) => Some(country),
            None => {
                problems.push(("CONC-004".into(), format!("Country '{code}' is not known")));
                None
            }
        },
        // guess: the country is optional on POST (brightpearl-api.md §4.17 marks only
        // addressLine1 required)
        None => None,
    };
    if !problems.is_empty() {
        return Err(wire::errors(StatusCode::BAD_REQUEST, problems));
    }
    let mut state = lock(&inner.state);
    let id = state.ids.next_address();
    let (two, three, name, country_id) = country.unwrap_or(("", "", "", 0));
    state.addresses.insert(
        id,
        Address {
            id,
            contact_id: 0,
            fields,
            country_iso2: two.into(),
            country_iso3: three.into(),
            country_id,
            country_name: name.into(),
        },
    );
    Ok(id)
}

fn post_address(inner: &Inner, request: &Req) -> Response {
    let body = match request.json() {
        Ok(body) => body,
        Err(response) => return response,
    };
    match create_address(inner, &body) {
        Ok(id) => wire::ok(json!(id)),
        Err(response) => response,
    }
}

fn get_addresses(inner: &Inner, ids: &str) -> Response {
    let set = match id_set(Some(ids), Some(200)) {
        Ok(set) => set,
        Err(response) => return response,
    };
    let state = lock(&inner.state);
    let items: Vec<Value> = set
        .select(state.addresses.keys().copied())
        .into_iter()
        .filter_map(|id| state.addresses.get(&id))
        .map(|address| {
            let mut out = json!({
                "addressId": address.id,
                "contactId": address.contact_id,
                "countryIsoCode": address.country_iso3,
                "countryIsoCode2": address.country_iso2,
                "countryId": address.country_id,
            });
            for key in [
                "addressLine1",
                "addressLine2",
                "addressLine3",
                "addressLine4",
                "postalCode",
            ] {
                out[key] = address.fields.get(key).cloned().unwrap_or(json!(""));
            }
            out
        })
        .collect();
    if items.is_empty() {
        return wire::not_found("No postal addresses found");
    }
    wire::ok(Value::Array(items))
}

const CONTACT_SEARCH: &[Column] = &[
    col("contactId", Kind::IdSet),
    col("primaryEmail", Kind::SearchString),
    col("secondaryEmail", Kind::SearchString),
    col("tertiaryEmail", Kind::SearchString),
    col("firstName", Kind::SearchString),
    col("lastName", Kind::SearchString),
    col("isSupplier", Kind::Boolean),
    col("companyName", Kind::SearchString),
    col("isStaff", Kind::Boolean),
    col("isCustomer", Kind::Boolean),
    col("createdOn", Kind::Period),
    col("updatedOn", Kind::Period),
    col("lastContactedOn", Kind::Period),
    col("lastOrderedOn", Kind::Period),
    col("nominalCode", Kind::Integer),
    col("isPrimary", Kind::Boolean),
    col("pri", Kind::Text),
    col("sec", Kind::Text),
    col("mob", Kind::Text),
    col("exactCompanyName", Kind::Text),
    col("title", Kind::Text),
];

fn contact_search(inner: &Inner, request: &Req) -> Response {
    let state = lock(&inner.state);
    let dates = &inner.dates;
    let get = |map: &std::collections::BTreeMap<String, String>, key: &str| {
        map.get(key).map_or(Value::Null, |value| json!(value))
    };
    let rows: Vec<Vec<Value>> = state
        .contacts
        .values()
        .map(|contact| {
            let last_ordered = state
                .orders
                .values()
                .filter(|order| order.customer_id == contact.id)
                .filter_map(|order| order.placed_on)
                .max();
            vec![
                json!(contact.id),
                get(&contact.emails, "PRI"),
                get(&contact.emails, "SEC"),
                get(&contact.emails, "TER"),
                json!(contact.first_name),
                json!(contact.last_name),
                json!(contact.is_supplier),
                json!(contact.company_name),
                json!(contact.is_staff),
                json!(contact.is_customer),
                dates.format_opt(contact.created_on),
                dates.format_opt(contact.updated_on),
                Value::Null,
                dates.format_opt(last_ordered),
                Value::Null,
                json!(true),
                get(&contact.telephones, "PRI"),
                get(&contact.telephones, "SEC"),
                get(&contact.telephones, "MOB"),
                json!(contact.company_name),
                json!(contact.salutation),
            ]
        })
        .collect();
    search(inner, request, CONTACT_SEARCH, rows, &Map::new())
}

//! Reading what follow-ups decide on from ServiceTitan: an estimate by id, a job by id,
//! an invoice through `invoices?ids=` (there is no get by id), the customer's name and
//! contacts. Only bytes to `Observation`s here; what they mean is booking-core's.

use booking_core::followup::{
    parse_modified_on, parse_money, Contact, Entity, EstimateStatus, Facts, JobStatus, Observation, Ref,
};
use booking_core::servicetitan::{parse_iso8601, Method, StRequest};
use serde_json::Value;

use crate::config::ServiceTitanSettings;
use crate::servicetitan_client::{self, Sent};

/// Why a read gave no observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// ServiceTitan says there is no such record.
    NotFound,
    /// No answer, or not one we can read: try again later.
    Unavailable(String),
}

/// An entity as read, with the customer it belongs to.
pub(crate) struct Read {
    pub(crate) customer_id: Option<i64>,
    pub(crate) observation: Observation,
}

fn get(path: String, query: Vec<(String, String)>) -> StRequest {
    StRequest { method: Method::Get, path, query, body: None, fresh_token: false }
}

async fn fetch_json(settings: &ServiceTitanSettings, req: StRequest) -> Result<Value, ReadError> {
    let mut sent = Sent::default();
    let resp = servicetitan_client::send(settings, &req, &mut sent).await;
    match resp.status {
        200 => serde_json::from_str(&resp.body).map_err(|_| ReadError::Unavailable("unreadable answer".into())),
        404 => Err(ReadError::NotFound),
        0 => Err(ReadError::Unavailable("no answer from ServiceTitan".into())),
        s => Err(ReadError::Unavailable(format!("ServiceTitan answered {s}"))),
    }
}

fn time(v: &Value) -> Option<i64> {
    v.as_str().and_then(parse_iso8601)
}

fn id(v: &Value) -> Option<i64> {
    v.as_i64()
}

fn modified(v: &Value) -> Result<i64, ReadError> {
    v["modifiedOn"].as_str().and_then(parse_modified_on).ok_or(ReadError::Unavailable("no modifiedOn".into()))
}

/// Reads one entity. `sent_on`/`viewed_on` come from the webhook (estimates only).
pub(crate) async fn entity(
    settings: &ServiceTitanSettings,
    what: Ref,
    sent_on: Option<i64>,
    viewed_on: Option<i64>,
) -> Result<Read, ReadError> {
    let t = settings.tenant_id;
    let (record, facts) = match what.entity {
        Entity::Estimate => {
            let e = fetch_json(settings, get(format!("/sales/v2/tenant/{t}/estimates/{}", what.id), vec![])).await?;
            let status = match e["status"]["name"].as_str().or(e["status"].as_str()) {
                Some("Open") => EstimateStatus::Open,
                Some("Sold") => EstimateStatus::Sold,
                Some("Dismissed") => EstimateStatus::Dismissed,
                _ => EstimateStatus::Other,
            };
            let facts = Facts::Estimate {
                status,
                active: e["active"].as_bool().unwrap_or(true),
                job_id: id(&e["jobId"]),
                sent_on,
                viewed_on,
                link: None,
            };
            (e, facts)
        }
        Entity::Job => {
            let j = fetch_json(settings, get(format!("/jpm/v2/tenant/{t}/jobs/{}", what.id), vec![])).await?;
            let status = serde_json::from_value(j["jobStatus"].clone()).unwrap_or(JobStatus::Other);
            let facts = Facts::Job {
                status,
                notifications_enabled: j["notificationsEnabled"].as_bool().unwrap_or(true),
                completed_on: time(&j["completedOn"]),
                no_show: false,
            };
            (j, facts)
        }
        Entity::Invoice => {
            let query = vec![("ids".to_string(), what.id.to_string())];
            let page = fetch_json(settings, get(format!("/accounting/v2/tenant/{t}/invoices"), query)).await?;
            let Some(i) = page["data"].as_array().and_then(|d| d.iter().find(|i| id(&i["id"]) == Some(what.id))) else {
                return Err(ReadError::NotFound);
            };
            let balance = match &i["balance"] {
                Value::String(s) => parse_money(s),
                Value::Number(n) => n.as_f64().map(|f| (f * 100.0).ceil() as i64),
                _ => None,
            };
            let facts = Facts::Invoice {
                job_id: id(&i["job"]["id"]),
                // An unreadable balance counts as owed: the re-check before a send decides.
                balance_cents: balance.unwrap_or(1),
                due_on: time(&i["dueDate"]),
                link: None,
            };
            let mut i = i.clone();
            if i["customerId"].is_null() {
                i["customerId"] = i["customer"]["id"].clone();
            }
            (i, facts)
        }
        Entity::Appointment | Entity::Payment => {
            return Err(ReadError::Unavailable(format!("{} reads are not wired yet", what.entity.as_str())))
        }
    };
    let observation = Observation { id: what.id, modified_on_ms: modified(&record)?, facts, contact: None };
    Ok(Read { customer_id: id(&record["customerId"]), observation })
}

/// The customer's name and contacts: the first mobile (texts allowed unless
/// `phoneSettings.doNotText`), the first email.
pub(crate) async fn contact(settings: &ServiceTitanSettings, customer_id: i64) -> Result<Contact, ReadError> {
    let t = settings.tenant_id;
    let customer = fetch_json(settings, get(format!("/crm/v2/tenant/{t}/customers/{customer_id}"), vec![])).await?;
    let contacts = fetch_json(
        settings,
        get(format!("/crm/v2/tenant/{t}/customers/{customer_id}/contacts"), vec![("pageSize".into(), "50".into())]),
    )
    .await?;
    let list = contacts["data"].as_array().cloned().unwrap_or_default();
    let of_type = |ty: &str| list.iter().find(|c| c["type"] == ty).cloned();
    let mobile = of_type("MobilePhone");
    Ok(Contact {
        name: customer["name"].as_str().unwrap_or("").to_string(),
        mobile: mobile.as_ref().and_then(|m| m["value"].as_str()).map(str::to_string),
        mobile_texts_allowed: mobile.as_ref().is_some_and(|m| m["phoneSettings"]["doNotText"].as_bool() != Some(true)),
        email: of_type("Email").and_then(|e| e["value"].as_str().map(str::to_string)),
        zone: None,
        locale: None,
    })
}

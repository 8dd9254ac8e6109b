//! Reading what follow-ups decide on from ServiceTitan: an estimate by id, a job by id,
//! an invoice through `invoices?ids=` (there is no get by id), the customer's name and
//! contacts. Only bytes to `Observation`s here; what they mean is booking-core's.

use booking_core::followup::{
    parse_modified_on, parse_money, AppointmentStatus, Contact, Entity, EstimateStatus, Facts, JobStatus, Observation,
    Ref, Zone,
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

pub(crate) fn get(path: String, query: Vec<(String, String)>) -> StRequest {
    StRequest { method: Method::Get, path, query, body: None, fresh_token: false }
}

pub(crate) async fn fetch_json(settings: &ServiceTitanSettings, req: StRequest) -> Result<Value, ReadError> {
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
            let facts = job_facts(settings, &j).await?;
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
        Entity::Appointment => appointment(settings, what.id).await?,
        Entity::Payment => payment(settings, what.id).await?,
    };
    let observation = Observation { id: what.id, modified_on_ms: modified(&record)?, facts, contact: None };
    Ok(Read { customer_id: id(&record["customerId"]), observation })
}

/// A job's facts; a canceled job's last cancellation says whether it was a no-show
/// (ServiceTitan has no no-show status: the office picks a cancel reason).
async fn job_facts(settings: &ServiceTitanSettings, j: &Value) -> Result<Facts, ReadError> {
    let status = serde_json::from_value(j["jobStatus"].clone()).unwrap_or(JobStatus::Other);
    let no_show = match status {
        JobStatus::Canceled => cancelled_for_no_show(settings, id(&j["id"]).unwrap_or(0)).await?,
        _ => false,
    };
    Ok(Facts::Job {
        status,
        notifications_enabled: j["notificationsEnabled"].as_bool().unwrap_or(true),
        completed_on: time(&j["completedOn"]),
        no_show,
    })
}

/// The latest entry of `jobs/{id}/canceled-log` names a no-show reason.
async fn cancelled_for_no_show(settings: &ServiceTitanSettings, job: i64) -> Result<bool, ReadError> {
    let t = settings.tenant_id;
    let query = vec![("pageSize".to_string(), "50".to_string())];
    let log = match fetch_json(settings, get(format!("/jpm/v2/tenant/{t}/jobs/{job}/canceled-log"), query)).await {
        Err(ReadError::NotFound) => return Ok(false),
        other => other?,
    };
    let latest =
        log["data"].as_array().and_then(|d| d.iter().max_by_key(|e| e["createdOn"].as_str().map(str::to_owned)));
    Ok(latest.is_some_and(|e| is_no_show_reason(e["name"].as_str().unwrap_or(""))))
}

/// "No show", "No-show", "Customer no show", "noshow".
pub(crate) fn is_no_show_reason(name: &str) -> bool {
    let squeezed: String = name.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
    squeezed.contains("noshow")
}

/// An appointment and, through its job (appointments carry no customer), the customer.
async fn appointment(settings: &ServiceTitanSettings, appointment: i64) -> Result<(Value, Facts), ReadError> {
    let t = settings.tenant_id;
    let mut a = fetch_json(settings, get(format!("/jpm/v2/tenant/{t}/appointments/{appointment}"), vec![])).await?;
    let Some(job_id) = id(&a["jobId"]) else { return Err(ReadError::NotFound) };
    let job = fetch_json(settings, get(format!("/jpm/v2/tenant/{t}/jobs/{job_id}"), vec![])).await?;
    let status = serde_json::from_value(a["status"].clone()).unwrap_or(AppointmentStatus::Other);
    let starts = time(&a["arrivalWindowStart"]).or_else(|| time(&a["start"]));
    let ends = time(&a["arrivalWindowEnd"]).or_else(|| time(&a["end"]));
    // Without a start and end there is nothing to remind of: as good as not there.
    let (Some(starts_on), Some(ends_on)) = (starts, ends) else { return Err(ReadError::NotFound) };
    let no_show = status == AppointmentStatus::Canceled
        && job["jobStatus"] == "Canceled"
        && cancelled_for_no_show(settings, job_id).await?;
    a["customerId"] = job["customerId"].clone();
    Ok((a, Facts::Appointment { job_id, status, starts_on, ends_on, no_show }))
}

/// The ids of a job's appointments (`appointments?jobId=`).
pub(crate) async fn appointments_of(settings: &ServiceTitanSettings, job: i64) -> Result<Vec<i64>, ReadError> {
    let t = settings.tenant_id;
    let query = vec![("jobId".to_string(), job.to_string()), ("pageSize".to_string(), "50".to_string())];
    let page = fetch_json(settings, get(format!("/jpm/v2/tenant/{t}/appointments"), query)).await?;
    let list = page["data"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    Ok(list.iter().filter(|a| id(&a["jobId"]) == Some(job)).filter_map(|a| id(&a["id"])).collect())
}

/// A payment through `payments?ids=` (there is no get by id), with the invoices it applies to.
async fn payment(settings: &ServiceTitanSettings, payment: i64) -> Result<(Value, Facts), ReadError> {
    let t = settings.tenant_id;
    let query = vec![("ids".to_string(), payment.to_string())];
    let page = fetch_json(settings, get(format!("/accounting/v2/tenant/{t}/payments"), query)).await?;
    let Some(p) = page["data"].as_array().and_then(|d| d.iter().find(|p| id(&p["id"]) == Some(payment))) else {
        return Err(ReadError::NotFound);
    };
    let invoice_ids = p["appliedTo"].as_array().into_iter().flatten().filter_map(|a| id(&a["appliedTo"])).collect();
    let mut p = p.clone();
    p["customerId"] = p["customer"]["id"].clone();
    Ok((p, Facts::Payment { invoice_ids }))
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
    let zone = zone(settings, customer_id).await?.or_else(|| state_zone(&customer["address"]));
    Ok(Contact {
        name: customer["name"].as_str().unwrap_or("").to_string(),
        mobile: mobile.as_ref().and_then(|m| m["value"].as_str()).map(str::to_string),
        mobile_texts_allowed: mobile.as_ref().is_some_and(|m| m["phoneSettings"]["doNotText"].as_bool() != Some(true)),
        email: of_type("Email").and_then(|e| e["value"].as_str().map(str::to_string)),
        zone,
        locale: None,
    })
}

/// The customer's zone for quiet hours: the state of their first active service location
/// (where the customer is), else none (the caller falls back to the billing address).
async fn zone(settings: &ServiceTitanSettings, customer_id: i64) -> Result<Option<Zone>, ReadError> {
    let t = settings.tenant_id;
    let query = vec![("customerId".to_string(), customer_id.to_string()), ("pageSize".to_string(), "5".to_string())];
    let locations = fetch_json(settings, get(format!("/crm/v2/tenant/{t}/locations"), query)).await?;
    let list = locations["data"].as_array().cloned().unwrap_or_default();
    let active =
        list.iter().filter(|l| l["active"].as_bool() != Some(false) && id(&l["customerId"]) == Some(customer_id));
    Ok(active.filter_map(|l| state_zone(&l["address"])).next())
}

fn state_zone(address: &Value) -> Option<Zone> {
    address["state"].as_str().and_then(Zone::for_us_state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_no_show_is_the_cancel_reason_however_the_office_spells_it() {
        for yes in ["No show", "No-show", "NO SHOW", "Customer no show", "noshow"] {
            assert!(is_no_show_reason(yes), "{yes}");
        }
        for no in ["Customer canceled", "Duplicate job", "", "Show up late"] {
            assert!(!is_no_show_reason(no), "{no}");
        }
        assert_eq!(state_zone(&serde_json::json!({"state": "FL"})), Zone::for_us_state("FL"));
        assert_eq!(state_zone(&serde_json::json!({"state": null})), None);
    }
}

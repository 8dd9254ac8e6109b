//! The office's follow-up page: `GET /v1/admin/followups?site=[&customer=]` as plain
//! HTML when the client asks for `text/html` (or `?format=html`), else the JSON list.
//! Pending, sent, skipped, halted, cancelled and failed follow-ups, each with its reason
//! and times, one table per status; a customer filter; a cancel button per pending one,
//! posting to `POST /v1/admin/followups/cancel` (→ the customer object's `/cancel`).
//!
//! Everything that came from a homeowner or ServiceTitan (names, numbers, addresses,
//! message texts, reasons) is HTML-escaped; the page has no script, and its CSP allows
//! none, forms only to itself, and no framing (the cancel button cannot be clickjacked).
//! A cancel from another origin (a browser's `Origin` header that is not ours) is 403.

use booking_core::servicetitan::iso8601;
use booking_core::signing::parse_form;
use serde_json::{json, Value};
use worker::{Env, Request, Response, Result};

use crate::http::{error, json_reply, read_body_within, Cors};

/// The statuses in the order the office reads them.
const STATUSES: [(&str, &str); 6] = [
    ("pending", "Pending"),
    ("sent", "Sent"),
    ("skipped", "Skipped"),
    ("halted", "Halted (the customer opted out)"),
    ("cancelled", "Cancelled"),
    ("failed", "Failed"),
];

/// A cancel request is a few fields.
const MAX_CANCEL_BYTES: usize = 4 * 1024;

/// `GET /v1/admin/followups`: the list as JSON or the page, optionally one customer's.
pub(crate) async fn followups(req: &Request, env: &Env, q: impl Fn(&str) -> Option<String>) -> Result<Response> {
    let customer = match q("customer").filter(|c| !c.trim().is_empty()) {
        None => None,
        Some(c) => match c.trim().parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => return error(400, "?customer= must be a ServiceTitan customer id (a number)", &Cors::none()),
        },
    };
    let mut listed = super::list(env, q("site").as_deref()).await?;
    if listed.status_code() != 200 {
        return Ok(listed);
    }
    let mut list: Value = listed.json().await?;
    let everyone = list["customers"].as_array().cloned().unwrap_or_default();
    if let Some(id) = customer {
        list["customers"] = Value::Array(everyone.iter().filter(|c| c["customerId"] == id).cloned().collect());
    }
    if !wants_html(req, q("format").as_deref())? {
        return json_reply(200, &list, &Cors::none());
    }
    html_reply(200, &render(&list, &everyone, customer))
}

fn wants_html(req: &Request, format: Option<&str>) -> Result<bool> {
    if let Some(f) = format {
        return Ok(f.eq_ignore_ascii_case("html"));
    }
    Ok(req.headers().get("accept")?.is_some_and(|a| a.to_ascii_lowercase().contains("text/html")))
}

/// A page with the headers that keep it inert and unframed.
pub(crate) fn html_reply(status: u16, page: &str) -> Result<Response> {
    let mut r = Response::ok(page)?.with_status(status);
    let h = r.headers_mut();
    h.set("content-type", "text/html; charset=utf-8")?;
    h.set("cache-control", "no-store")?;
    h.set(
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    )?;
    h.set("x-content-type-options", "nosniff")?;
    h.set("referrer-policy", "no-referrer")?;
    Ok(r)
}

/// Text for HTML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn when(v: &Value) -> String {
    v.as_i64().map(iso8601).unwrap_or_default()
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222}table{border-collapse:collapse;width:100%;margin-bottom:1.5rem}th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f3f3f3}.msg{white-space:pre-wrap;max-width:28rem}.opted{color:#a00}";

/// The whole page. `shown`: the list (filtered); `everyone`: every customer (the filter's choices).
fn render(shown: &Value, everyone: &[Value], customer: Option<i64>) -> String {
    let site = text(&shown["site"]);
    let customers = shown["customers"].as_array().cloned().unwrap_or_default();
    let mut page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Follow-ups · {s}</title>\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><style>{STYLE}</style></head><body>\
         <h1>Follow-ups for {s}</h1>\n",
        s = esc(&site)
    );
    page.push_str(&filter_form(&site, everyone, customer));
    for (status, title) in STATUSES {
        let rows: Vec<String> = customers
            .iter()
            .flat_map(|c| {
                let items = c["followUps"].as_array().cloned().unwrap_or_default();
                items.into_iter().filter(|f| f["status"] == status).map(|f| row(&site, c, &f)).collect::<Vec<_>>()
            })
            .collect();
        page.push_str(&format!(
            "<section id=\"{status}\" data-status=\"{status}\"><h2>{title} ({n})</h2>\n",
            n = rows.len()
        ));
        if rows.is_empty() {
            page.push_str("<p>None.</p></section>\n");
            continue;
        }
        page.push_str(
            "<table><thead><tr><th>Customer</th><th>Follow-up</th><th>To</th><th>Times</th>\
             <th>Reason</th><th>Message</th><th></th></tr></thead><tbody>\n",
        );
        page.push_str(&rows.concat());
        page.push_str("</tbody></table></section>\n");
    }
    page.push_str("</body></html>\n");
    page
}

fn filter_form(site: &str, everyone: &[Value], customer: Option<i64>) -> String {
    let mut options = String::from("<option value=\"\">All customers</option>");
    for c in everyone {
        let Some(id) = c["customerId"].as_i64() else { continue };
        let selected = if customer == Some(id) { " selected" } else { "" };
        let name = esc(&text(&c["name"]));
        options.push_str(&format!("<option value=\"{id}\"{selected}>{name} (#{id})</option>"));
    }
    format!(
        "<form method=\"get\" action=\"/v1/admin/followups\"><input type=\"hidden\" name=\"site\" value=\"{s}\">\
         <input type=\"hidden\" name=\"format\" value=\"html\"><label>Customer <select name=\"customer\">{options}\
         </select></label> <button type=\"submit\">Show</button></form>\n",
        s = esc(site)
    )
}

fn row(site: &str, customer: &Value, f: &Value) -> String {
    let id = text(&f["id"]);
    let cid = customer["customerId"].as_i64().unwrap_or_default();
    let opted = match customer["optedOut"].as_i64() {
        Some(t) => format!("<br><span class=\"opted\">opted out {}</span>", iso8601(t)),
        None => String::new(),
    };
    let about = format!("{} {}", text(&f["about"]["entity"]), text(&f["about"]["id"]));
    let step = f["step"].as_i64().filter(|s| *s > 1).map(|s| format!(", step {s}")).unwrap_or_default();
    let mut times = format!("scheduled {}<br>due {}", when(&f["scheduledAt"]), when(&f["due"]));
    if f["status"] == "pending" {
        times.push_str(&format!("<br>next try {}", when(&f["nextTry"])));
    } else if !f["settledAt"].is_null() {
        times.push_str(&format!("<br>{} {}", esc(&text(&f["status"])), when(&f["settledAt"])));
    }
    let cancel = if f["status"] == "pending" {
        format!(
            "<form method=\"post\" action=\"/v1/admin/followups/cancel\"><input type=\"hidden\" name=\"site\" value=\"{}\">\
             <input type=\"hidden\" name=\"customer\" value=\"{cid}\"><input type=\"hidden\" name=\"id\" value=\"{}\">\
             <button type=\"submit\">Cancel</button></form>",
            esc(site),
            esc(&id)
        )
    } else {
        String::new()
    };
    format!(
        "<tr data-id=\"{}\" data-customer=\"{cid}\"><td>{} (#{cid}){opted}</td><td>{} ({}{step})<br>about {}</td>\
         <td>{}</td><td>{times}</td><td>{}</td><td class=\"msg\">{}</td><td>{cancel}</td></tr>\n",
        esc(&id),
        esc(&text(&customer["name"])),
        esc(&text(&f["recipe"])),
        esc(&text(&f["channel"])),
        esc(&about),
        esc(&text(&f["to"])),
        esc(&text(&f["reason"])),
        esc(&text(&f["text"])),
    )
}

/// `POST /v1/admin/followups/cancel`: `site`, `customer` (or `customerId`) and `id`, as a
/// form (the page's button: answered with a redirect back to the page) or JSON
/// (answered `{"cancelled": true|false}`).
pub(crate) async fn cancel(req: &Request, env: &Env) -> Result<Response> {
    let none = Cors::none();
    if !same_origin(req)? {
        return error(403, "cancel from another origin refused", &none);
    }
    let Some(body) = read_body_within(req, MAX_CANCEL_BYTES).await? else { return error(413, "body too large", &none) };
    let is_json = req.headers().get("content-type")?.is_some_and(|t| t.to_ascii_lowercase().contains("json"));
    let (site, customer, id) = match cancel_fields(&body, is_json) {
        Ok(f) => f,
        Err(why) => return error(400, why, &none),
    };
    if crate::config::site(env, &site).is_none() {
        return error(400, "unknown site", &none);
    }
    // The id names its customer: an id of another customer cancels nothing anywhere.
    if !id.starts_with(&format!("fu:{site}:{customer}:")) {
        return error(400, "that follow-up id is not this customer's", &none);
    }
    let mut answer = super::call(env, &site, &customer.to_string(), "/cancel", json!({"id": id}).to_string()).await?;
    if answer.status_code() != 200 {
        worker::console_error!("cancel {id}: customer object answered {}", answer.status_code());
        return error(502, "the customer's follow-ups could not be reached; try again", &none);
    }
    let cancelled = answer.json::<Value>().await?["cancelled"].as_bool().unwrap_or(false);
    if is_json {
        return json_reply(200, &json!({"cancelled": cancelled}), &none);
    }
    let mut back = Response::empty()?.with_status(303);
    back.headers_mut().set("location", &format!("/v1/admin/followups?site={site}&format=html&customer={customer}"))?;
    Ok(back)
}

/// No `Origin` (not a browser form) or our own.
pub(crate) fn same_origin(req: &Request) -> Result<bool> {
    let Some(origin) = req.headers().get("origin")? else { return Ok(true) };
    // A browser's own verdict first: behind a proxy (wrangler dev, a custom domain) the
    // URL the worker sees may name another host than the one the browser posted to
    // (regression: the owner page's test booking button was refused as cross-origin).
    if let Some(site) = req.headers().get("sec-fetch-site")? {
        return Ok(site == "same-origin");
    }
    let url = req.url()?;
    Ok(origin.trim_end_matches('/') == url.origin().ascii_serialization())
}

/// `(site, customer, id)` from the body, or what is wrong with it.
fn cancel_fields(body: &[u8], is_json: bool) -> std::result::Result<(String, i64, String), &'static str> {
    let text = String::from_utf8_lossy(body);
    let fields: Vec<(String, String)> = if is_json {
        let v: Value = serde_json::from_str(&text).map_err(|_| "body is not JSON")?;
        let object = v.as_object().ok_or("body is not a JSON object")?;
        object
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.clone(),
                    v.as_str().map_or_else(|| v.as_i64().map(|n| n.to_string()), |s| Some(s.to_string()))?,
                ))
            })
            .collect()
    } else {
        parse_form(&text)
    };
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let site = get("site").filter(|s| !s.is_empty()).ok_or("give site")?;
    let customer = get("customer").or_else(|| get("customerId")).and_then(|c| c.trim().parse::<i64>().ok());
    let customer = customer.filter(|c| *c > 0).ok_or("give customer (the ServiceTitan customer id)")?;
    let id = get("id").filter(|i| !i.is_empty() && i.len() <= 512).ok_or("give id (the follow-up's id)")?;
    Ok((site, customer, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> Value {
        json!({"site": "northstar", "customers": [{
        "customerId": 5004, "name": "<script>alert(1)</script> Fatima", "optedOut": null,
        "followUps": [
            {"id": "fu:northstar:5004:dunningSms:invoice:9", "recipe": "dunningSms", "channel": "sms",
             "about": {"entity": "invoice", "id": 9}, "step": 1, "status": "pending",
             "reason": "quiet hours <b>", "scheduledAt": 0, "due": 60, "nextTry": 120, "settledAt": null,
             "to": "+16125550144", "text": null},
            {"id": "fu:northstar:5004:dunningEmail:invoice:9", "recipe": "dunningEmail", "channel": "email",
             "about": {"entity": "invoice", "id": 9}, "step": 2, "status": "sent", "reason": "sent",
             "scheduledAt": 0, "due": 60, "nextTry": 60, "settledAt": 61, "to": "f@x.test",
             "text": "Hi \"Fatima\" & co"}
        ]}]})
    }

    #[test]
    fn homeowner_text_is_escaped_and_only_pending_ones_can_be_cancelled() {
        let l = list();
        let page = render(&l, l["customers"].as_array().unwrap(), None);
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; Fatima"));
        assert!(page.contains("quiet hours &lt;b&gt;"));
        assert!(page.contains("Hi &quot;Fatima&quot; &amp; co"));
        assert_eq!(page.matches("action=\"/v1/admin/followups/cancel\"").count(), 1);
        assert!(page.contains("<h2>Pending (1)</h2>") && page.contains("<h2>Sent (1)</h2>"));
        assert!(page.contains("1970-01-01T00:02:00Z"), "the pending one's next try");
    }

    #[test]
    fn cancel_fields_come_as_a_form_or_json() {
        let form = b"site=northstar&customer=5004&id=fu%3Anorthstar%3A5004%3Ax";
        assert_eq!(cancel_fields(form, false), Ok(("northstar".into(), 5004, "fu:northstar:5004:x".into())));
        let json = br#"{"site":"northstar","customerId":5004,"id":"fu:northstar:5004:x"}"#;
        assert_eq!(cancel_fields(json, true), Ok(("northstar".into(), 5004, "fu:northstar:5004:x".into())));
        assert!(cancel_fields(b"site=northstar&customer=abc&id=x", false).is_err());
        assert!(cancel_fields(b"{", true).is_err());
    }
}

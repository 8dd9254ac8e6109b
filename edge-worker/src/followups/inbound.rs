//! `POST /v1/webhooks/twilio/{site}/sms`: a text from a customer, Twilio-signed exactly
//! like the voice webhooks (`X-Twilio-Signature` with the site's token; a bad or missing
//! one is 403 and nothing is read or written).
//!
//! A STOP word (booking-core's `Keyword::of`, or Twilio's own `OptOutType=STOP` for
//! Advanced Opt-Out keywords) is first written to the site's opt-out list in KV
//! (`o/{site}/{+1XXXXXXXXXX}`, booking-core's `OptOutEntry`: `{"body","at","stoppedAtMs"}`),
//! so from that moment no follow-up of any recipe to that number goes out from any
//! customer (`send::deliver` reads the list before every send). START keeps the entry and
//! adds `startedAtMs`: a follow-up scheduled before the START is still halted (an object
//! that missed the STOP would otherwise send it), new ones go; a new STOP replaces the
//! entry. Then the text goes to the `/inbound` of every customer object that
//! follows up on that number, found in the phones index `p/{site}/{+1XXXXXXXXXX}/{id}`
//! (written from each object's `phones()`), where the engine halts, resumes and notes.
//! The answer is an empty `<Response/>`: Twilio sends its own STOP/START/HELP replies.

use booking_core::followup::{Keyword, OptOutEntry};
use booking_core::voice::e164;
use serde_json::json;
use worker::{Date, Env, Request, Response, Result};

use crate::voice::twilio;

/// The empty TwiML answer: nothing to send back.
const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

fn opt_out_key(site: &str, number: &str) -> String {
    format!("o/{site}/{number}")
}

fn phone_prefix(site: &str, number: &str) -> String {
    format!("p/{site}/{number}/")
}

/// The inbound SMS webhook.
pub(crate) async fn sms(req: Request, env: &Env, site_id: &str) -> Result<Response> {
    // An unknown site has no token: refused like a forged request.
    if crate::config::site(env, site_id).is_none() {
        return twilio::forbidden();
    }
    let Some(signed) = twilio::signed(&req, env, site_id).await? else { return twilio::forbidden() };
    let (Some(from), Some(sid)) = (signed.given("From").and_then(e164), twilio::call_sid(signed.get("MessageSid")))
    else {
        return Response::error("no From or MessageSid", 400);
    };
    let body = signed.get("Body").unwrap_or("").to_string();
    let now = Date::now().as_millis();
    match keyword(&body, signed.given("OptOutType")) {
        Keyword::Stop => {
            let entry = OptOutEntry::stop(&body, now as i64);
            kv(env)?.put(&opt_out_key(site_id, &from), entry.to_stored())?.execute().await?;
        }
        // Kept with the START's time: a follow-up scheduled before it stays halted.
        Keyword::Start => {
            if let Some(mut entry) = opt_out_entry(env, site_id, &from).await? {
                if entry.start(now as i64) {
                    kv(env)?.put(&opt_out_key(site_id, &from), entry.to_stored())?.execute().await?;
                }
            }
        }
        Keyword::Help | Keyword::Reply => {}
    }
    for customer in customers_with(env, site_id, &from).await? {
        let message = json!({"siteId": site_id, "customerId": customer, "from": from, "body": body,
            "messageSid": sid, "atMs": now});
        // The opt-out above already stops every send; a customer object that cannot be
        // reached now misses only the note and the engine's own halt.
        match super::call(env, site_id, &customer.to_string(), "/inbound", message.to_string()).await {
            Ok(r) if (200..300).contains(&r.status_code()) => {}
            Ok(r) => {
                worker::console_error!("inbound text for customer {customer}: object answered {}", r.status_code())
            }
            Err(e) => worker::console_error!("inbound text for customer {customer}: {e}"),
        }
    }
    twilio::twiml(EMPTY_TWIML.to_string())
}

/// A call from `from` reached the voice agent: each customer whose follow-ups use that
/// number gets a "called back" note (engine `call_in`), once per CallSid. Failures are
/// logged; the call goes on regardless.
pub(crate) async fn call_in(env: &Env, site: &str, from: &str, call_sid: &str) {
    let Some(number) = e164(from) else { return };
    let customers = match customers_with(env, site, &number).await {
        Ok(c) => c,
        Err(e) => return worker::console_error!("call-in lookup for {site}: {e}"),
    };
    let at_ms = Date::now().as_millis();
    for customer in customers {
        let body = json!({"callSid": call_sid, "from": number, "atMs": at_ms}).to_string();
        match super::call(env, site, &customer.to_string(), "/call-in", body).await {
            Ok(r) if (200..300).contains(&r.status_code()) => {}
            Ok(r) => worker::console_error!("call-in for customer {customer}: object answered {}", r.status_code()),
            Err(e) => worker::console_error!("call-in for customer {customer}: {e}"),
        }
    }
}

/// What the text means: Twilio's `OptOutType` (its Advanced Opt-Out keywords) when it
/// says STOP or START, else booking-core's reading of the whole message.
fn keyword(body: &str, opt_out_type: Option<&str>) -> Keyword {
    match opt_out_type.map(str::to_ascii_uppercase).as_deref() {
        Some("STOP") => Keyword::Stop,
        Some("START") => Keyword::Start,
        _ => Keyword::of(body),
    }
}

fn kv(env: &Env) -> Result<worker::kv::KvStore> {
    env.kv("TRANSCRIPTS")
}

/// `number`'s entry on the site's opt-out list (opted out, or back since a START), if it
/// ever texted STOP. What it means for a send is booking-core's (`opt_out::refusal`).
pub(crate) async fn opt_out_entry(env: &Env, site: &str, number: &str) -> Result<Option<OptOutEntry>> {
    let Some(number) = e164(number) else { return Ok(None) };
    let text = kv(env)?.get(&opt_out_key(site, &number)).text().await?;
    Ok(text.as_deref().map(OptOutEntry::from_stored))
}

/// Indexes a customer's numbers so a text from one reaches this customer's object.
pub(crate) async fn remember_phones(env: &Env, site: &str, customer: i64, phones: &[String]) -> Result<()> {
    let kv = kv(env)?;
    for phone in phones.iter().filter_map(|p| e164(p)) {
        kv.put(&format!("{}{customer}", phone_prefix(site, &phone)), "1")?.execute().await?;
    }
    Ok(())
}

/// The customers whose follow-ups text or call `number`.
async fn customers_with(env: &Env, site: &str, number: &str) -> Result<Vec<i64>> {
    let prefix = phone_prefix(site, number);
    let page = kv(env)?.list().prefix(prefix.clone()).execute().await?;
    Ok(page.keys.iter().filter_map(|k| k.name.strip_prefix(&prefix)?.parse::<i64>().ok()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_opt_out_type_wins_and_the_body_counts_otherwise() {
        assert_eq!(keyword("Arrêt", Some("STOP")), Keyword::Stop);
        assert_eq!(keyword("whatever", Some("start")), Keyword::Start);
        assert_eq!(keyword("stop", None), Keyword::Stop);
        assert_eq!(keyword("Stop texting me please", None), Keyword::Reply);
        assert_eq!(keyword("START", Some("HELP")), Keyword::Start);
    }
}

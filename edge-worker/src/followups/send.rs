//! One follow-up out, on its channel: SMS (Twilio Messages, `sms.rs`), email (the
//! configured HTTP email API, `email.rs`) or an AI voice call (Twilio Calls starting the
//! voice agent, `calls.rs`). Whether and what to send is booking-core's; this moves it.
//!
//! Before any send the site's opt-out list is read (`o/{site}/{+1XXXXXXXXXX}` in KV,
//! written by the inbound SMS route the moment a number texts STOP, kept with the time of
//! a later START) for the recipient (a text or call: its number; an email: every number
//! of the customer), and booking-core's `opt_out::refusal` decides: a number still out is
//! refused here as Twilio refuses an unsubscribed number (21610), so the engine ends that
//! recipient's sequence the same way; a number back since a START refuses a follow-up
//! scheduled before that START (`SendResult::ScheduledBeforeStart`: the engine halts that
//! one alone). The entry's real times go through the object's `engine_time` first (the
//! engine's clock is compressed in tests). This catches a customer whose object did not
//! exist, or was not found by number, when the STOP came in.
//!
//! [`look_up`]: before a send whose earlier try got no answer (`maybe_sent`), the provider
//! is asked whether it went (Twilio: the messages or calls to that number since the first
//! try; email: the API's `Idempotency-Key`, which makes a repeat a no-op at the provider).

use booking_core::followup::{opt_out, Channel, Outgoing, SendResult};
use worker::Env;

use super::{calls, email, inbound, sms};

/// Sends `out` for `site`. `phones` are the customer's numbers (for an email, any of them
/// opted out refuses it).
/// `engine_time`: the engine's time for a real moment in ms (the object's clock).
pub(crate) async fn deliver(
    env: &Env,
    site: &str,
    out: &Outgoing,
    phones: &[String],
    engine_time: impl Fn(i64) -> i64,
) -> SendResult {
    if let Some(refused) = refused_by_opt_out(env, site, out, phones, engine_time).await {
        return refused;
    }
    match out.channel {
        Channel::Sms => sms::send(env, site, &out.to, &out.text).await,
        Channel::Email => email::send(env, site, out).await,
        Channel::Voice => calls::place(env, site, out).await,
    }
}

/// Was this keyed send already made at the provider (`Some(Sent)`), is it safe to send
/// again (`None`), or could the provider not be asked (`Some(Unknown)`: ask again later)?
/// `since_ms`: when the first try began (real ms).
pub(crate) async fn look_up(env: &Env, site: &str, out: &Outgoing, since_ms: f64) -> Option<SendResult> {
    match out.channel {
        Channel::Sms => sms::look_up(env, site, &out.to, &out.text, since_ms).await,
        Channel::Voice => calls::look_up(env, site, &out.to, since_ms).await,
        // The API deduplicates on the follow-up's key: sending again is the look-up.
        Channel::Email => None,
    }
}

/// The refusal for a recipient on the site's opt-out list, if any (booking-core decides).
async fn refused_by_opt_out(
    env: &Env,
    site: &str,
    out: &Outgoing,
    phones: &[String],
    engine_time: impl Fn(i64) -> i64,
) -> Option<SendResult> {
    let numbers: Vec<&str> = match out.channel {
        Channel::Sms | Channel::Voice => vec![out.to.as_str()],
        Channel::Email => phones.iter().map(String::as_str).collect(),
    };
    let mut entries = Vec::new();
    for number in numbers {
        match inbound::opt_out_entry(env, site, number).await {
            Ok(Some(entry)) => entries.push((number, entry)),
            Ok(None) => {}
            // Unknown is not "allowed": the engine retries later.
            Err(e) => return Some(SendResult::Failed { code: None, detail: format!("opt-out list unreadable: {e}") }),
        }
    }
    opt_out::refusal(entries.iter().map(|(n, e)| (*n, e)), out.scheduled_at, engine_time)
}

/// The customer id in a follow-up key (`fu:{site}:{customerId}:...`).
pub(crate) fn customer_of(site: &str, key: &str) -> Option<i64> {
    key.strip_prefix("fu:")?.strip_prefix(site)?.strip_prefix(':')?.split(':').next()?.parse().ok()
}

/// Twilio's `date_created` (RFC 2822, `Wed, 02 Dec 2026 06:57:19 +0000`) as Unix seconds.
pub(crate) fn rfc2822_seconds(s: &str) -> Option<i64> {
    let rest = s.split_once(',').map_or(s, |(_, r)| r).trim();
    let parts: Vec<&str> = rest.split_whitespace().collect();
    let [day, month, year, time, zone] = parts.as_slice() else { return None };
    if !matches!(*zone, "+0000" | "GMT" | "UTC" | "-0000") {
        return None;
    }
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let m = MONTHS.iter().position(|x| x.eq_ignore_ascii_case(month))? + 1;
    let day: u32 = day.parse().ok()?;
    booking_core::servicetitan::parse_iso8601(&format!("{year}-{m:02}-{day:02}T{time}Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_customer_is_read_from_the_follow_up_key() {
        assert_eq!(customer_of("northstar", "fu:northstar:5004:dunningEmail:invoice:9:step2"), Some(5004));
        assert_eq!(customer_of("northstar", "fu:other:5004:dunningEmail:invoice:9"), None);
        assert_eq!(customer_of("north", "fu:northstar:5004:x"), None);
        assert_eq!(customer_of("northstar", "garbage"), None);
    }

    #[test]
    fn twilio_dates_are_read() {
        assert_eq!(rfc2822_seconds("Thu, 01 Jan 1970 00:01:00 +0000"), Some(60));
        assert_eq!(rfc2822_seconds("Wed, 02 Dec 2026 06:57:19 GMT"), rfc2822_seconds("Wed, 2 Dec 2026 06:57:19 +0000"));
        assert_eq!(rfc2822_seconds("Wed, 02 Dec 2026 06:57:19 +0200"), None);
        assert_eq!(rfc2822_seconds("yesterday"), None);
    }
}

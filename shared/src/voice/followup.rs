//! A follow-up call (issue 15): the business calls a customer about an estimate it sent.
//! The follow-up engine places the call through Twilio with the reason in the
//! `/incoming` URL's query (`followUp`, `customer`, `estimate`, `recipe`); this module
//! reads it, says why we call (an automated assistant, the business, the estimate) with a
//! way out, and hears that way out ("stop", "don't call me", "no me llame").
//! Anything else and the call goes on as a booking call.
//!
//! Why whole phrases and not a word anywhere: "the leak won't stop" or "can you stop by
//! tomorrow" are a customer who wants a visit, not one who wants no calls. A single word
//! counts only when it is (nearly) the whole answer: "stop", "stop please", "alto".

use serde::{Deserialize, Serialize};

use crate::booking::Locale;
use crate::text;

/// Why the business calls: the query of the follow-up call's `/incoming` URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowUpCall {
    /// The follow-up's key in the engine (`followUp`).
    pub key: String,
    /// The ServiceTitan customer called (`customer`): whose object hears an opt-out.
    pub customer_id: i64,
    /// The estimate the call is about (`estimate`), when there is one.
    pub estimate_id: Option<i64>,
    /// The recipe that placed the call (`recipe`).
    pub recipe: String,
}

/// Longest `followUp` key and `recipe` we take (ours are far shorter).
const MAX_FIELD: usize = 120;

impl FollowUpCall {
    /// Reads the query pairs of `/incoming`; `None` when it is no follow-up call or a
    /// value is not one the engine writes (no key, a customer that is not a positive
    /// number, characters outside ids).
    pub fn from_query<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<FollowUpCall> {
        let (mut key, mut customer, mut estimate, mut recipe) = (None, None, None, String::new());
        for (k, v) in pairs {
            match k {
                "followUp" => key = Some(v.to_string()),
                "customer" => customer = Some(v.parse::<i64>().ok().filter(|c| *c > 0)?),
                "estimate" if !v.is_empty() => estimate = Some(v.parse::<i64>().ok().filter(|e| *e > 0)?),
                "recipe" => recipe = v.to_string(),
                _ => {}
            }
        }
        let key = key.filter(|k| id_like(k))?;
        if !recipe.is_empty() && !id_like(&recipe) {
            return None;
        }
        Some(FollowUpCall { key, customer_id: customer?, estimate_id: estimate, recipe })
    }
}

/// Letters, digits and `-_:.`, at most [`MAX_FIELD`]: what the engine's keys are made of.
fn id_like(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_FIELD && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_:.".contains(&b))
}

/// The first words of a follow-up call: an automated assistant (some states require it),
/// for whom, why it calls, how to stop the calls, the recording notice and the Spanish
/// offer when they apply, then the conversation's question.
pub fn greeting(business: &str, locale: Locale, offer_spanish: bool, recorded: bool) -> String {
    let es = locale == Locale::Es;
    let mut s = if es {
        format!("Hola, le habla el asistente automático de {business}. Le llamamos por el presupuesto que le enviamos. Si prefiere que no le llamemos más, diga alto.")
    } else {
        format!("Hi, this is the automated assistant for {business}, calling about the estimate we sent you. If you'd rather we didn't call again, just say stop.")
    };
    if recorded {
        s.push_str(if es { " Esta llamada se graba." } else { " This call is recorded." });
    }
    if offer_spanish && !es {
        s.push_str(" Para español, diga español u oprima el dos.");
    }
    s.push_str(if es {
        " Si desea seguir adelante o tiene preguntas, dígame qué necesita y le programo una visita."
    } else {
        " If you'd like to go ahead or have questions, tell me what you need and I can book a visit."
    });
    s
}

/// The goodbye after an opt-out.
pub fn opted_out_goodbye(business: &str, locale: Locale) -> String {
    match locale {
        Locale::Es => format!("Entendido, no le volveremos a llamar por esto. Gracias, y que tenga buen día de parte de {business}. Adiós."),
        Locale::En => format!("Understood, we won't call you about this again. Thank you from {business}, and goodbye."),
    }
}

/// Words that alone are the whole answer "no more calls".
const ALONE: &str = "stop|alto|pare|basta|unsubscribe";
/// Words that may go with an [`ALONE`] word without changing it.
const FILLER: &str = "please|now|just|it|por|favor|ya|ok|okay|yes|sí|si";
/// Phrases that ask for no more calls wherever they are said.
const PHRASES: &str = "stop calling|don't call|dont call|do not call|no more calls|take me off|remove me|\
never call|quit calling|no me llame|no me llamen|no nos llame|no nos llamen|no vuelva a llamar|no vuelvan a llamar|\
deje de llamar|dejen de llamar|no más llamadas|no mas llamadas|quíteme de|quiteme de|bórreme|borreme";
/// After "don't call", these make it a time, not a refusal ("don't call before noon").
const WHEN: &str = "before|after|until|till|at|on|in|during|between|antes|después|despues|hasta|entre";

/// Whether the customer asked for no more calls.
pub fn wants_no_calls(said: &str) -> bool {
    let said = said.replace('\u{2019}', "'");
    let words: Vec<String> = said
        .split_whitespace()
        .map(|w| text::lowercase(w.trim_matches(|c: char| !(text::is_letter(c) || c == '\''))))
        .filter(|w| !w.is_empty())
        .collect();
    let alone = words.iter().any(|w| text::listed(ALONE, w))
        && words.len() <= 4
        && words.iter().all(|w| text::listed(ALONE, w) || text::listed(FILLER, w));
    alone || phrase_said(&words)
}

/// A [`PHRASES`] entry said, and not followed by a time ([`WHEN`]) within two words.
fn phrase_said(words: &[String]) -> bool {
    let joined = format!(" {} ", words.join(" "));
    text::entries(PHRASES).any(|p| {
        let Some(at) = joined.find(&format!(" {p} ")) else { return false };
        let after = joined.get(at + p.len() + 2..).unwrap_or("");
        !after.split_whitespace().take(2).any(|w| text::listed(WHEN, w))
    })
}

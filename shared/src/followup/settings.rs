//! A site's follow-up settings (`followUps` in the site JSON). Every field has the seeds'
//! default (`../shared/seeds/000_*`), so `{}` or no `followUps` at all is the default set.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::clock::Zone;
use super::Recipe;
use crate::booking::Locale;

/// A site's follow-up settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FollowUpSettings {
    /// Master switch: off means nothing is scheduled for this site.
    pub enabled: bool,
    /// Estimate sent → SMS after this many hours, if still open.
    pub estimate_sms: After,
    /// Estimate sent → AI voice call after this many hours, if still unsigned.
    pub estimate_call: After,
    /// Estimate viewed and not sold → SMS after this many hours (0: at once); it replaces
    /// the estimate's SMS when that one has not gone yet.
    pub estimate_viewed: After,
    /// Appointment scheduled → reminder the day before.
    pub job_reminder: Reminder,
    /// Job completed → review request.
    pub review_request: Review,
    /// Invoice overdue → SMS and email on a cadence until paid.
    pub dunning: Dunning,
    /// No-show (a job or appointment cancelled for a no-show) → SMS to rebook.
    pub no_show: After,
    /// No message outside these local hours of the customer.
    pub quiet_hours: QuietHours,
    /// At most this many follow-ups per customer in any 24 h (Florida and Oklahoma: 3).
    pub max_per_day: u8,
    /// What the ServiceTitan notes carry.
    pub notes: NoteSettings,
    /// Per language, per recipe: the message. Placeholders `{firstName}`,
    /// `{businessName}`, `{link}`, `{when}` (reminders), `{amount}` and `{invoice}`
    /// (dunning). The first line of an email template is its subject. A recipe without
    /// a template here uses the built-in one.
    pub templates: BTreeMap<Locale, BTreeMap<Recipe, String>>,
    /// The links the messages carry; `{id}` is replaced by the estimate, invoice or job id.
    pub links: Links,
    /// The customers' time zone when ServiceTitan's facts do not give one; else the
    /// site's `utcOffsetMinutes` as standard time with US daylight saving.
    pub time_zone: Option<Zone>,
    /// Stop trying to re-check ServiceTitan before a send after this many hours of
    /// failures (the follow-up is skipped, never sent unchecked).
    pub recheck_give_up_hours: u16,
    /// How ServiceTitan signs the webhooks it sends this site (its docs leave it open).
    pub webhook_signature: WebhookSignature,
    /// The email follow-ups' sender, `"Northstar Heating <office@northstar.example>"`;
    /// without one an email follow-up fails visibly (the provider needs a sender).
    pub email_from: Option<String>,
    /// Where the customer's replies to an email go, when not the sender.
    pub email_reply_to: Option<String>,
}

impl Default for FollowUpSettings {
    fn default() -> Self {
        FollowUpSettings {
            enabled: true,
            estimate_sms: After::on(24),
            estimate_call: After::on(72),
            estimate_viewed: After::on(0),
            job_reminder: Reminder::default(),
            review_request: Review::default(),
            dunning: Dunning::default(),
            no_show: After::on(1),
            quiet_hours: QuietHours::default(),
            max_per_day: 3,
            notes: NoteSettings::default(),
            templates: BTreeMap::new(),
            links: Links::default(),
            time_zone: None,
            recheck_give_up_hours: 24,
            webhook_signature: WebhookSignature::default(),
            email_from: None,
            email_reply_to: None,
        }
    }
}

impl FollowUpSettings {
    /// Whether `recipe` is switched on.
    pub fn on(&self, recipe: Recipe) -> bool {
        self.enabled
            && match recipe {
                Recipe::EstimateSms => self.estimate_sms.enabled,
                Recipe::EstimateCall => self.estimate_call.enabled,
                Recipe::EstimateViewed => self.estimate_viewed.enabled,
                Recipe::JobReminder => self.job_reminder.enabled,
                Recipe::ReviewRequest => self.review_request.enabled,
                Recipe::DunningSms => self.dunning.enabled && self.dunning.sms,
                Recipe::DunningEmail => self.dunning.enabled && self.dunning.email,
                Recipe::NoShow => self.no_show.enabled,
            }
    }

    /// What is wrong with these settings, in the owner's words (empty: nothing). For
    /// the site's validation: quiet hours that would allow the night, a text template
    /// without the opt-out words, a call template that does not say it is automated.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = vec![];
        let q = self.quiet_hours;
        if q.start_hour >= q.end_hour || q.end_hour > 24 {
            problems.push(format!("quietHours {}-{} is not a daytime window; 8-20 is used", q.start_hour, q.end_hour));
        }
        for (locale, templates) in &self.templates {
            for (recipe, text) in templates {
                let lower = crate::text::lowercase(text);
                let name = format!("templates.{}.{}", locale.code(), recipe.as_str());
                if text.trim().is_empty() {
                    problems.push(format!("{name} is empty"));
                } else if recipe.channel() == super::Channel::Sms && !lower.contains("stop") {
                    problems.push(format!("{name} must tell the customer how to opt out (\"Reply STOP to opt out\")"));
                } else if recipe.channel() == super::Channel::Voice && !(lower.contains("automat")) {
                    problems.push(format!("{name} must say the call is automated (FCC 24-17)"));
                }
            }
        }
        problems
    }

    /// Seconds from the event to a waiting recipe's message.
    pub(crate) fn delay(&self, recipe: Recipe) -> i64 {
        let (after, default) = match recipe {
            Recipe::EstimateSms => (self.estimate_sms, 24),
            Recipe::EstimateCall => (self.estimate_call, 72),
            Recipe::EstimateViewed => (self.estimate_viewed, 0),
            Recipe::NoShow => (self.no_show, 1),
            Recipe::ReviewRequest => return i64::from(self.review_request.after_hours) * 3600,
            Recipe::JobReminder | Recipe::DunningSms | Recipe::DunningEmail => return 0,
        };
        i64::from(after.after_hours.unwrap_or(default)) * 3600
    }
}

/// A recipe that waits a number of hours after its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct After {
    /// On or off.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Hours after the event; absent: the recipe's default (24 for the estimate's SMS,
    /// 72 for its call, 0 for the viewed SMS, 1 for the no-show SMS).
    #[serde(default)]
    pub after_hours: Option<u16>,
}

impl After {
    fn on(default_hours: u16) -> After {
        After { enabled: true, after_hours: Some(default_hours) }
    }
}

/// The visit reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Reminder {
    /// On or off.
    pub enabled: bool,
    /// Days before the visit (1: the day before).
    pub days_before: u8,
    /// Local hour of that day it is sent at.
    pub at_hour: u8,
    /// Not sent when the visit starts sooner than this many hours away.
    pub min_hours_ahead: u8,
}

impl Default for Reminder {
    fn default() -> Self {
        Reminder { enabled: true, days_before: 1, at_hour: 10, min_hours_ahead: 2 }
    }
}

/// The review request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Review {
    /// On or off.
    pub enabled: bool,
    /// Hours after the job is completed.
    pub after_hours: u16,
    /// At most once per customer in this many days.
    pub once_per_days: u16,
}

impl Default for Review {
    fn default() -> Self {
        Review { enabled: true, after_hours: 2, once_per_days: 30 }
    }
}

/// Dunning: the overdue invoice's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Dunning {
    /// On or off.
    pub enabled: bool,
    /// The first step, this many days after the due date.
    pub overdue_days: u16,
    /// Days between steps.
    pub every_days: u16,
    /// How many steps at most; then the office takes it from there.
    pub steps: u8,
    /// Each step texts.
    pub sms: bool,
    /// Each step emails.
    pub email: bool,
}

impl Default for Dunning {
    fn default() -> Self {
        Dunning { enabled: true, overdue_days: 7, every_days: 7, steps: 4, sms: true, email: true }
    }
}

/// Local hours when follow-ups may go (start inclusive, end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QuietHours {
    /// First hour messages may go, 0-23 (default 8: 8 a.m.).
    pub start_hour: u8,
    /// Hour from which they may not, 1-24 (default 20: 8 p.m., the strictest state rule).
    pub end_hour: u8,
}

impl Default for QuietHours {
    fn default() -> Self {
        QuietHours { start_hour: 8, end_hour: 20 }
    }
}

impl QuietHours {
    /// The hours actually used: a window that is empty or past midnight falls back to the
    /// default rather than allowing the night.
    pub(crate) fn checked(self) -> (i64, i64) {
        if self.start_hour < self.end_hour && self.end_hour <= 24 {
            (i64::from(self.start_hour), i64::from(self.end_hour))
        } else {
            (8, 20)
        }
    }
}

/// What the ServiceTitan notes carry (as Hatch lets the office choose).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NoteSettings {
    /// A follow-up's note includes the message it sent.
    pub outgoing_text: bool,
    /// A reply's note includes what the customer wrote.
    pub incoming_text: bool,
}

impl Default for NoteSettings {
    fn default() -> Self {
        NoteSettings { outgoing_text: true, incoming_text: true }
    }
}

/// Links for the messages; `{id}` is replaced by the estimate, invoice or job id. An
/// empty link is left out of the message; a link ServiceTitan's facts carry wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Links {
    /// The estimate's page.
    pub estimate: String,
    /// The invoice's payment page.
    pub invoice: String,
    /// Where to leave a review.
    pub review: String,
    /// Where to book (or rebook) a visit.
    pub booking: String,
}

/// How ServiceTitan's webhooks are signed: HMAC-SHA256 over the raw body, in a header
/// the subscription names, hex or base64 (the key is a worker secret, never here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WebhookSignature {
    /// The request header carrying the signature.
    pub header: String,
    /// `hex` (either case accepted) or `base64` (standard, with padding).
    pub encoding: SignatureEncoding,
}

/// How a webhook signature is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureEncoding {
    /// Hex.
    Hex,
    /// Standard base64 with padding.
    Base64,
}

impl Default for WebhookSignature {
    fn default() -> Self {
        WebhookSignature { header: "x-servicetitan-signature".into(), encoding: SignatureEncoding::Hex }
    }
}

impl WebhookSignature {
    /// Whether `given` is the signature of `body` under `key`, compared in constant
    /// time. An empty key proves nothing and never matches.
    pub fn matches(&self, key: &[u8], body: &[u8], given: &str) -> bool {
        use hmac::{Hmac, Mac};
        if key.is_empty() {
            return false;
        }
        let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else { return false };
        mac.update(body);
        let digest = mac.finalize().into_bytes();
        let (want, given) = if self.encoding == SignatureEncoding::Base64 {
            (crate::signing::base64(&digest), given.trim().to_string())
        } else {
            (digest.iter().map(|b| format!("{b:02x}")).collect(), given.trim().to_ascii_lowercase())
        };
        want.len() == given.len() && want.bytes().zip(given.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::{SignatureEncoding, WebhookSignature};

    #[test]
    fn webhook_signatures_in_hex_and_base64() {
        // RFC 4231 test case 2.
        let (key, body) = (b"Jefe".as_slice(), b"what do ya want for nothing?".as_slice());
        let hex = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        let hex_sig = WebhookSignature::default();
        assert!(hex_sig.matches(key, body, hex));
        assert!(hex_sig.matches(key, body, &hex.to_ascii_uppercase()));
        assert!(!hex_sig.matches(key, b"what do ya want for nothing!", hex));
        assert!(!hex_sig.matches(b"", body, hex));
        assert!(!hex_sig.matches(key, body, ""));
        let b64 = WebhookSignature { encoding: SignatureEncoding::Base64, ..WebhookSignature::default() };
        assert!(b64.matches(key, body, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="));
        assert!(!b64.matches(key, body, hex));
    }
}

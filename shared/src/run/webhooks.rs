//! The owner's webhooks: events, payloads, stable delivery ids and the retry schedule.
//!
//! A body is `{"event", "createdAt", "data"}`. The shell signs it when it sends
//! (`x-booking-signature`, [`crate::signing::sign_webhook`]) and sets `x-booking-event`
//! and `x-booking-delivery` (the [`Delivery::id`], the same on every retry, for the
//! owner's de-duplication). Deliveries are kept by id, so one queued while another is in
//! flight is never overwritten.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::booking::UnixSeconds;
use crate::signing::sha256_hex;

/// Seconds before each retry after a failed delivery; later retries wait
/// [`RETRY_EVERY`] (ServiceTitan's own first four, so owners see one pattern).
pub const RETRY_DELAYS: [i64; 4] = [10, 30, 60, 300];
/// Between retries once [`RETRY_DELAYS`] is used up.
pub const RETRY_EVERY: i64 = 3600;
/// A delivery not accepted within this long after it was queued is dropped (and the
/// run puts it on the attention list).
pub const DELIVERY_GIVE_UP: i64 = 24 * 3600;
/// A delivery handed out this long ago without an answer (the shell died while
/// sending) is handed out again.
pub const IN_FLIGHT_TIMEOUT: i64 = 120;
/// Without a signing secret deliveries are held, and looked at again this often.
pub const UNSIGNED_RECHECK: i64 = 300;

/// What a webhook tells the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WebhookEvent {
    /// The booking is in ServiceTitan (a job, or a booking for the office).
    #[serde(rename = "session.completed")]
    SessionCompleted,
    /// Contact details were given, then the homeowner left without booking.
    #[serde(rename = "session.qualified_abandoned")]
    SessionQualifiedAbandoned,
    /// ServiceTitan refused the booking, or has not taken it for a day.
    #[serde(rename = "booking.failed")]
    BookingFailed,
    /// Something only the owner can fix or follow up: credentials or API scopes, a
    /// promised window that passed, a conversation the worker could not replay.
    #[serde(rename = "booking.needs_attention")]
    BookingNeedsAttention,
}

impl WebhookEvent {
    /// The wire name (`x-booking-event`, the body's `event`).
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::SessionCompleted => "session.completed",
            WebhookEvent::SessionQualifiedAbandoned => "session.qualified_abandoned",
            WebhookEvent::BookingFailed => "booking.failed",
            WebhookEvent::BookingNeedsAttention => "booking.needs_attention",
        }
    }
}

/// One POST for the shell: sign `body`, send it to `url`, call `on_delivery(id, ..)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Stable across retries (`x-booking-delivery`).
    pub id: String,
    /// The site's `webhook_url`.
    pub url: String,
    /// The event (`x-booking-event`).
    pub event: WebhookEvent,
    /// The JSON body, exactly as signed and sent.
    pub body: String,
}

/// How one delivery attempt went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryResult {
    /// The owner answered 2xx.
    Delivered,
    /// Any other answer; `status` 0 when none came (timeout, connection).
    Failed {
        /// HTTP status, or 0.
        status: u16,
    },
    /// Not sent: the signing secret is unset or empty, and nothing goes out unsigned.
    NotSigned,
}

/// A delivery and its retry state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Pending {
    delivery: Delivery,
    queued_at: UnixSeconds,
    attempts: u32,
    due: UnixSeconds,
    /// Handed out at this time and not answered yet.
    in_flight_since: Option<UnixSeconds>,
}

impl Pending {
    fn ready(&self, now: UnixSeconds) -> bool {
        match self.in_flight_since {
            Some(t) => now >= t + IN_FLIGHT_TIMEOUT,
            None => now >= self.due,
        }
    }

    fn wake(&self) -> UnixSeconds {
        self.in_flight_since.map(|t| t + IN_FLIGHT_TIMEOUT).unwrap_or(self.due)
    }
}

/// What became of a delivery after an answer.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Settled {
    Delivered(WebhookEvent),
    Retrying,
    Held,
    /// Out of time: the event is lost for the owner unless the attention list shows it.
    Dropped(Delivery),
    /// No such delivery (a late or repeated answer): nothing to do.
    Unknown,
}

/// The queue of deliveries, in the order they were queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub(super) struct Outbox {
    pending: Vec<Pending>,
    /// Deliveries ever queued: part of each new id.
    queued: u32,
}

impl Outbox {
    /// Queues `event` with `data`, due now.
    pub(super) fn queue(&mut self, url: &str, key: &str, event: WebhookEvent, data: Value, now: UnixSeconds) {
        self.queued += 1;
        let seed = format!("{key}|{}|{}", event.as_str(), self.queued);
        let id = format!("{}:{}", event.as_str(), sha256_hex(seed.as_bytes()).get(..24).unwrap_or(""));
        let body = json!({ "event": event.as_str(), "createdAt": now, "data": data }).to_string();
        let delivery = Delivery { id, url: url.to_string(), event, body };
        self.pending.push(Pending { delivery, queued_at: now, attempts: 0, due: now, in_flight_since: None });
    }

    /// The first delivery due, marked in flight.
    pub(super) fn next(&mut self, now: UnixSeconds) -> Option<Delivery> {
        let p = self.pending.iter_mut().find(|p| p.ready(now))?;
        p.in_flight_since = Some(now);
        Some(p.delivery.clone())
    }

    /// When the next delivery (or in-flight timeout) is due.
    pub(super) fn wake(&self) -> Option<UnixSeconds> {
        self.pending.iter().map(Pending::wake).min()
    }

    /// Drops `event` if no attempt at it has been made (an abandonment that turned
    /// into a booking).
    pub(super) fn cancel_unsent(&mut self, event: WebhookEvent) {
        self.pending.retain(|p| !(p.delivery.event == event && p.attempts == 0 && p.in_flight_since.is_none()));
    }

    /// Events queued and not yet accepted, oldest first (for tests and logs).
    pub(super) fn events(&self) -> Vec<WebhookEvent> {
        self.pending.iter().map(|p| p.delivery.event).collect()
    }

    /// Applies an answer.
    pub(super) fn settle(&mut self, id: &str, result: DeliveryResult, now: UnixSeconds) -> Settled {
        let Some(i) = self.pending.iter().position(|p| p.delivery.id == id) else { return Settled::Unknown };
        let p = &mut self.pending[i];
        p.in_flight_since = None;
        match result {
            DeliveryResult::Delivered => Settled::Delivered(self.pending.remove(i).delivery.event),
            DeliveryResult::NotSigned => {
                p.due = now + UNSIGNED_RECHECK;
                self.give_up_if_late(i, now).unwrap_or(Settled::Held)
            }
            DeliveryResult::Failed { .. } => {
                let delay = RETRY_DELAYS.get(p.attempts as usize).copied().unwrap_or(RETRY_EVERY);
                p.attempts += 1;
                p.due = now + delay;
                self.give_up_if_late(i, now).unwrap_or(Settled::Retrying)
            }
        }
    }

    fn give_up_if_late(&mut self, i: usize, now: UnixSeconds) -> Option<Settled> {
        let p = &self.pending[i];
        (p.due >= p.queued_at + DELIVERY_GIVE_UP || now >= p.queued_at + DELIVERY_GIVE_UP)
            .then(|| Settled::Dropped(self.pending.remove(i).delivery))
    }
}

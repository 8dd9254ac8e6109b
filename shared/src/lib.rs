//! booking-core: everything that decides anything, with no I/O.
//!
//! The widget (wasm in the browser) and the edge worker (wasm on workerd) are thin
//! shells around this crate: they move bytes and call in here. Nothing in this crate
//! reads a clock, a socket, a random source or the DOM; time and ids are passed in.
//!
//! - [`site`]: a contractor site's configuration (trades, business units, campaigns, mode).
//! - [`booking`]: the values a conversation produces and the pipeline consumes.
//! - [`extract`]: slots from one utterance.
//! - [`conversation`]: the booking state machine.
//! - [`matching`]: is this homeowner already a ServiceTitan customer, at which location?
//! - [`servicetitan`]: typed API models and the sans-IO [`servicetitan::BookingPipeline`].
//! - [`run`]: the booking run after "Book it" ([`run::BookingRun`]): pipeline, owner webhooks, give-up, attention.
//! - [`transcript`]: transcript and summary notes.
//! - [`signing`]: HMAC signatures for webhooks.
//! - [`submission`]: the widget → worker wire format and its limits.
//! - [`test_booking`]: the scripted test booking of the owner page.
#![deny(missing_docs)]

pub mod booking;
pub mod conversation;
pub mod extract;
pub mod followup;
pub mod matching;
pub mod run;
pub mod servicetitan;
pub mod signing;
pub mod site;
pub mod submission;
pub mod test_booking;
mod text;
pub mod transcript;
pub mod voice;

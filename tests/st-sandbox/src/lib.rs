//! # st-sandbox: ServiceTitan as our tests see it
//!
//! An HTTP server that behaves like the ServiceTitan v2 endpoints the booking pipeline
//! uses. It is written from ServiceTitan's OpenAPI files and docs (`../shared`), never
//! from `booking-core`, so it cannot share our mistakes.
//!
//! ## Running
//!
//! ```text
//! cargo run -p st-sandbox -- --port 0 --seed tests/data/st-tenant.json \
//!     --client-id X --client-secret Y --app-key Z
//! ```
//! Prints exactly one line, `st-sandbox listening on http://127.0.0.1:PORT`, then serves
//! until SIGINT/SIGTERM.
//!
//! | flag | default |
//! |---|---|
//! | `--port N` | 0 (a free port) |
//! | `--host H` | 127.0.0.1 |
//! | `--seed FILE` | `<workspace>/tests/data/st-tenant.json` |
//! | `--openapi DIR` | `<workspace>/../shared/servicetitan-openapi` |
//! | `--tenant-id N`, `--client-id S`, `--client-secret S`, `--app-key S`, `--booking-provider-id N` | the seed's `"app"` section; a missing credential is generated and printed to stderr |
//! | `--token-ttl SECONDS` | 900 |
//! | `--time-factor F` | 1; the emulator's own waits (webhook retries) run F times faster |
//!
//! ## ServiceTitan surface
//!
//! * `POST /connect/token` (form `grant_type=client_credentials&client_id&client_secret`)
//!   → `{"access_token","expires_in","token_type":"Bearer","scope"}`.
//! * Every API call needs `Authorization: Bearer <token>` and `ST-App-Key`, and the
//!   `{tenant}` in the path must be ours (401 / 403 otherwise, in ServiceTitan's error shape
//!   `{type,title,status,traceId,errors,data}`). Booking paths must name the booking
//!   provider the app is restricted to (403 otherwise).
//! * API scopes (`portal`): a call whose scope was revoked with `POST /_admin/scopes` is
//!   refused with 403; `POST /other-environment/connect/token` is the other environment's
//!   identity server, accepting only what `POST /_admin/other-environment` registered.
//! * Request bodies are validated against the operation's `requestBody` schema in the
//!   OpenAPI files (400 with `errors: {"Field.Path": ["message"]}`).
//! * Lists return `{page, pageSize, hasMore, totalCount, data}` and take ServiceTitan's
//!   filters; see [`api`] for the routes.
//!
//! ## Admin API (no ServiceTitan auth; loopback peers only)
//!
//! * `GET /_admin/requests`: every request received, `[{seq, method, path, query, headers,
//!   body, status, dropped}]`, with `Authorization`, `ST-App-Key` and `client_secret` redacted.
//! * `GET /_admin/records`: `{customers, locations, contacts, jobs, appointments, bookings,
//!   notes, leads, estimates, invoices, payments, jobCancelReasons, jobCancellations, ...}`
//!   as stored (contacts carry `customerId`, `locationId` or
//!   `bookingId`; notes carry `customerId`, `locationId`, `jobId` or `leadId`).
//! * `POST /_admin/faults` (one fault or an array; see [`faults::FaultSpec`]), `GET` and
//!   `DELETE /_admin/faults`.
//! * `POST /_admin/reset`: records back to the seed; requests, faults and the webhook log
//!   cleared (tokens and webhook subscriptions kept).
//! * Record changes as the office makes them, each bumping `modifiedOn` and firing a
//!   webhook: `POST /_admin/estimates`, `/_admin/estimates/{id}/sent|viewed|sold|dismissed`,
//!   `/_admin/invoices`, `/_admin/invoices/{id}/overdue|paid`,
//!   `/_admin/jobs/{id}/completed|canceled|no-show|notifications`,
//!   `/_admin/appointments/{id}/rescheduled`, each with
//!   `?deliver=normal|duplicate|late|skip`; see [`changes`]. For tests that need records of
//!   their own: `POST /_admin/customers` (a customer with a location in a given state and
//!   a mobile), `/_admin/jobs` (a scheduled job with one appointment), `/_admin/clock`
//!   (record times off real time until the next reset). Ids never repeat across resets.
//! * `POST /_admin/webhooks` `{url, hmacKey?, header?, encoding?: hex|base64, eventTypes?}`
//!   subscribes the tenant (HMAC-SHA256 over the raw body, by default hex in
//!   `x-servicetitan-signature`; retries after 10/30/60/300 s ÷ `--time-factor`);
//!   `GET` lists the subscription (key redacted) and every delivery with its attempts;
//!   `DELETE` unsubscribes; `POST /_admin/webhooks/flush` sends a held-back event now.
//!   See [`webhooks`].
//! * Tenants (see [`tenants`]): `POST /_admin/tenants` `{tenantId, clientId, clientSecret,
//!   appKey, bookingProviderId?}` adds one (its own credentials, records, tokens, faults,
//!   journal), `GET /_admin/tenants` lists their ids; `?tenant=N` on any admin route (and
//!   `/`) acts on tenant N, else on the first (the flags' and the seed's).
//! * `GET /`: an HTML page of customers, locations, jobs, bookings, notes, leads, estimates
//!   and invoices (refreshes every 2 s).
//!
//! ## Layout
//!
//! `server` owns sockets (so a fault can drop one); `journal`, `faults`, `auth` and
//! `openapi` are middleware layers, in that order; `api` holds the handlers over `store`;
//! `changes` are the admin's record changes, which hand their events to `webhooks`;
//! `tenants` sits in front of it all and picks the tenant that answers.
#![deny(missing_docs)]

pub mod admin;
pub mod api;
pub mod auth;
pub mod changes;
pub mod cli;
pub mod error;
pub mod faults;
pub mod journal;
pub mod openapi;
pub mod paging;
pub mod portal;
pub mod server;
pub mod state;
pub mod store;
pub mod tenants;
pub mod time;
pub mod webhooks;

pub use cli::Config;
pub use state::{AppState, Shared};

use axum::Router;

/// The whole application: every tenant ([`tenants`]), `state` the first one.
pub fn app(state: Shared) -> Router {
    tenants::app(state)
}

/// One tenant's application: ServiceTitan routes behind the middleware stack, plus admin.
pub fn tenant_app(state: Shared) -> Router {
    use axum::middleware::from_fn_with_state as mw;
    let st = api::routes()
        .merge(portal::api_routes())
        .merge(auth::token_route())
        .layer(mw(state.clone(), openapi::validate_layer))
        .layer(mw(state.clone(), portal::scope_layer))
        .layer(mw(state.clone(), auth::auth_layer))
        .layer(mw(state.clone(), faults::fault_layer))
        .layer(mw(state.clone(), journal::journal_layer));
    admin::routes().merge(portal::routes()).merge(st).fallback(error::not_found_fallback).with_state(state)
}

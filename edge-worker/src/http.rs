//! Responses, CORS, and outgoing fetches with a deadline. Only a site's allowed
//! origins get CORS headers; the worker's own origin (the iframe fallback) is let
//! through without them, as any same-origin request is.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use worker::{AbortController, Delay, Fetch, Headers, Request, Response, Result};

/// The CORS decision for one request.
pub(crate) struct Cors {
    origin: Option<String>,
    refused: bool,
}

impl Cors {
    /// No CORS headers (same-origin tools, errors before a site is known).
    pub(crate) fn none() -> Cors {
        Cors { origin: None, refused: false }
    }

    /// Allows the request's Origin when the site lists it; refuses other origins.
    /// Requests without an Origin (curl, server to server) get no CORS headers, and
    /// neither do same-origin ones: the iframe fallback (`/v1/sites/{site}/frame`) runs
    /// the widget on the worker's own origin, and its POSTs carry that origin, which no
    /// site lists (every one of them was refused with 403 before).
    pub(crate) fn for_request(req: &Request, allowed: &[String]) -> Result<Cors> {
        let origin = req.headers().get("origin")?;
        let own = req.url()?.origin().ascii_serialization();
        Ok(match origin {
            None => Cors::none(),
            Some(o) if o == own => Cors::none(),
            Some(o) if allowed.iter().any(|a| a == &o || a == "*") => Cors { origin: Some(o), refused: false },
            Some(_) => Cors { origin: None, refused: true },
        })
    }

    /// Whether the origin is not allowed.
    pub(crate) fn refused(&self) -> bool {
        self.refused
    }

    fn apply(&self, headers: &Headers) -> Result<()> {
        if let Some(o) = &self.origin {
            headers.set("access-control-allow-origin", o)?;
            headers.set("vary", "Origin")?;
            headers.set("access-control-allow-methods", "GET, POST, OPTIONS")?;
            headers.set("access-control-allow-headers", "content-type")?;
            headers.set("access-control-max-age", "600")?;
        }
        Ok(())
    }
}

/// A JSON response with CORS applied.
pub(crate) fn json_reply<T: Serialize>(status: u16, body: &T, cors: &Cors) -> Result<Response> {
    let mut r = Response::from_json(body)?.with_status(status);
    cors.apply(r.headers_mut())?;
    r.headers_mut().set("cache-control", "no-store")?;
    Ok(r)
}

/// `{"error": reason}` with a status.
pub(crate) fn error(status: u16, reason: &str, cors: &Cors) -> Result<Response> {
    json_reply(status, &json!({ "error": reason }), cors)
}

/// Answers a CORS preflight.
pub(crate) fn cors_preflight(cors: &Cors) -> Result<Response> {
    let mut r = Response::empty()?.with_status(204);
    cors.apply(r.headers_mut())?;
    Ok(r)
}

/// What came back from an outgoing fetch that finished in time.
pub(crate) struct Fetched {
    /// HTTP status.
    pub(crate) status: u16,
    /// Retry-After in seconds, when sent as a number.
    pub(crate) retry_after: Option<u64>,
    /// The body as text.
    pub(crate) body: String,
}

/// Why an outgoing fetch gave no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FetchFailure {
    /// No status and body within the deadline; the request was aborted.
    TimedOut,
    /// The connection failed (DNS, refused, reset, unreadable body).
    Network,
}

/// Sends a request and reads its whole body, or gives up after `limit` and aborts it.
/// A hung ServiceTitan or webhook receiver would otherwise hold a Durable Object's
/// alarm (and the homeowner's availability look-up) until the runtime kills it.
pub(crate) async fn fetch_within(request: Request, limit: Duration) -> std::result::Result<Fetched, FetchFailure> {
    let controller = AbortController::default();
    let signal = controller.signal();
    let exchange = async move {
        let mut resp = Fetch::Request(request).send_with_signal(&signal).await.map_err(|_| FetchFailure::Network)?;
        let retry_after = resp.headers().get("retry-after").ok().flatten().and_then(|v| v.trim().parse().ok());
        let status = resp.status_code();
        let body = resp.text().await.map_err(|_| FetchFailure::Network)?;
        Ok(Fetched { status, retry_after, body })
    };
    match first(exchange, Delay::from(limit)).await {
        Some(answer) => answer,
        None => {
            controller.abort();
            Err(FetchFailure::TimedOut)
        }
    }
}

/// `Some` with the work's output if it finishes before the deadline, else `None`.
pub(crate) async fn first<T>(work: impl Future<Output = T>, deadline: impl Future<Output = ()>) -> Option<T> {
    let mut work = pin!(work);
    let mut deadline = pin!(deadline);
    poll_fn(|cx| {
        if let Poll::Ready(v) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

/// The request body, read chunk by chunk; `None` as soon as it passes `limit` bytes
/// (the rest is never read: the stream is cancelled). `Content-Length` can be absent
/// (chunked) or wrong, so only the bytes that actually arrive are counted.
pub(crate) async fn read_body_within(req: &Request, limit: usize) -> Result<Option<Vec<u8>>> {
    use wasm_bindgen::JsCast;
    use worker::js_sys::{Reflect, Uint8Array};
    use worker::wasm_bindgen_futures::JsFuture;
    use worker::web_sys::ReadableStreamDefaultReader;

    let Some(stream) = req.inner().body() else { return Ok(Some(Vec::new())) };
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut body = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read()).await?;
        if Reflect::get(&chunk, &"done".into())?.as_bool().unwrap_or(true) {
            return Ok(Some(body));
        }
        let bytes = Uint8Array::new(&Reflect::get(&chunk, &"value".into())?);
        if body.len() + bytes.length() as usize > limit {
            // Cancelling tells the runtime to stop receiving; its promise needs no wait.
            let _ = reader.cancel();
            return Ok(None);
        }
        body.extend_from_slice(&bytes.to_vec());
    }
}

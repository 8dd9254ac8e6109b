//! Responses and CORS. Only a site's allowed origins get CORS headers.

use serde::Serialize;
use serde_json::json;
use worker::{Headers, Request, Response, Result};

/// The CORS decision for one request.
pub struct Cors {
    origin: Option<String>,
    refused: bool,
}

impl Cors {
    /// No CORS headers (same-origin tools, errors before a site is known).
    pub fn none() -> Cors {
        Cors { origin: None, refused: false }
    }

    /// Allows the request's Origin when the site lists it; refuses other origins.
    /// Requests without an Origin (curl, server to server) get no CORS headers.
    pub fn for_request(req: &Request, allowed: &[String]) -> Result<Cors> {
        let origin = req.headers().get("origin")?;
        Ok(match origin {
            None => Cors::none(),
            Some(o) if allowed.iter().any(|a| a == &o || a == "*") => Cors { origin: Some(o), refused: false },
            Some(_) => Cors { origin: None, refused: true },
        })
    }

    /// Whether the origin is not allowed.
    pub fn refused(&self) -> bool {
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
pub fn json_reply<T: Serialize>(status: u16, body: &T, cors: &Cors) -> Result<Response> {
    let mut r = Response::from_json(body)?.with_status(status);
    cors.apply(r.headers_mut())?;
    r.headers_mut().set("cache-control", "no-store")?;
    Ok(r)
}

/// `{"error": reason}` with a status.
pub fn error(status: u16, reason: &str, cors: &Cors) -> Result<Response> {
    json_reply(status, &json!({ "error": reason }), cors)
}

/// Answers a CORS preflight.
pub fn cors_preflight(cors: &Cors) -> Result<Response> {
    let mut r = Response::empty()?.with_status(204);
    cors.apply(r.headers_mut())?;
    Ok(r)
}

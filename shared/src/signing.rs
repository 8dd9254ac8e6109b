//! HMAC signatures for incoming and outgoing webhooks. PLACEHOLDER: to be written.

"""Verifies the booking worker's webhook signature in Python (standard library only).

Header: x-booking-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
(several v1 during a secret rotation). Verify the RAW body bytes, before json.loads.
"""
import hashlib
import hmac
import time


def verify(secret: bytes, raw_body: bytes, header: str, now: int = None, tolerance: int = 300) -> bool:
    if not secret:
        return False  # an empty key proves nothing
    parts = [p.strip().split("=", 1) for p in (header or "").split(",") if "=" in p]
    t = next((v for k, v in parts if k == "t"), "")
    if not t.isdigit() or abs((now if now is not None else int(time.time())) - int(t)) > tolerance:
        return False  # replayed or stale
    want = hmac.new(secret, t.encode() + b"." + raw_body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(v.lower(), want) for k, v in parts if k == "v1")

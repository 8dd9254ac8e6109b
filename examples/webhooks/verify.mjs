// Verifies the booking worker's webhook signature in Node (no dependencies).
// Header: x-booking-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
// (several v1 during a secret rotation). Verify the RAW body, before JSON.parse.
import { createHmac, timingSafeEqual } from 'node:crypto';

export function verify(secret, rawBody, header, now = Math.floor(Date.now() / 1000), tolerance = 300) {
  if (!secret) return false; // an empty key proves nothing
  const parts = String(header || '').split(',').map((p) => p.trim().split('='));
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  const sigs = parts.filter(([k]) => k === 'v1').map(([, v]) => Buffer.from(String(v).toLowerCase()));
  if (!Number.isInteger(t) || Math.abs(now - t) > tolerance) return false; // replayed or stale
  const want = Buffer.from(createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest('hex'));
  return sigs.some((s) => s.length === want.length && timingSafeEqual(s, want));
}

// As a receiver: node verify.mjs (WEBHOOK_SECRET and PORT from the environment).
if (import.meta.url === `file://${process.argv[1]}`) {
  const { createServer } = await import('node:http');
  createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const ok = verify(process.env.WEBHOOK_SECRET, body, req.headers['x-booking-signature']);
      if (ok) console.log(req.headers['x-booking-event'], JSON.parse(body));
      res.writeHead(ok ? 200 : 401).end();
    });
  }).listen(Number(process.env.PORT || 8000));
}

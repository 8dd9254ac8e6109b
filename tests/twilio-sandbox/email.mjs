// An HTTP email API sink in the shape of Resend's `POST /emails`, so the worker's email
// follow-ups go over real HTTP: `POST /email/emails` with `Authorization: Bearer {key}`
// (the `--email-api-key` the emulator was started with; any non-empty key when none)
// and JSON `{from, to: [..] | "..", subject, text | html, reply_to?}`; answered
// `{"id"}`. Validation as Resend does (422 `validation_error`, 401 `missing_api_key`,
// 403 `invalid_api_key`). `Idempotency-Key`: the same key with the same body is the
// first email's answer again (nothing new recorded, `replays` counted); with another
// body 409 `invalid_idempotent_request`.
//
//   GET  /email/emails                       -> {"emails": [...], "refused": [...]}
//   POST /email/faults {"status": 503, "count": 1}  -> the next N answers fail so
import { randomUUID } from 'node:crypto';

export function emailRoutes({ cfg, HttpError, onReset }) {
  const emails = [];
  const refused = [];
  const byKey = new Map();
  const fault = { status: 0, count: 0 };
  onReset(() => { emails.length = 0; refused.length = 0; byKey.clear(); fault.count = 0; });

  const fail = (status, name, message, rec) => {
    refused.push({ at: Date.now(), status, name, message, ...rec });
    return new HttpError(status, { statusCode: status, name, message });
  };

  function send(q) {
    const auth = /^Bearer\s+(.+)$/i.exec(q.req.headers.authorization || '');
    if (!auth) throw fail(401, 'missing_api_key', 'Missing API key in the authorization header.');
    if (cfg.emailApiKey && auth[1] !== cfg.emailApiKey) throw fail(403, 'invalid_api_key', 'API key is invalid.');
    if (fault.count > 0) { fault.count -= 1; throw fail(fault.status || 503, 'internal_server_error', 'Injected fault.'); }
    const b = q.json || {};
    const to = Array.isArray(b.to) ? b.to : (typeof b.to === 'string' ? [b.to] : []);
    const rec = { from: b.from, to, subject: b.subject };
    const address = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;
    const fromAddress = /<([^>]+)>\s*$/.exec(String(b.from || ''))?.[1] || String(b.from || '').trim();
    if (!address.test(fromAddress)) throw fail(422, 'validation_error', 'Invalid `from` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format.', rec);
    if (!to.length || to.length > 50 || !to.every((t) => address.test(String(t)))) throw fail(422, 'validation_error', 'Invalid `to` field.', rec);
    if (typeof b.subject !== 'string' || !b.subject.trim()) throw fail(422, 'validation_error', 'Missing `subject` field.', rec);
    if (!(typeof b.text === 'string' && b.text.trim()) && !(typeof b.html === 'string' && b.html.trim())) throw fail(422, 'validation_error', 'Missing `text` or `html` field.', rec);
    const key = q.req.headers['idempotency-key'];
    if (key) {
      const seen = byKey.get(key);
      if (seen && seen.raw !== q.raw) throw fail(409, 'invalid_idempotent_request', 'Same idempotency key used with a different request payload.', rec);
      if (seen) { seen.email.replays += 1; return { id: seen.email.id }; }
    }
    const email = { id: randomUUID(), at: Date.now(), from: b.from, to, subject: b.subject, text: b.text ?? null, html: b.html ?? null,
      reply_to: b.reply_to ?? null, idempotencyKey: key || null, replays: 0 };
    emails.push(email);
    if (key) byKey.set(key, { raw: q.raw, email });
    return { id: email.id };
  }

  return [
    ['POST', /^\/email\/emails$/, (q) => send(q)],
    ['GET', /^\/email\/emails$/, () => ({ emails, refused })],
    ['POST', /^\/email\/faults$/, (q) => { fault.status = Number(q.json.status) || 503; fault.count = Number(q.json.count) || 0; return { ...fault }; }],
  ];
}

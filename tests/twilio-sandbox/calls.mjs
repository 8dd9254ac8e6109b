// Twilio's Calls API for outbound calls (the worker's AI follow-up call):
// `POST /2010-04-01/Accounts/{sid}/Calls.json` (basic auth; form `To`, `From`, `Url`,
// `Method`, `StatusCallback`) is recorded, answered 201 with the call (status `queued`),
// and then placed the way Twilio does: a signed request to `Url` (sign.mjs, through
// server.mjs's call machinery, `Direction=outbound-api`, `From` our number, `To` the
// customer), its TwiML followed, so a test sees the greeting in `GET /calls/{sid}`.
// `GET .../Calls.json` lists them (filters `To`, `From`, `StartTime>`...), newest first.
//
//   GET /outbound-calls -> {"requests": [every Calls.json request as recorded]}
import { parseForm } from './sign.mjs';
import { checkAuth, listPage } from './messages.mjs';

export function callRoutes({ cfg, state, twilioError, placeCall, newSid, e164, onReset }) {
  const placed = [];
  onReset(() => { placed.length = 0; });
  const path = /^\/2010-04-01\/Accounts\/([^/]+)\/Calls\.json$/;

  function create(q, account) {
    checkAuth(q.req, cfg, account, twilioError);
    const p = Object.fromEntries(parseForm(q.raw));
    if (!p.To) throw twilioError(400, 21201, "No 'To' number is specified");
    if (!p.From) throw twilioError(400, 21213, "No 'From' number is specified");
    if (!p.Url && !p.Twiml) throw twilioError(400, 21205, 'Url parameter is required.');
    if (p.Url && !/^https?:\/\//.test(p.Url)) throw twilioError(400, 21205, `Url is not a valid URL: ${p.Url}`);
    const to = e164(p.To);
    const from = e164(p.From);
    if (!/^\+[1-9][0-9]{7,14}$/.test(to)) throw twilioError(400, 21211, `Invalid 'To' Phone Number: ${p.To}`);
    if (cfg.fromNumber && from !== cfg.fromNumber) throw twilioError(400, 21210, `The source phone number provided, ${p.From}, is not yet verified for your account.`);
    const call = {
      sid: newSid('CA'), account_sid: cfg.accountSid, to, from, status: 'queued', direction: 'outbound-api',
      api_version: '2010-04-01', date_created: new Date().toUTCString(), date_updated: new Date().toUTCString(),
      start_time: null, end_time: null, uri: '', url: p.Url, method: (p.Method || 'POST').toUpperCase(),
      status_callback: p.StatusCallback || null, params: p,
    };
    call.uri = `/2010-04-01/Accounts/${cfg.accountSid}/Calls/${call.sid}.json`;
    placed.push(call);
    // Twilio answers the API first and dials afterwards.
    setImmediate(() => {
      placeCall({ url: p.Url, from, to, statusCallback: p.StatusCallback || null, direction: 'outbound-api', callSid: call.sid })
        .then((c) => { call.status = c.state === 'ended' ? 'completed' : 'in-progress'; call.start_time = new Date().toUTCString(); })
        .catch((e) => { call.status = 'failed'; call.error = String(e.message || e); });
    });
    const { params: _p, ...shown } = call;
    return { status: 201, body: shown };
  }

  return [
    ['POST', path, (q, _res, m) => create(q, decodeURIComponent(m[1]))],
    ['GET', path, (q, _res, m) => {
      checkAuth(q.req, cfg, decodeURIComponent(m[1]), twilioError);
      const url = new URL(q.req.url, 'http://x');
      return listPage(placed.map(({ params: _p, ...c }) => c), url.searchParams, 'calls', url.pathname);
    }],
    ['GET', /^\/outbound-calls$/, () => ({ requests: placed, calls: placed.map((c) => state.calls.get(c.sid)?.sid).filter(Boolean) })],
  ];
}

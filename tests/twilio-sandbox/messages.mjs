// The Messages API beyond sending (server.mjs sends): the list Twilio serves at
// `GET /2010-04-01/Accounts/{sid}/Messages.json` (filters `To`, `From`, `DateSent`,
// `DateSent>`, `DateSent<`; newest first; `PageSize`), which the worker reads before
// retrying a send whose answer it lost; and faults that lose a send's answer (the message
// is recorded, the connection then dropped: "sent but not recorded"), hold it (the
// message is recorded and the answer never written: the connection stays open until the
// client gives up or its process ends, as when the worker restarts mid-send), or lose the
// request itself (nothing recorded).
//
//   POST /messages/faults {"to": "+1...", "dropAnswer": N, "holdAnswer": N, "dropRequest": N}
//        (no `to`: any recipient) -> the faults left;  GET /messages/faults
//   GET /messages/held -> {held: [{sid, to, heldAt, closedAt}]}: each held answer, and when
//        the client closed its connection (null while open; ms since the epoch)
//   GET /messages/lookups -> {lookUps: [{at, to}]}: each list request (`GET Messages.json`),
//        so a test can tell a send looked up before its retry from one sent blind
import { parseForm } from './sign.mjs';

/** Checks Twilio's basic auth (account sid : auth token) for `account`. */
export function checkAuth(req, cfg, account, twilioError) {
  const auth = /^Basic\s+(.+)$/i.exec(req.headers.authorization || '');
  const [user, pass] = auth ? Buffer.from(auth[1], 'base64').toString('utf8').split(/:(.*)/s) : [];
  if (!auth || user !== cfg.accountSid || pass !== cfg.authToken || account !== cfg.accountSid) {
    throw twilioError(401, 20003, 'Authenticate');
  }
}

// `YYYY-MM-DD` (Twilio's DateSent filters are dates, UTC) of a record.
const day = (rec) => new Date(rec.date_created).toISOString().slice(0, 10);

/** Twilio's list filters over `records` (each with `to`, `from`, `date_created`). */
export function listPage(records, query, field, uri) {
  const want = (k) => query.get(k);
  const to = want('To');
  const from = want('From');
  let list = records.filter((r) => (!to || r.to === to) && (!from || r.from === from));
  for (const [k, test] of [['DateSent', (d, v) => d === v], ['DateSent>', (d, v) => d >= v], ['DateSent<', (d, v) => d <= v],
    ['StartTime', (d, v) => d === v], ['StartTime>', (d, v) => d >= v], ['StartTime<', (d, v) => d <= v]]) {
    const v = want(k);
    if (v) list = list.filter((r) => test(day(r), v.slice(0, 10)));
  }
  list = list.slice().reverse();
  const size = Math.min(1000, Math.max(1, Number(want('PageSize') || 50)));
  return { [field]: list.slice(0, size), page: 0, page_size: size, first_page_uri: uri, next_page_uri: list.length > size ? `${uri}?Page=1` : null, previous_page_uri: null, uri };
}

/** The routes, mounted before server.mjs's own Messages route. */
export function messageRoutes({ cfg, state, twilioError, sendMessage, e164, onReset }) {
  // Each {to, kind, count}: the next `count` sends to `to` (null: anyone) lose their answer or request.
  const faults = [];
  state.droppedRequests = [];
  state.held = [];
  state.lookUps = [];
  // The open connections of held answers: a reset (or the emulator closing) ends them.
  const heldSockets = new Set();
  onReset(() => {
    faults.length = 0;
    state.droppedRequests.length = 0;
    state.held.length = 0;
    state.lookUps.length = 0;
    for (const s of heldSockets) s.destroy();
  });
  const take = (kind, to) => {
    const f = faults.find((x) => x.kind === kind && x.count > 0 && (!x.to || x.to === to));
    if (f) f.count -= 1;
    return Boolean(f);
  };
  const path = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/;
  return [
    ['POST', path, (q, _res, m) => {
      checkAuth(q.req, cfg, decodeURIComponent(m[1]), twilioError);
      const p = Object.fromEntries(parseForm(q.raw));
      if (take('dropRequest', e164(p.To))) {
        state.droppedRequests.push({ at: Date.now(), to: p.To, body: p.Body });
        q.req.socket.destroy();
        return undefined;
      }
      const msg = sendMessage(q.req, decodeURIComponent(m[1]), q.raw);
      if (take('dropAnswer', msg.to)) {
        msg.answer_dropped = true;
        q.req.socket.destroy();
        return undefined;
      }
      if (take('holdAnswer', msg.to)) {
        // Nothing is ever written: only the client can end this exchange, so `closedAt`
        // says when the client let go (its own timeout, or its process ending).
        msg.answer_held = true;
        const hold = { sid: msg.sid, to: msg.to, heldAt: Date.now(), closedAt: null };
        state.held.push(hold);
        const socket = q.req.socket;
        heldSockets.add(socket);
        socket.once('close', () => { hold.closedAt = Date.now(); heldSockets.delete(socket); });
        return undefined;
      }
      return { status: 201, body: msg };
    }],
    ['GET', path, (q, _res, m) => {
      checkAuth(q.req, cfg, decodeURIComponent(m[1]), twilioError);
      const url = new URL(q.req.url, 'http://x');
      state.lookUps.push({ at: Date.now(), to: url.searchParams.get('To') });
      const outbound = state.messages.filter((x) => x.direction === 'outbound-api');
      return listPage(outbound, url.searchParams, 'messages', url.pathname);
    }],
    ['POST', /^\/messages\/faults$/, (q) => {
      const to = q.json.to ? e164(q.json.to) : null;
      for (const kind of ['dropAnswer', 'holdAnswer', 'dropRequest']) {
        if (Number.isInteger(q.json[kind]) && q.json[kind] > 0) faults.push({ to, kind, count: q.json[kind] });
      }
      return { faults };
    }],
    ['GET', /^\/messages\/faults$/, () => ({ faults })],
    ['GET', /^\/messages\/held$/, () => ({ held: state.held })],
    ['GET', /^\/messages\/lookups$/, () => ({ lookUps: state.lookUps })],
  ];
}

// A small, strict XML reader for TwiML, and the checks Twilio makes of a document.
// Strict on purpose: a raw '&' or '<' in homeowner text that the worker forgot to
// escape is a parse failure here, as it is at Twilio (error 12100).

export class XmlError extends Error {}

const NAMED = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Replaces XML's five named entities and numeric references; anything else is an error. */
export function unescapeXml(s) {
  return s.replace(/&([^;&\s]*);?/g, (whole, name) => {
    if (!whole.endsWith(';')) throw new XmlError(`bare '&' in ${JSON.stringify(s.slice(0, 60))}`);
    if (name in NAMED) return NAMED[name];
    const num = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(name);
    if (num) {
      const cp = num[1] ? parseInt(num[1], 16) : parseInt(num[2], 10);
      const ok = cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0x10ffff && (cp < 0xfffe || cp > 0xffff));
      if (!ok) throw new XmlError(`character reference &${name}; is not an XML character`);
      return String.fromCodePoint(cp);
    }
    throw new XmlError(`unknown entity &${name};`);
  });
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/;

/**
 * Parses a document into `{name, attrs, children}` elements; text children are
 * `{text}` with entities replaced (CDATA kept as is). Throws XmlError on anything
 * not well-formed: unclosed or crossed tags, duplicate attributes, unquoted values,
 * '<' in a value, unknown entities, text or a second element outside the root.
 */
export function parseXml(src) {
  let i = 0;
  const fail = (why) => { throw new XmlError(`${why} at offset ${i}`); };
  const skipMisc = () => {
    for (;;) {
      const ws = /^\s*/.exec(src.slice(i))[0].length;
      i += ws;
      if (src.startsWith('<?', i)) {
        const end = src.indexOf('?>', i);
        if (end < 0) fail('unclosed <?');
        i = end + 2;
      } else if (src.startsWith('<!--', i)) {
        const end = src.indexOf('-->', i + 4);
        if (end < 0) fail('unclosed comment');
        i = end + 3;
      } else if (src.startsWith('<!DOCTYPE', i)) {
        fail('DOCTYPE is not accepted');
      } else return;
    }
  };
  const element = () => {
    if (src[i] !== '<') fail('expected an element');
    i += 1;
    const m = NAME.exec(src.slice(i));
    if (!m) fail('bad element name');
    const node = { name: m[0], attrs: {}, children: [] };
    i += m[0].length;
    for (;;) {
      const ws = /^\s*/.exec(src.slice(i))[0].length;
      i += ws;
      if (src.startsWith('/>', i)) { i += 2; return node; }
      if (src[i] === '>') { i += 1; break; }
      if (!ws) fail(`expected whitespace, '>' or '/>' in <${node.name}>`);
      const a = NAME.exec(src.slice(i));
      if (!a) fail(`bad attribute in <${node.name}>`);
      i += a[0].length;
      const eq = /^\s*=\s*/.exec(src.slice(i));
      if (!eq) fail(`attribute ${a[0]} has no value`);
      i += eq[0].length;
      const q = src[i];
      if (q !== '"' && q !== "'") fail(`attribute ${a[0]} is not quoted`);
      const end = src.indexOf(q, i + 1);
      if (end < 0) fail(`unclosed attribute ${a[0]}`);
      const raw = src.slice(i + 1, end);
      if (raw.includes('<')) fail(`'<' in attribute ${a[0]}`);
      if (a[0] in node.attrs) fail(`duplicate attribute ${a[0]}`);
      node.attrs[a[0]] = unescapeXml(raw);
      i = end + 1;
    }
    for (;;) {
      if (i >= src.length) fail(`<${node.name}> is not closed`);
      if (src.startsWith('</', i)) {
        i += 2;
        const c = NAME.exec(src.slice(i));
        if (!c || c[0] !== node.name) fail(`</${c ? c[0] : ''}> closes <${node.name}>`);
        i += c[0].length;
        const close = /^\s*>/.exec(src.slice(i));
        if (!close) fail('bad closing tag');
        i += close[0].length;
        return node;
      }
      if (src.startsWith('<!--', i)) {
        const end = src.indexOf('-->', i + 4);
        if (end < 0) fail('unclosed comment');
        i = end + 3;
      } else if (src.startsWith('<![CDATA[', i)) {
        const end = src.indexOf(']]>', i);
        if (end < 0) fail('unclosed CDATA');
        node.children.push({ text: src.slice(i + 9, end) });
        i = end + 3;
      } else if (src.startsWith('<?', i)) {
        const end = src.indexOf('?>', i);
        if (end < 0) fail('unclosed <?');
        i = end + 2;
      } else if (src[i] === '<') {
        node.children.push(element());
      } else {
        const end = src.indexOf('<', i);
        const raw = src.slice(i, end < 0 ? src.length : end);
        if (raw.includes(']]>')) fail("']]>' in text");
        node.children.push({ text: unescapeXml(raw) });
        i += raw.length;
      }
    }
  };
  if (src.charCodeAt(0) === 0xfeff) i = 1;
  skipMisc();
  const root = element();
  skipMisc();
  if (i < src.length) fail('content after the root element');
  return root;
}

/** The element's text, nested elements' text included (SSML inside <Say>). */
export function textOf(node) {
  return node.children.map((c) => (c.name ? textOf(c) : c.text)).join('');
}

// Twilio's voice verbs; anything else under <Response> is an error in the call log.
export const VERBS = new Set(['Say', 'Play', 'Pause', 'Gather', 'Redirect', 'Dial', 'Hangup', 'Reject', 'Record',
  'Connect', 'Start', 'Stop', 'Enqueue', 'Leave', 'Refer', 'Pay', 'Prompt', 'Sms', 'Echo', 'Queue']);
const GATHER_NOUNS = new Set(['Say', 'Play', 'Pause']);
const DIAL_NOUNS = new Set(['Number', 'Client', 'Sip', 'Conference', 'Queue', 'Sim', 'Application', 'WhatsApp']);
const GATHER_ATTRS = new Set(['input', 'action', 'method', 'timeout', 'speechTimeout', 'maxSpeechTime', 'profanityFilter',
  'finishOnKey', 'numDigits', 'partialResultCallback', 'partialResultCallbackMethod', 'language', 'hints', 'bargeIn',
  'debug', 'actionOnEmptyResult', 'speechModel', 'enhanced']);
const LANGUAGE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;
const positiveInt = (v) => /^[1-9][0-9]*$/.test(v);

/**
 * What Twilio would say about one <Gather>: a list of `{level, code, message}`.
 * 13335: speechModel set with a speechTimeout that is not a positive integer ("auto").
 */
export function checkGather(g) {
  const out = [];
  const warn = (code, message) => out.push({ level: 'warning', code, message });
  const error = (code, message) => out.push({ level: 'error', code, message });
  const a = g.attrs;
  for (const k of Object.keys(a)) if (!GATHER_ATTRS.has(k)) warn(12200, `<Gather> has an unknown attribute ${k}`);
  const input = (a.input || 'dtmf').split(/\s+/).filter(Boolean);
  if (!input.length || input.some((x) => x !== 'dtmf' && x !== 'speech')) error(12200, `<Gather input="${a.input}"> is not dtmf and/or speech`);
  if (a.speechModel != null && a.speechTimeout != null && !positiveInt(a.speechTimeout)) {
    warn(13335, `speechTimeout="${a.speechTimeout}" with speechModel="${a.speechModel}": use a positive integer`);
  }
  if (a.speechTimeout != null && a.speechTimeout !== 'auto' && !positiveInt(a.speechTimeout)) error(12200, `speechTimeout="${a.speechTimeout}" is neither auto nor a positive integer`);
  for (const k of ['timeout', 'numDigits', 'maxSpeechTime']) {
    if (a[k] != null && !positiveInt(a[k])) error(12200, `${k}="${a[k]}" is not a positive integer`);
  }
  if (a.method != null && !/^(GET|POST)$/.test(a.method)) error(12200, `method="${a.method}"`);
  if (a.language != null && !LANGUAGE.test(a.language)) error(12200, `language="${a.language}" is not BCP-47`);
  for (const k of ['actionOnEmptyResult', 'bargeIn', 'profanityFilter', 'enhanced', 'debug']) {
    if (a[k] != null && !/^(true|false)$/.test(a[k])) error(12200, `${k}="${a[k]}" is not true or false`);
  }
  if (a.finishOnKey != null && !/^[0-9#*]?$/.test(a.finishOnKey)) error(12200, `finishOnKey="${a.finishOnKey}"`);
  for (const c of g.children) {
    if (c.name && !GATHER_NOUNS.has(c.name)) error(12200, `<${c.name}> inside <Gather>`);
    if (!c.name && c.text.trim()) error(12200, 'text directly inside <Gather>');
  }
  return out;
}

/** The number(s) a <Dial> calls: its text, or its <Number>/<Client>/<Sip> children. */
export function dialTargets(d) {
  const nouns = d.children.filter((c) => c.name);
  if (!nouns.length) return [textOf(d).trim()].filter(Boolean);
  return nouns.map((c) => textOf(c).trim());
}

/** Checks one <Dial>: a target, known nouns, a positive integer timeout. */
export function checkDial(d) {
  const out = [];
  const error = (code, message) => out.push({ level: 'error', code, message });
  for (const c of d.children) if (c.name && !DIAL_NOUNS.has(c.name)) error(12200, `<${c.name}> inside <Dial>`);
  if (!dialTargets(d).length) error(12200, '<Dial> has no number');
  if (d.attrs.timeout != null && !positiveInt(d.attrs.timeout)) error(12200, `<Dial timeout="${d.attrs.timeout}">`);
  for (const n of dialTargets(d)) {
    if (!d.children.some((c) => c.name === 'Client' || c.name === 'Sip') && !/^\+?[0-9 ()-]{3,}$/.test(n)) error(13223, `<Dial> number ${JSON.stringify(n)} is not a phone number`);
  }
  return out;
}

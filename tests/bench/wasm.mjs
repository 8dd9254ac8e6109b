// A small reader for the parts of a WebAssembly binary the bench needs: section
// sizes, the size of every function body, and function names from the "name"
// custom section. No dependencies.

function leb(buf, pos) {
  let result = 0, shift = 0, b;
  do {
    b = buf[pos++];
    result += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return [result, pos];
}

function str(buf, pos) {
  const [len, p] = leb(buf, pos);
  return [buf.subarray(p, p + len).toString('utf8'), p + len];
}

const SECTION = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start',
  'element', 'code', 'data', 'datacount', 'tag'];

// -> { sections: [{name, size}], bodies: [size per defined function], imported, names: Map(index -> name) }
export function readWasm(buf) {
  if (buf.readUInt32LE(0) !== 0x6d736100) throw new Error('not a wasm module');
  let pos = 8;
  const sections = [];
  const bodies = [];
  const names = new Map();
  let imported = 0;
  while (pos < buf.length) {
    const id = buf[pos];
    const [size, start] = leb(buf, pos + 1);
    const end = start + size;
    let name = SECTION[id] || `id${id}`;
    if (id === 0) {
      const [cname, p] = str(buf, start);
      name = `custom:${cname}`;
      if (cname === 'name') readNames(buf, p, end, names);
    } else if (id === 2) {
      let [count, p] = leb(buf, start);
      for (let i = 0; i < count; i++) {
        [, p] = str(buf, p);
        [, p] = str(buf, p);
        const kind = buf[p++];
        if (kind === 0) { imported++; [, p] = leb(buf, p); }
        else if (kind === 1) { p++; const flags = buf[p++]; [, p] = leb(buf, p); if (flags & 1) [, p] = leb(buf, p); }
        else if (kind === 2) { const flags = buf[p++]; [, p] = leb(buf, p); if (flags & 1) [, p] = leb(buf, p); }
        else if (kind === 3) { p += 2; }
        else if (kind === 4) { p++; [, p] = leb(buf, p); }
        else throw new Error(`import kind ${kind}`);
      }
    } else if (id === 10) {
      let [count, p] = leb(buf, start);
      for (let i = 0; i < count; i++) {
        const [len, q] = leb(buf, p);
        bodies.push(len + (q - p));
        p = q + len;
      }
    }
    sections.push({ name, size: end - pos });
    pos = end;
  }
  return { sections, bodies, imported, names };
}

function readNames(buf, pos, end, names) {
  while (pos < end) {
    const kind = buf[pos];
    const [size, start] = leb(buf, pos + 1);
    if (kind === 1) {
      let [count, p] = leb(buf, start);
      for (let i = 0; i < count; i++) {
        let idx, name;
        [idx, p] = leb(buf, p);
        [name, p] = str(buf, p);
        names.set(idx, name);
      }
    }
    pos = start + size;
  }
}

// Rust legacy (_ZN...E) symbols to readable paths; other names are returned as they are.
export function demangle(name) {
  if (!name.startsWith('_ZN')) return name;
  let p = 3;
  const parts = [];
  while (p < name.length && name[p] !== 'E') {
    let n = 0;
    while (name[p] >= '0' && name[p] <= '9') n = n * 10 + Number(name[p++]);
    if (!n) break;
    parts.push(name.slice(p, p + n));
    p += n;
  }
  if (parts.length && /^h[0-9a-f]{16}$/.test(parts[parts.length - 1])) parts.pop();
  const MAP = { '$LT$': '<', '$GT$': '>', '$u20$': ' ', '$u27$': "'", '$u5b$': '[', '$u5d$': ']', '$u7b$': '{',
    '$u7d$': '}', '$RF$': '&', '$BP$': '*', '$C$': ',', '$SP$': '@', '$u3b$': ';', '$u2b$': '+', '$u22$': '"' };
  return parts.join('::').replace(/\$[A-Za-z0-9]+\$/g, (m) => MAP[m] ?? m).replace(/\.\./g, '::').replace(/^_/, '');
}

// Sizes of what browsers and workerd load, and which crates the widget's wasm code
// comes from. Run by `cargo xtask bench` after the release build; writes JSON to
// $BENCH_OUT (default target/bench/sizes.json).
//   node tests/bench/sizes.mjs
import { readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { dirname, join } from 'node:path';
import { readWasm } from './wasm.mjs';

const ROOT = process.env.ROOT || process.cwd();
const OUT = process.env.BENCH_OUT || join(ROOT, 'target/bench/sizes.json');

function size(path) {
  return sizeOf(readFileSync(path));
}

function sizeOf(buf) {
  return {
    raw: buf.length,
    gzip: gzipSync(buf, { level: 9 }).length,
    brotli: brotliCompressSync(buf, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: buf.length },
    }).length,
  };
}

// The widget as shipped: widget/dist (the loader, the lazy JS + wasm, any CSS file).
const dist = join(ROOT, 'widget/dist');
const order = ['loader.js', 'widget.js', 'widget_bg.wasm'];
const names = readdirSync(dist).filter((f) => order.includes(f) || f.endsWith('.css'));
names.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b));
const widget = names.map((name) => ({ name, ...size(join(dist, name)) }));
const total = widget.reduce((t, f) => ({ raw: t.raw + f.raw, gzip: t.gzip + f.gzip, brotli: t.brotli + f.brotli }),
  { raw: 0, gzip: 0, brotli: 0 });

// The worker bundle.
const build = join(ROOT, 'edge-worker/build');
const worker = ['index_bg.wasm', 'index.js'].filter((f) => existsSync(join(build, f)))
  .map((name) => ({ name, ...size(join(build, name)) }));

// Which crates the widget's code comes from: the wasm-bindgen output before wasm-opt
// still has the "name" section. A function counts for the first group whose crate
// names appear in its (demangled) name, in this order, so generic code instantiated
// for booking_core types (drop glue, serde impls) counts as booking_core's.
const GROUPS = [
  ['booking-core (engine)', ['booking_core']],
  ['booking-widget (UI code)', ['booking_widget']],
  ['regex', ['regex', 'regex_automata', 'regex_syntax', 'regex_lite', 'aho_corasick', 'memchr']],
  ['serde / serde_json', ['serde', 'serde_core', 'serde_json', 'itoa', 'ryu', 'zmij']],
  ['leptos (leptos, tachys, reactive_graph, ...)', ['leptos', 'leptos_dom', 'leptos_macro', 'tachys', 'reactive_graph',
    'any_spawner', 'either_of', 'or_poisoned', 'send_wrapper', 'guardian', 'slotmap', 'drain_filter_polyfill',
    'throw_error', 'futures_util', 'futures_core', 'futures_channel', 'futures_executor', 'pin_project_lite',
    'indexmap', 'oco_ref', 'next_tuple', 'server_fn', 'leptos_server', 'const_str_slice_concat']],
  ['wasm-bindgen, js-sys, web-sys, gloo', ['wasm_bindgen', 'wasm_bindgen_futures', 'js_sys', 'web_sys', 'gloo_net',
    'gloo_utils', 'wasm_streams', 'console_error_panic_hook', 'http']],
  ['Rust std (core, alloc, std, hashbrown, dlmalloc)', ['core', 'alloc', 'std', 'hashbrown', 'dlmalloc', 'compiler_builtins']],
];
function groupOf(name) {
  const clean = name.replace(/\[[0-9a-f]{16}\]/g, '');
  const crates = new Set([...clean.matchAll(/(?:^|[<\s(&*,[{])([a-z_][a-z0-9_]*)::/g)].map((m) => m[1]));
  for (const [group, list] of GROUPS) if (list.some((c) => crates.has(c))) return group;
  if (/^(<(str|char|u\d+|i\d+|usize|\[T\])>|__rust|__multi|__wbg|__wbindgen|__externref|mem(cpy|set|cmp|move))/.test(clean))
    return GROUPS[GROUPS.length - 1][0];
  return 'other (glue, exports, unnamed)';
}
let breakdown = null;
const pre = join(ROOT, 'target/widget-bg/widget_bg.wasm');
if (existsSync(pre)) {
  const w = readWasm(readFileSync(pre));
  const sums = new Map([...GROUPS.map(([g]) => [g, 0]), ['other (glue, exports, unnamed)', 0]]);
  let code = 0;
  w.bodies.forEach((bytes, i) => {
    const g = groupOf(w.names.get(i + w.imported) || '');
    sums.set(g, sums.get(g) + bytes);
    code += bytes;
  });
  const section = (n) => w.sections.filter((s) => s.name === n).reduce((t, s) => t + s.size, 0);
  breakdown = {
    file: 'target/widget-bg/widget_bg.wasm',
    raw: readFileSync(pre).length,
    functions: w.bodies.length,
    named: w.names.size,
    codeSection: section('code'),
    dataSection: section('data'),
    nameSection: section('custom:name'),
    code,
    groups: [...sums].map(([group, bytes]) => ({ group, bytes, share: code ? bytes / code : 0 })),
  };
}

// The shipped (wasm-opt'ed) module's sections, for how much is code and how much data.
const shipped = existsSync(join(dist, 'widget_bg.wasm')) ? readWasm(readFileSync(join(dist, 'widget_bg.wasm'))).sections : [];

// The widget's CSS is a string inside the wasm (adopted as a constructed stylesheet, so
// strict CSPs need no 'unsafe-inline'): measured on its own here, counted in the wasm.
const styleSrc = readFileSync(join(ROOT, 'widget/src/style.rs'), 'utf8');
const cssText = (styleSrc.match(/const CSS: &str = r#"([\s\S]*?)"#;/) || [])[1];
const css = cssText === undefined ? null : { name: 'CSS (inside widget_bg.wasm)', ...sizeOf(Buffer.from(cssText)) };

const result = { widget, widgetTotal: total, css, worker, breakdown, shippedSections: shipped };
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(result, null, 2));
for (const f of [...widget, ...worker]) console.log(`sizes: ${f.name} raw=${f.raw} gzip=${f.gzip} brotli=${f.brotli}`);

// Booking widget embed snippet. Plain JS, no build step needed; terser minifies it.
// <script async src="https://cdn.example/widget/loader.js" data-site="northstar"
//         data-api="https://api.example" [data-load="interaction|idle"]></script>
// It draws only the bubble (in a Shadow DOM) and loads widget.js + widget_bg.wasm
// from its own folder on first interaction, or when the browser is idle if
// data-load="idle" or a conversation is saved; opened at once on a page opened from the
// booking link texted after a missed call (?bw-phone=..., which the widget hands to
// booking-core to confirm). Under a CSP that forbids
// WebAssembly it shows the widget in an iframe served by the worker instead.
// Nothing here needs 'unsafe-inline': styles are constructed stylesheets.
(function (w, d) {
  var s = d.currentScript;
  if (!s || w.__bw) return;
  var ds = s.dataset,
    frame = ds.mode == "frame",
    loc = w.location,
    site = frame ? loc.pathname.split("/")[3] : ds.site,
    api = (frame ? loc.origin : ds.api || "").replace(/\/$/, ""),
    base = s.src.replace(/[^\/]*$/, ""),
    st = w.localStorage,
    saved,
    sel = "button", // the loader's only button is the bubble (the widget's come at mount)
    host = d.createElement("div"),
    root = host.attachShadow({ mode: "open" }),
    state = 0, // 0 idle, 1 loading, 2 mounted, 3 iframe
    // The booking link texted after a missed call (?bw-phone=) opens the chat.
    wantOpen = frame || /[?&]bw-phone=/.test(loc.search),
    t0 = performance.now(),
    ifr,
    bw = (w.__bw = { t0: t0, site: site });
  try {
    // Keep the landing URL (UTM, referral) for attribution on later pages.
    var ss = w.sessionStorage;
    loc.search && !ss["bw:landing"] && (ss["bw:landing"] = loc.href);
    saved = st["bw:v3:" + site];
  } catch (e) {}
  host.id = "bw-host";
  try {
    var css = new CSSStyleSheet();
    css.replaceSync(
      ":host{all:initial;position:fixed;right:16px;bottom:16px;z-index:2147483000}" +
        "button{all:unset;cursor:pointer;width:60px;height:60px;border-radius:50%;background:#0b5cab;color:#fff;display:grid;place-items:center;box-shadow:0 4px 14px #0005}" +
        "button:focus-visible{outline:3px solid #111}" +
        "iframe{position:fixed;right:16px;bottom:88px;width:380px;height:min(620px,calc(100vh - 110px));border:0;border-radius:14px;background:#fff}" +
        "@media(max-width:479px){iframe{inset:0;width:100%;height:100%;border-radius:0}}"
    );
    root.adoptedStyleSheets = [css];
  } catch (e) {}
  // No type="button": a shadow root holds no form to submit. No aria-hidden on the icon:
  // the button's aria-label names it, so its content is not read. (Bytes every page pays.)
  root.innerHTML =
    '<button data-testid="bw-bubble" aria-label="Chat with us" aria-expanded="false">' +
    '<svg width="28" viewBox="0 0 24 24" fill="currentColor"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/></svg></button>';

  function emit(n) {
    host.dispatchEvent(new CustomEvent("bw:" + n, { bubbles: true, composed: true }));
  }

  function iframe() {
    // WebAssembly (or our script) is refused here: use the worker-served frame.
    state = 3;
    ifr = d.createElement("iframe");
    ifr.title = "Chat";
    ifr.src = api + "/v1/sites/" + encodeURIComponent(site) + "/frame?page=" + encodeURIComponent(loc.href);
    ifr.hidden = !wantOpen;
    root.appendChild(ifr);
    w.addEventListener("message", function (e) {
      var m = e.data;
      if (e.origin != new URL(api, loc.href).origin || typeof m != "string") return;
      if (m == "bw:close") toggle(0);
      // Events from the framed widget reach the host page as DOM events
      // (dataLayer pushes stay inside the frame).
      m.indexOf("bw:event:") || emit(m.slice(9));
    });
    emit("fallback");
  }

  function toggle(o) {
    wantOpen = o;
    ifr.hidden = !o;
    root.querySelector(sel).setAttribute("aria-expanded", !!o);
    o ? ifr.focus() : root.querySelector(sel).focus();
  }

  function load() {
    if (state) return;
    state = 1;
    try {
      // Throws under a CSP without 'wasm-unsafe-eval'.
      new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    } catch (e) {
      return frame || iframe();
    }
    import(base + "widget.js")
      .then(function (m) {
        return m.default({ module_or_path: base + "widget_bg.wasm" }).then(function () {
          m.mount(root, site, api, wantOpen, {
            frame: frame,
            pageUrl: frame ? new URLSearchParams(loc.search).get("page") : loc.href,
          });
          state = 2;
          bw.ms = performance.now() - t0;
          emit("mounted");
        });
      })
      .catch(function (e) {
        console.warn(e);
        frame || iframe();
      });
  }

  // Intent to open counts from the press, not the click: if the widget mounts between
  // press and release, the new bubble replaces the pressed one and the browser sends
  // the click to neither, so the homeowner's click would be lost.
  function want(e) {
    if (state < 2 && e.target.closest(sel)) {
      wantOpen = true;
      load();
    }
  }
  root.addEventListener("click", function (e) {
    state == 3 && e.target.closest(sel) ? toggle(!wantOpen) : want(e);
  });
  root.addEventListener("pointerdown", want);
  root.addEventListener("pointerover", load);
  root.addEventListener("focusin", load);

  function start() {
    d.body.appendChild(host);
    bw.shown = performance.now() - t0;
    if (wantOpen || saved || ds.load == "idle")
      (w.requestIdleCallback || setTimeout)(load, { timeout: 2000 });
  }
  d.body ? start() : d.addEventListener("DOMContentLoaded", start);
})(window, document);

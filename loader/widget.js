/*! Connect360 chat widget loader.
 * <script src="https://HOST/widget.js" data-widget-key="wk_…" async></script>
 * Optional (see README.md): data-locale, data-position, data-title,
 * data-color, data-theme, data-sound.
 * Once the page is idle it puts the launcher (and the widget's css) in a
 * shadow root; the widget itself (js + wasm) loads on first interaction, or
 * at once for a returning visitor. It never blocks the page, injects no
 * inline script or style, and defines one global:
 * window.Connect360Chat { open, close, toggle, identify, on, setLocale, setTheme }. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.Connect360Chat) return;
  // The server replaces this with {"js": …, "wasm": …, "css": …}.
  var assets = __CONNECT360_ASSETS__;
  // The build fills this in from the widget's Rust source (src/loader.rs):
  // its launcher icon and labels, locales, text colours and storage key.
  var shared = __CONNECT360_SHARED__;
  var base = new URL(script.src, location.href);
  var data = script.dataset;
  var config = {
    widgetKey: data.widgetKey,
    apiBase: base.origin,
    locale: data.locale || null,
    position: data.position || null,
    title: data.title || null,
    aiAgent: data.aiAgent || null,
    color: data.color || null,
    theme: data.theme || null,
    sound: data.sound || null
  };
  if (!config.widgetKey) {
    console.warn("Connect360: data-widget-key is missing on the widget script");
    return;
  }

  var widget = null;
  var queue = [];
  var listeners = { message: [], open: [], close: [] };

  // Calls made before the widget is ready are replayed once it is.
  function call(name, args) {
    if (widget) return widget[name].apply(widget, args);
    queue.push([name, args]);
    if (name !== "identify") load();
  }

  // Called by the widget; the callbacks run once it has returned, so that
  // they may call Connect360Chat again (e.g. identify on "open").
  function emit(type, detail) {
    var list = (listeners[type] || []).slice();
    Promise.resolve().then(function () {
      list.forEach(function (callback) {
        try {
          callback(detail);
        } catch (e) {
          setTimeout(function () { throw e; });
        }
      });
    });
  }

  // Before the widget is there, the choice goes into its config.
  function pref(key, name) {
    return function (value) {
      if (widget) widget[name](String(value));
      else config[key] = String(value);
    };
  }

  window.Connect360Chat = {
    open: function () { call("open", []); },
    close: function () { call("close", []); },
    toggle: function () { call("toggle", []); },
    identify: function (who) { call("identify", [JSON.stringify(who || {})]); },
    setLocale: pref("locale", "setLocale"),
    setTheme: pref("theme", "setTheme"),
    on: function (type, callback) {
      var list = listeners[type];
      if (!list || typeof callback !== "function") return function () {};
      list.push(callback);
      return function off() {
        var i = list.indexOf(callback);
        if (i >= 0) list.splice(i, 1);
      };
    }
  };

  function url(path) {
    return new URL(path, base).href;
  }

  var root, launcher, loading;

  // The launcher the widget will draw, drawn at once, without the widget.
  function placeholder() {
    var wrap = document.createElement("div");
    wrap.className = "c360-root";
    var panel = document.createElement("div");
    // The widget's language, as locale.rs picks it.
    var lang = [config.locale, document.documentElement.lang].concat(navigator.languages)
      .map(function (tag) { return String(tag).split(/[-_]/)[0].toLowerCase(); })
      .filter(function (l) { return shared.locales.indexOf(l) >= 0; })[0] || shared.locales[0];
    var side = String(config.position).trim().toLowerCase();
    var rtl = shared.rtl.indexOf(lang) >= 0;
    panel.className = side === "left" || (side !== "right" && rtl) ? "c360 c360-left" : "c360";
    launcher = document.createElement("button");
    launcher.type = "button";
    launcher.className = "c360-launcher";
    if (config.color) wrap.style.setProperty("--c360-accent", config.color);
    launcher.setAttribute("aria-label", shared.openChat[lang]);
    var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("class", "c360-icon c360-icon-chat");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", shared.icon);
    svg.appendChild(path);
    launcher.appendChild(svg);
    launcher.addEventListener("click", function () {
      launcher.classList.add("c360-waking");
      call("open", []);
    });
    // Intent: the bundle is on its way before the click.
    launcher.addEventListener("pointerenter", load);
    launcher.addEventListener("focus", load);
    launcher.addEventListener("touchstart", load, { passive: true });
    panel.appendChild(launcher);
    wrap.appendChild(panel);
    return wrap;
  }

  function boot() {
    var host = document.createElement("connect360-chat");
    root = host.attachShadow({ mode: "open" });
    var link = document.createElement("link");
    // data-nonce (or the script's own nonce): for a page whose CSP style-src
    // allows nonces and not this host.
    var nonce = data.nonce || script.nonce;
    if (nonce) link.nonce = nonce;
    link.rel = "stylesheet";
    link.href = url(assets.css);
    link.onload = function () {
      if (widget) return;
      var wrap = root.appendChild(placeholder());
      if (!config.color) return;
      // Text on the brand colour, as theme.rs picks it.
      var c = getComputedStyle(launcher).backgroundColor.match(/[\d.]+/g).map(function (v) {
        v /= 255;
        return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
      });
      var l = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2] + 0.05;
      wrap.style.setProperty("--c360-accent-contrast", 1.05 / l >= l / shared.inkLuminance ? shared.white : shared.ink);
    };
    root.appendChild(link);
    document.body.appendChild(host);
    var returning = false;
    try {
      returning = !!localStorage.getItem(shared.session.replace("{widgetKey}", config.widgetKey));
    } catch (e) {}
    if (returning || queue.length) load();
  }

  function load() {
    if (loading || !root) return;
    loading = true;
    import(url(assets.js))
      .then(function (bundle) {
        return bundle.default({ module_or_path: url(assets.wasm) }).then(function () {
          widget = bundle.mount(root, JSON.stringify(config), emit);
          var drawn = launcher && launcher.parentNode && launcher.parentNode.parentNode;
          // A keyboard on the stand-in keeps its place on the real launcher.
          var focused = root.activeElement === launcher;
          if (drawn) root.removeChild(drawn);
          if (focused && root.querySelector(".c360-launcher")) root.querySelector(".c360-launcher").focus();
          queue.splice(0).forEach(function (c) {
            widget[c[0]].apply(widget, c[1]);
          });
        });
      })
      .catch(function (e) {
        loading = false;
        console.error("Connect360: the chat widget could not load", e);
      });
  }

  function whenIdle() {
    if (window.requestIdleCallback) requestIdleCallback(boot, { timeout: 2000 });
    else setTimeout(boot, 1);
  }

  if (document.readyState === "complete") whenIdle();
  else addEventListener("load", whenIdle, { once: true });
})();

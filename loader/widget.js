/*! Connect360 chat widget loader.
 * <script src="https://HOST/widget.js" data-widget-key="wk_…" async></script>
 * Optional: data-locale (en|ar|tr), data-position (right|left), data-title, data-color.
 * Loads the widget (css, js, wasm) into a shadow root once the page is idle;
 * never blocks the page, injects no inline script or style, and defines one
 * global: window.Connect360Chat { open, close, toggle, identify, on }. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.Connect360Chat) return;
  // The server replaces this with {"js": …, "wasm": …, "css": …}.
  var assets = __CONNECT360_ASSETS__;
  var base = new URL(script.src, location.href);
  var data = script.dataset;
  var config = {
    widgetKey: data.widgetKey,
    apiBase: base.origin,
    locale: data.locale || null,
    position: data.position || null,
    title: data.title || null,
    color: data.color || null
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
    if (widget) widget[name].apply(widget, args);
    else queue.push([name, args]);
  }

  function emit(type, detail) {
    (listeners[type] || []).slice().forEach(function (callback) {
      try {
        callback(detail);
      } catch (e) {
        setTimeout(function () { throw e; });
      }
    });
  }

  window.Connect360Chat = {
    open: function () { call("open", []); },
    close: function () { call("close", []); },
    toggle: function () { call("toggle", []); },
    identify: function (who) { call("identify", [JSON.stringify(who || {})]); },
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

  function boot() {
    var host = document.createElement("connect360-chat");
    var root = host.attachShadow({ mode: "open" });
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = url(assets.css);
    var styled = new Promise(function (done) {
      link.onload = link.onerror = done;
    });
    root.appendChild(link);
    document.body.appendChild(host);
    Promise.all([import(url(assets.js)), styled])
      .then(function (loaded) {
        var bundle = loaded[0];
        return bundle.default({ module_or_path: url(assets.wasm) }).then(function () {
          widget = bundle.mount(root, JSON.stringify(config), emit);
          queue.splice(0).forEach(function (c) {
            widget[c[0]].apply(widget, c[1]);
          });
        });
      })
      .catch(function (e) {
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

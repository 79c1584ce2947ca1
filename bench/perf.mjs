// Page performance of the widget on the demo shop, in headless Chromium
// against the real server (`serve --demo`). See bench/perf for how to run it.
//
// 1. Before any interaction, the page loaded RUNS times each way:
//      without    the demo page with the widget's <script> tag removed
//      first      with the widget, a first visit (new browser context: empty
//                 HTTP cache, nothing stored); the loader draws the launcher
//                 and loads nothing more until the visitor reaches for it
//      returning  with the widget, a returning visitor (HTTP cache warm, the
//                 session in localStorage): the bundle loads at once
//    From navigation until WINDOW ms after the load event, with no input:
//      long tasks  PerformanceObserver 'longtask' entries (count, total ms)
//      TBT         total blocking time: the sum over long tasks of (duration - 50 ms)
//      CLS         the sum of 'layout-shift' scores without recent input
//      load        the load event's time after navigation start (ms)
// 2. Click to history: the time from the click on the launcher (the click
//    event's timeStamp) to the first animation frame in which the panel is
//    open and its list shows the visitor's history: the empty-state line for
//    a new visitor, the newest of 20 seeded messages for a returning one.
//    The click comes 500 ms after the launcher is drawn.
//      cold first visit      new context: empty HTTP cache, nothing stored
//      warm first visit      HTTP cache warm, localStorage cleared
//      warm returning        HTTP cache warm, session stored, 20 messages
//
// Prints medians (and min..max) and exits 1 when a budget fails:
//   TBT added before interaction (median with - median without) <= 50 ms, first and returning
//   CLS added before interaction (max with - max without)       <= 0, first and returning
//   click to history, warm (median)                             <= 1500 ms, both warm rows
//
// Environment: CONNECT360_SERVER_BIN (default target/release/connect360-server),
// CONNECT360_WIDGET_DIR (default dist), CHROMIUM (default /usr/bin/chromium),
// PERF_RUNS (default 5), PERF_WINDOW_MS (default 5000).
import { createRequire } from 'node:module';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.env.CONNECT360_SERVER_BIN ??= path.join(ROOT, 'target/release/connect360-server');
process.env.CONNECT360_WIDGET_DIR ??= path.join(ROOT, 'dist');
const RUNS = Number(process.env.PERF_RUNS ?? 5);
const WINDOW = Number(process.env.PERF_WINDOW_MS ?? 5000);
const BUDGET = { tbtAddedMs: 50, clsAdded: 0, clickToHistoryWarmMs: 1500 };

// Playwright from tests/e2e's node_modules (npm ci there), driving Debian's Chromium.
const { chromium } = createRequire(path.join(ROOT, 'tests/e2e/package.json'))('@playwright/test');
const { Server } = await import(path.join(ROOT, 'tests/e2e/server.js'));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/** Fails unless the server answers the wasm with brotli (build_widget writes the .br beside it): else the figures would be of an uncompressed bundle. */
async function assertBrotli(server) {
  const loader = await (await fetch(`${server.url}/widget.js`)).text();
  const wasm = loader.match(/"wasm":"([^"]+)"/)[1];
  const encoding = () =>
    new Promise((resolve, reject) => {
      http.get(`${server.url}${wasm}`, { headers: { 'accept-encoding': 'br, gzip' } }, (res) => {
        res.resume();
        resolve(res.headers['content-encoding']);
      }).on('error', reject);
    });
  const got = await encoding();
  if (got !== 'br') throw new Error(`the server answers the wasm with ${got ?? 'no'} content-encoding, not br: build the widget with build_widget (scripts/lib.sh)`);
}

// Observers from the very start of the document (an init script runs before the page's).
function observe() {
  window.__perf = { longtasks: [], shifts: [] };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__perf.longtasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__perf.shifts.push({ start: e.startTime, value: e.value, input: e.hadRecentInput });
  }).observe({ type: 'layout-shift', buffered: true });
}

/** Loads `url` in `page`, waits WINDOW ms after load without input, and reads the metrics. */
async function pageLoad(page, url) {
  await page.goto(url, { waitUntil: 'load' });
  const loadAt = await page.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventEnd);
  await page.waitForTimeout(WINDOW);
  const perf = await page.evaluate(() => window.__perf);
  const until = loadAt + WINDOW;
  const tasks = perf.longtasks.filter((t) => t.start <= until);
  return {
    longTasks: tasks.length,
    longTaskMs: tasks.reduce((s, t) => s + t.duration, 0),
    tbt: tasks.reduce((s, t) => s + Math.max(0, t.duration - 50), 0),
    cls: perf.shifts.filter((s) => !s.input && s.start <= until).reduce((s, x) => s + x.value, 0),
    load: loadAt,
    widget: await page.locator('connect360-chat').count(),
  };
}

/** Clicks the launcher 500 ms after it is drawn; ms from the click to the history shown. */
async function clickToHistory(page, url, newest) {
  await page.goto(url, { waitUntil: 'load' });
  const launcher = page.locator('connect360-chat .c360-launcher');
  await launcher.first().waitFor({ timeout: 30_000 });
  await page.waitForTimeout(500);
  await page.evaluate((newest) => {
    window.__shown = new Promise((resolve) => {
      let clickedAt = null;
      addEventListener('click', (e) => { clickedAt ??= e.timeStamp; }, { capture: true });
      const frame = () => {
        const panel = document.querySelector('connect360-chat')?.shadowRoot?.querySelector('.c360-panel');
        const shown = panel && !panel.hidden && (newest
          ? [...panel.querySelectorAll('.c360-row .c360-bubble')].some((b) => b.textContent === newest)
          : panel.querySelector('.c360-list .c360-empty'));
        if (clickedAt !== null && shown) resolve(performance.now() - clickedAt);
        else requestAnimationFrame(frame);
      };
      requestAnimationFrame(frame);
    });
  }, newest);
  // Only one launcher is ever in the page at a time (the loader's until the widget mounts).
  await launcher.first().click();
  return page.evaluate(() => window.__shown);
}

const server = await Server.start();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
const started = { at: new Date().toISOString(), load: load() };
try {
  await assertBrotli(server);
  const pageUrl = `${server.url}/`;

  // The demo page, passed through Playwright in every case so that each
  // pays the same for it; without the widget, its script tag removed.
  const newContext = async ({ widget = true } = {}) => {
    const context = await browser.newContext();
    await context.addInitScript(observe);
    await context.route(pageUrl, async (route) => {
      const response = await route.fetch();
      let html = await response.text();
      if (!widget) html = html.replace(/<script src="\/widget\.js"[^>]*><\/script>/, '');
      await route.fulfill({ response, body: html });
    });
    return context;
  };

  // A returning visitor: one visit that opened the panel (a session), then
  // every run is a new page in the same context.
  const returning = await newContext();
  {
    const page = await returning.newPage();
    await clickToHistory(page, pageUrl, null);
    await page.close();
  }

  const loads = { without: [], first: [], returning: [] };
  // One round first that is not counted: the browser and server warm up.
  for (let round = 0; round <= RUNS; round++) {
    const results = {};
    for (const kind of ['without', 'first', 'returning']) {
      const context = kind === 'returning' ? returning : await newContext({ widget: kind !== 'without' });
      const page = await context.newPage();
      results[kind] = await pageLoad(page, pageUrl);
      await page.close();
      if (kind !== 'returning') await context.close();
    }
    if (results.without.widget !== 0 || results.first.widget !== 1 || results.returning.widget !== 1) {
      throw new Error(`the widget's element is not where it should be: ${JSON.stringify(results)}`);
    }
    if (round > 0) for (const kind of Object.keys(loads)) loads[kind].push(results[kind]);
    process.stderr.write(`page load round ${round}/${RUNS} done\n`);
  }
  await returning.close();

  const clicks = { cold: [], warmFirst: [], warmReturning: [] };
  for (let round = 0; round <= RUNS; round++) {
    const context = await newContext();
    const page = await context.newPage();
    const cold = await clickToHistory(page, pageUrl, null);
    await page.evaluate(() => localStorage.clear());
    const warmFirst = await clickToHistory(page, pageUrl, null);
    const stored = await page.evaluate((key) => localStorage.getItem(`connect360:${key}:session`), server.widgetKey);
    const conversation = await server.conversationOf(JSON.parse(stored).externalId);
    await server.sendMany(conversation.id, Array.from({ length: 20 }, (_, i) => `history ${i}`));
    const warmReturning = await clickToHistory(page, pageUrl, 'history 19');
    await context.close();
    if (round > 0) {
      clicks.cold.push(cold);
      clicks.warmFirst.push(warmFirst);
      clicks.warmReturning.push(warmReturning);
    }
    process.stderr.write(`click-to-history round ${round}/${RUNS} done\n`);
  }

  // --- the report ---
  const version = browser.version();
  const fmt = (xs, digits = 0) => {
    const f = (x) => x.toFixed(digits);
    return `${f(median(xs))} (${f(Math.min(...xs))}..${f(Math.max(...xs))})`;
  };
  console.log(`bench/perf: ${RUNS} runs each (after one warm-up round), Chromium ${version} headless, ` +
    `${os.cpus().length} CPUs, load average at start ${started.load}, at end ${load()}`);
  console.log(`window: navigation until ${WINDOW} ms after the load event, no input; median (min..max)`);
  console.log('');
  const cols = ['page', 'long tasks', 'long task ms', 'TBT ms', 'CLS', 'load ms'];
  const widths = [34, 14, 18, 18, 26, 16];
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('').trimEnd();
  console.log(line(cols));
  const names = { without: 'without the widget', first: 'widget, first visit (cold cache)', returning: 'widget, returning (warm, session)' };
  for (const [kind, rs] of Object.entries(loads)) {
    console.log(line([names[kind], fmt(rs.map((r) => r.longTasks)), fmt(rs.map((r) => r.longTaskMs)), fmt(rs.map((r) => r.tbt)),
      fmt(rs.map((r) => r.cls), 4), fmt(rs.map((r) => r.load))]));
  }
  console.log('');
  console.log('click on the launcher to the history shown (ms; the panel open and its list drawn: the empty-state line for a new');
  console.log('visitor, the newest of 20 messages for a returning one; clicked 500 ms after the launcher is drawn)');
  const clickNames = { cold: 'first visit, cold cache', warmFirst: 'first visit, warm cache', warmReturning: 'returning visitor, warm cache' };
  for (const [kind, xs] of Object.entries(clicks)) console.log(line([clickNames[kind], fmt(xs)]));

  // --- the budgets ---
  const over = [];
  const check = (ok, text) => {
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${text}`);
    if (!ok) over.push(text);
  };
  console.log('');
  const tbt = (kind) => median(loads[kind].map((r) => r.tbt));
  const cls = (kind) => Math.max(...loads[kind].map((r) => r.cls));
  for (const kind of ['first', 'returning']) {
    const added = tbt(kind) - tbt('without');
    check(added <= BUDGET.tbtAddedMs, `TBT added, ${names[kind]}: ${added.toFixed(0)} ms <= ${BUDGET.tbtAddedMs} ms`);
    const shift = cls(kind) - cls('without');
    check(shift <= BUDGET.clsAdded + 1e-9, `CLS added (max of runs), ${names[kind]}: ${shift.toFixed(4)} <= ${BUDGET.clsAdded}`);
  }
  for (const kind of ['warmFirst', 'warmReturning']) {
    const m = median(clicks[kind]);
    check(m <= BUDGET.clickToHistoryWarmMs, `click to history, ${clickNames[kind]}: ${m.toFixed(0)} ms <= ${BUDGET.clickToHistoryWarmMs} ms`);
  }
  console.log(over.length ? `OVER BUDGET: ${over.length} of 6` : 'within budget');
  process.exitCode = over.length ? 1 : 0;
} finally {
  await browser.close();
  await server.stop();
}

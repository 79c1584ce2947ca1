// Embedding safely: the widget on a site that is not the widget's server, as
// a site owner embeds it: under a strict Content-Security-Policy (no inline
// script or style; a nonce for style-src), and on pages whose CSS is hostile
// to anything it does not know about.
import http from 'node:http';
import { test, expect } from '@playwright/test';
import { Server } from './server.js';
import { openPanel, panel, row, send as sendFromComposer } from './panel.js';

let server;
let site;
test.beforeEach(async () => {
  server = await Server.start();
  site = await Site.start();
});
test.afterEach(async () => {
  await site?.stop();
  await server?.stop();
});

/**
 * The site that embeds the widget: another origin (`http://localhost:PORT`,
 * while the widget's server is `http://127.0.0.1:PORT`; the demo widget
 * allows both hosts, and the server matches an Origin by host alone). Each
 * path serves the page set for it, with the headers set for it.
 */
class Site {
  static async start() {
    const site = new Site();
    await new Promise((resolve) => site.http.listen(0, '127.0.0.1', resolve));
    site.url = `http://localhost:${site.http.address().port}`;
    return site;
  }

  constructor() {
    this.pages = new Map();
    this.http = http.createServer((req, res) => {
      const path = new URL(req.url, 'http://x').pathname;
      const page = this.pages.get(path);
      if (path === '/favicon.ico') {
        res.writeHead(204).end();
        return;
      }
      if (!page) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...page.headers });
      res.end(page.html);
    });
  }

  /** Serves `html` at `path` and returns its URL. */
  page(path, html, headers = {}) {
    this.pages.set(path, { html, headers });
    return this.url + path;
  }

  stop() {
    this.http.closeAllConnections();
    return new Promise((resolve) => this.http.close(resolve));
  }
}

/** The script tag a site adds, with extra attributes. */
const widgetTag = (attrs = '') => `<script src="${server.url}/widget.js" data-widget-key="${server.widgetKey}" ${attrs} async></script>`;

/** A page of a small site: text enough to scroll, and the widget's tag. */
function shopPage({ head = '', tag = widgetTag(), beforeTag = '' } = {}) {
  const paragraphs = Array.from({ length: 30 }, (_, i) => `<p>Paragraph ${i} of the host page, with a <a href="#">link</a> and <button type="button">a button</button>.</p>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Host page</title>
${head}
</head>
<body>
<header><nav><a href="#">Home</a> <a href="#">Shop</a></nav></header>
<main><section><h1>A shop</h1><div>${paragraphs}</div></section></main>
${beforeTag}
${tag}
</body>
</html>`;
}

/** The policy of issue 6, with the widget's server as `<widget host>`. */
const strictPolicy = () =>
  `default-src 'self'; script-src 'self' 'wasm-unsafe-eval' ${server.url}; style-src 'self' ${server.url}; ` +
  `connect-src 'self' ${server.url}; img-src 'self' ${server.url} data:`;

/** The same with nonces instead of hosts where given, and no `data:` images (the widget uses none). */
function noncePolicy({ scriptNonce, styleNonce }) {
  let policy = strictPolicy().replace(' data:', '');
  if (scriptNonce) policy = policy.replace(`script-src 'self' 'wasm-unsafe-eval' ${server.url}`, `script-src 'nonce-${scriptNonce}' 'wasm-unsafe-eval'`);
  if (styleNonce) policy = policy.replace(`style-src 'self' ${server.url}`, `style-src 'nonce-${styleNonce}'`);
  return policy;
}

/**
 * Everything the page reports: CSP violations (listened for by an init
 * script, which the page's policy does not govern), console errors and
 * uncaught exceptions.
 */
async function watch(page) {
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (err) => problems.push(`exception: ${err.message}`));
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} ${e.sample || ''}`.trim());
    }, true);
  });
  return async () => [...problems, ...(await page.evaluate(() => window.__cspViolations.map((v) => `csp: ${v}`)))];
}

/** Sends from the composer and waits until it is stored. */
async function send(page, text) {
  await sendFromComposer(page, text);
  await expect(row(page, text).locator('.c360-status')).toHaveText('Sent');
}

async function conversationOf(page) {
  const stored = await page.evaluate((key) => localStorage.getItem(`connect360:${key}:session`), server.widgetKey);
  expect(stored, 'the widget stored its session').toBeTruthy();
  return (await server.conversationOf(JSON.parse(stored).externalId)).id;
}

// A valid 1×1 PNG.
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

/** The demo's FAQ assistant, as the demo page names it. */
async function demoAssistant() {
  const html = await (await fetch(server.url + '/')).text();
  return html.match(/data-ai-agent="([^"]+)"/)[1];
}

/**
 * Everything the widget does over the network and in the DOM, under the
 * page's policy; with `assistant`, the page's widget names the demo's AI
 * assistant (data-ai-agent), whose answer is streamed.
 */
async function chatUnderPolicy(page, url, { assistant = false } = {}) {
  const problems = await watch(page);
  const response = await page.goto(url);
  expect(response.headers()['content-security-policy']).toMatch(/^default-src 'self'; script-src /);
  await openPanel(page);
  await send(page, 'hello from a strict page');
  if (assistant) {
    await send(page, 'How long does shipping take?');
    await expect(panel(page).locator('.c360-row.c360-theirs .c360-bubble', { hasText: 'within two working days' })).toBeVisible({ timeout: 40_000 });
  }
  await server.call('v1.connect.send', { conversationId: await conversationOf(page), content: { en: 'Support, under CSP too.' } });
  await expect(row(page, 'Support, under CSP too.')).toBeVisible({ timeout: 40_000 });

  await panel(page).locator('input.c360-file-input').setInputFiles([{ name: 'photo.png', mimeType: 'image/png', buffer: png }]);
  await expect(panel(page).locator('.c360-upload').filter({ hasText: 'photo.png' })).toBeVisible();
  await expect(panel(page).locator('.c360-upload progress')).toHaveCount(0);
  await send(page, 'a photo');
  const thumb = row(page, 'a photo').locator('img.c360-thumb-image');
  await expect.poll(() => thumb.evaluate((img) => img.complete && img.naturalWidth), { message: 'the thumbnail loads (img-src)' }).toBe(1);

  // The widget's stylesheet applied (style-src): the launcher is the accent-coloured circle.
  const launcher = await page.locator('connect360-chat .c360-launcher').evaluate((el) => {
    const s = getComputedStyle(el);
    return { position: s.position, radius: s.borderRadius, width: s.width };
  });
  expect(launcher).toEqual({ position: 'fixed', radius: '50%', width: '56px' });
  expect(await problems(), 'no CSP violation, console error or exception').toEqual([]);
}

test.describe('under a strict Content-Security-Policy', () => {
  test('the widget opens, sends, shows an AI answer, a reply and an image, with no violation', async ({ page }) => {
    const tag = widgetTag(`data-ai-agent="${await demoAssistant()}"`);
    const url = site.page('/', shopPage({ tag }), { 'content-security-policy': strictPolicy() });
    await chatUnderPolicy(page, url, { assistant: true });
  });

  test('style-src with only a nonce: the loader puts data-nonce on its stylesheet', async ({ page }) => {
    const nonce = 'c2l0ZS1ub25jZS0x';
    const policy = noncePolicy({ styleNonce: nonce });
    const url = site.page('/', shopPage({ tag: widgetTag(`data-nonce="${nonce}"`) }), { 'content-security-policy': policy });
    await chatUnderPolicy(page, url);
  });

  test("script-src and style-src with only a nonce: the loader takes its script's nonce", async ({ page }) => {
    const nonce = 'c2l0ZS1ub25jZS0y';
    const policy = noncePolicy({ scriptNonce: nonce, styleNonce: nonce });
    const url = site.page('/', shopPage({ tag: widgetTag(`nonce="${nonce}"`) }), { 'content-security-policy': policy });
    await chatUnderPolicy(page, url);
  });

  test('the test can tell: a stylesheet without the nonce is reported', async ({ page }) => {
    // The same nonce-only style-src, but the site gives the loader no nonce:
    // the widget's stylesheet is refused and the watcher sees it.
    const policy = noncePolicy({ styleNonce: 'bm90LWdpdmVu' });
    const problems = await watch(page);
    await page.goto(site.page('/', shopPage(), { 'content-security-policy': policy }));
    await expect.poll(async () => (await problems()).some((p) => p.startsWith('csp: style-src-elem blocked'))).toBe(true);
  });
});

// --- hostile host pages -----------------------------------------------------

/** Everything a page may not change: the boxes and the looks of the panel's parts. */
const PARTS = {
  launcher: '.c360-launcher',
  panel: '.c360-panel',
  header: '.c360-header',
  title: '.c360-title',
  close: '.c360-close',
  list: '.c360-list',
  bubble: '.c360-row .c360-bubble',
  input: '.c360-input',
  send: '.c360-send',
};
const PROPS = [
  'font-family', 'font-size', 'font-weight', 'font-style', 'line-height', 'letter-spacing', 'word-spacing',
  'text-transform', 'text-indent', 'text-align', 'text-shadow', 'white-space', 'writing-mode', 'direction',
  'color', 'background-color', 'border-top-width', 'border-radius', 'box-sizing', 'padding-top', 'padding-left',
  'cursor', 'visibility', 'opacity', 'z-index', 'position', 'display',
];

/**
 * Opens the panel on `url` with the API (not with a click: whether a click
 * reaches the launcher is tested on its own), sends a message, and measures
 * the panel.
 */
async function measure(browser, url) {
  // Animations off, so that boxes are measured at rest.
  const context = await browser.newContext({ reducedMotion: 'reduce' });
  const page = await context.newPage();
  await page.goto(url);
  await expect(page.locator('connect360-chat .c360-launcher')).toHaveCount(1);
  await page.evaluate(() => window.Connect360Chat.open());
  await expect(panel(page)).toBeVisible({ timeout: 30_000 });
  await send(page, 'hello, styled page');
  // Typing scrolled whatever holds the input into view; fixed boxes stay put
  // when the page scrolls back, boxes trapped in the page's flow do not.
  await page.evaluate(() => window.scrollTo(0, 0));
  const found = await page.evaluate(({ parts, props }) => {
    const root = document.querySelector('connect360-chat').shadowRoot;
    const out = {};
    for (const [name, selector] of Object.entries(parts)) {
      const el = root.querySelector(selector);
      if (!el) {
        out[name] = null;
        continue;
      }
      const r = el.getBoundingClientRect();
      const s = getComputedStyle(el);
      out[name] = { box: [r.x, r.y, r.width, r.height], style: Object.fromEntries(props.map((p) => [p, s.getPropertyValue(p)])) };
    }
    return out;
  }, { parts: PARTS, props: PROPS });
  return { page, context, found };
}

function expectSameLooks(hostile, clean) {
  for (const name of Object.keys(PARTS)) {
    expect(hostile[name], `${name} is there`).not.toBeNull();
    hostile[name].box.forEach((v, i) => {
      const what = ['x', 'y', 'width', 'height'][i];
      expect(Math.abs(v - clean[name].box[i]), `${name} ${what}: ${v} on the hostile page, ${clean[name].box[i]} on a clean one`).toBeLessThanOrEqual(1);
    });
    expect(hostile[name].style, `${name}'s computed style`).toEqual(clean[name].style);
  }
}

/** The launcher and the panel are on top of the page, where they are drawn. */
async function expectOnTop(page) {
  const hits = await page.evaluate(() => {
    const host = document.querySelector('connect360-chat');
    const root = host.shadowRoot;
    const centre = (selector) => {
      const r = root.querySelector(selector).getBoundingClientRect();
      return [r.x + r.width / 2, r.y + r.height / 2];
    };
    const at = (selector) => {
      const [x, y] = centre(selector);
      const topHit = document.elementFromPoint(x, y);
      const inner = root.elementFromPoint(x, y);
      return { page: topHit === host, inside: !!inner && !!inner.closest(selector) };
    };
    return { launcher: at('.c360-launcher'), list: at('.c360-list'), input: at('.c360-input'), send: at('.c360-send') };
  });
  for (const [name, hit] of Object.entries(hits)) expect(hit, `the ${name} is what is under its centre`).toEqual({ page: true, inside: true });
}

/** An element of the page over the corner where the widget is, above everything else the page has. */
const cover = '<div class="cover" aria-hidden="true"></div>';

// `* { all: unset !important }`, and then, as important, every inherited
// property the widget would otherwise take from the page, and the rules that
// would trap a fixed element in a box of the page's (a stacking context, a
// containing block).
const NUCLEAR = `<style>
* { all: unset !important; }
* {
  font-family: "Comic Sans MS", cursive, serif !important; font-size: 23px !important; font-weight: 900 !important;
  font-style: italic !important; line-height: 3 !important; letter-spacing: 3px !important; word-spacing: 9px !important;
  text-transform: uppercase !important; text-indent: 40px !important; text-align: right !important;
  text-shadow: 2px 2px 0 lime !important; white-space: pre !important; color: rgb(255, 0, 0) !important;
  cursor: crosshair !important; box-sizing: content-box !important;
}
html { font-size: 8px !important; }
head, script, style { display: none !important; }
body > * { display: block !important; position: relative !important; z-index: 1 !important; filter: saturate(1) !important; }
.cover {
  position: fixed !important; right: 0 !important; bottom: 0 !important; width: 60vw !important; height: 100vh !important;
  z-index: 2147483647 !important; background: rgb(255 0 0 / 0.15) !important; filter: none !important;
}
</style>`;

// A framework's reset (normalize / Bootstrap reboot, trimmed) and the usual
// habits: a global content-box, 8px rem base, buttons unset, every section a
// positioned flex box, a page wrapper that is transformed, huge z-indexes.
const FRAMEWORK = `<style>
*, *::before, *::after { box-sizing: content-box !important; }
html { font-size: 8px; line-height: 1.15; -webkit-text-size-adjust: 100%; -webkit-tap-highlight-color: transparent; }
body {
  margin: 0; font-family: Georgia, "Times New Roman", serif; font-size: 2rem; font-weight: 300; line-height: 2.5;
  color: #c00; background: #ffe; text-align: justify; letter-spacing: .1em; word-spacing: 6px; text-transform: uppercase;
  font-style: italic; cursor: wait; text-shadow: 1px 1px 0 #0f0;
}
h1, h2, h3, p { margin-top: 0; margin-bottom: 1rem; font-size: 4rem; }
a { color: #0d6efd; text-decoration: underline; }
button { all: unset; }
button, input, select, textarea { margin: 0; font-family: inherit; font-size: inherit; line-height: inherit; border-radius: 0; }
button, [type="button"], [type="submit"] { -webkit-appearance: button; padding: 12px 24px; border: 3px solid lime; }
textarea { resize: vertical; overflow: auto; }
img, svg { vertical-align: middle; width: 100px; height: 100px; }
[hidden] { display: block !important; }
div, section, header { display: flex; flex-direction: column; position: relative; z-index: 10; padding: 20px; margin: 10px; border: 2px dashed blue; }
body > * { display: block; position: relative; z-index: 99999; transform: translateZ(0); will-change: transform; contain: paint; }
.cover { position: fixed; right: 0; bottom: 0; width: 50vw; height: 100vh; z-index: 2147483647; background: rgb(0 0 255 / 0.15); transform: none; contain: none; margin: 0; padding: 0; border: 0; }
</style>`;

for (const [name, style] of [['all: unset !important everywhere', NUCLEAR], ['a CSS framework reset, content-box, transforms, huge z-indexes', FRAMEWORK]]) {
  test(`a hostile host page (${name}) changes neither how the panel looks nor how it works`, async ({ browser }) => {
    const clean = await measure(browser, site.page('/clean', shopPage({ beforeTag: cover })));
    await clean.context.close();
    const hostile = await measure(browser, site.page('/hostile', shopPage({ head: style, beforeTag: cover })));
    const { page } = hostile;
    // The page's rules did apply to the page (or the test proves nothing).
    expect(await page.locator('main').evaluate((el) => getComputedStyle(el).position)).toBe('relative');
    expect(await page.locator('.cover').evaluate((el) => getComputedStyle(el).zIndex)).toBe('2147483647');

    expectSameLooks(hostile.found, clean.found);
    await expectOnTop(page);
    // It still works, with the pointer: a reply arrives, the close button
    // and the launcher close and open it, a message is sent with the button.
    await server.call('v1.connect.send', { conversationId: await conversationOf(page), content: { en: 'Still readable.' } });
    await expect(row(page, 'Still readable.')).toBeVisible({ timeout: 40_000 });
    await panel(page).locator('.c360-close').click({ timeout: 5_000 });
    await expect(panel(page)).toBeHidden();
    await page.locator('connect360-chat .c360-launcher').click({ timeout: 5_000 });
    await expect(panel(page)).toBeVisible();
    await panel(page).locator('.c360-input').click({ timeout: 5_000 });
    await page.keyboard.type('typed and sent with the button');
    await panel(page).locator('.c360-send').click({ timeout: 5_000 });
    await expect(row(page, 'typed and sent with the button').locator('.c360-status')).toHaveText('Sent');
    // What the page may set still reaches in: the theme's custom properties.
    await page.evaluate(() => {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync('connect360-chat { --c360-accent: rgb(1, 2, 3); }');
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    });
    await expect(page.locator('connect360-chat .c360-send')).toHaveCSS('background-color', 'rgb(1, 2, 3)');
    // A site that wants the widget gone hides its element.
    await page.locator('connect360-chat').evaluate((host) => { host.hidden = true; });
    await expect(page.locator('connect360-chat .c360-launcher')).toBeHidden();
    await hostile.context.close();
  });
}

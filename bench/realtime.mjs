// Real time (issue 13): support reply stored -> visible in an open, idle
// widget. See bench/realtime for how to run it.
//
// The demo shop in headless Chromium against the real server (`serve
// --demo`), the release bundle as build_widget makes it. The visitor opens
// the panel and sends a message; the page then sits idle. REPLIES times,
// SPACING ms apart (idle long enough that polling, if it were what brought
// replies, would have backed off), support sends a reply with the API key
// (`v1.connect.send`, as a backend would):
//   stored   Date.now() in node when the send's answer (its acknowledgement:
//            the message is stored) has arrived
//   visible  Date.now() in the page in the first animation frame after a
//            MutationObserver saw the reply's bubble in the panel's list
// Same machine, same clock. Prints p50, p99 and max of visible - stored, and
// whether p99 < 1000 ms (the goal); exit status 1 when not.
//
// REALTIME_BLOCK_STREAM=1 blocks the event stream (page.route aborts it): the
// widget then polls as it did before the stream (2 s doubling to 30 s while
// idle), for the figures before.
//
// Environment: CONNECT360_SERVER_BIN (default target/release/connect360-server),
// CONNECT360_WIDGET_DIR (default dist), CHROMIUM (default /usr/bin/chromium),
// REALTIME_REPLIES (default 60), REALTIME_SPACING_MS (default 1500).
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.env.CONNECT360_SERVER_BIN ??= path.join(ROOT, 'target/release/connect360-server');
process.env.CONNECT360_WIDGET_DIR ??= path.join(ROOT, 'dist');
const REPLIES = Number(process.env.REALTIME_REPLIES ?? 60);
const SPACING = Number(process.env.REALTIME_SPACING_MS ?? 1500);
const BLOCK_STREAM = process.env.REALTIME_BLOCK_STREAM === '1';
const GOAL_P99_MS = 1000;

const { chromium } = createRequire(path.join(ROOT, 'tests/e2e/package.json'))('@playwright/test');
const { Server } = await import(path.join(ROOT, 'tests/e2e/server.js'));

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};

// In the page: when each bubble with text `reply <n>` is first drawn.
function watch() {
  window.__seen = {};
  const list = document.querySelector('connect360-chat').shadowRoot.querySelector('.c360-list');
  new MutationObserver(() => {
    for (const bubble of list.querySelectorAll('.c360-bubble')) {
      const m = bubble.textContent.match(/^reply (\d+)$/);
      if (m && !(m[1] in window.__seen)) {
        window.__seen[m[1]] = null;
        requestAnimationFrame(() => { window.__seen[m[1]] = Date.now(); });
      }
    }
  }).observe(list, { childList: true, subtree: true, characterData: true });
}

const server = await Server.start();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
let failed = false;
try {
  const page = await browser.newPage();
  // The demo shop without its AI agent: only support's replies come.
  await page.route(`${server.url}/`, async (route) => {
    const response = await route.fetch();
    const html = (await response.text()).replace(/ data-ai-agent="[^"]*"/, '');
    await route.fulfill({ response, body: html });
  });
  const EVENTS = /\/api\/v1\/connect\/events/;
  if (BLOCK_STREAM) await page.route(EVENTS, (route) => route.abort('connectionreset'));
  const streamed = BLOCK_STREAM ? null : page.waitForResponse(EVENTS, { timeout: 60_000 });
  await page.goto(server.url);
  const launcher = page.locator('connect360-chat .c360-launcher');
  await launcher.first().hover();
  await page.locator('connect360-chat .c360-panel').waitFor({ state: 'attached', timeout: 60_000 });
  await page.waitForFunction(() => document.querySelector('connect360-chat').shadowRoot.querySelectorAll('.c360-launcher').length === 1);
  await launcher.click();
  const input = page.locator('connect360-chat .c360-input');
  await input.fill('Hello, a question about my order.');
  await input.press('Enter');
  await page.locator('connect360-chat .c360-status', { hasText: 'Sent' }).waitFor({ timeout: 30_000 });
  await streamed;
  const stored = await page.evaluate((key) => localStorage.getItem(`connect360:${key}:session`), server.widgetKey);
  const conversationId = (await server.conversationOf(JSON.parse(stored).externalId)).id;
  await page.evaluate(watch);
  await page.waitForTimeout(SPACING);

  const latencies = [];
  for (let i = 0; i < REPLIES; i++) {
    await server.call('v1.connect.send', { conversationId, content: { en: `reply ${i}` } });
    const storedAt = Date.now();
    const visibleAt = await page
      .waitForFunction((n) => window.__seen[n] ?? false, String(i), { timeout: 60_000, polling: 'raf' })
      .then((h) => h.jsonValue());
    latencies.push(visibleAt - storedAt);
    await page.waitForTimeout(SPACING);
  }
  const p50 = quantile(latencies, 0.5);
  const p99 = quantile(latencies, 0.99);
  const max = Math.max(...latencies);
  const how = BLOCK_STREAM ? 'stream blocked: polling' : 'event stream';
  console.log(`support reply stored -> visible in an open idle widget (${how}), ${REPLIES} replies ${SPACING} ms apart (load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})`);
  console.log(`p50 ${p50} ms   p99 ${p99} ms   max ${max} ms   min ${Math.min(...latencies)} ms`);
  failed = !(p99 < GOAL_P99_MS);
  console.log(failed ? `p99 over the goal of ${GOAL_P99_MS} ms` : `p99 under the goal of ${GOAL_P99_MS} ms`);
} finally {
  await browser.close();
  await server.stop();
}
process.exit(failed ? 1 : 0);

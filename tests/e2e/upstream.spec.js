// Issue 17: the widget on a proxy in upstream mode. Our own server in normal
// mode (`serve --demo`: a workspace, its FAQ assistant and a key) plays the
// hosted API; the proxy holds an API key of it, has a widget of its own for
// 127.0.0.1 and forwards the visitor's calls. Nothing is mocked.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { BIN, WIDGET_DIR, Server, freePort } from './server.js';
import { downloadInPage, openPanel, panel, recordAssistant, row, send, sendThroughOutage, streamedAnswer } from './panel.js';
import { storedVisitor, twoVisitorsKeptApart } from './visitors.js';

const KEY_ENV = 'C360_E2E_UPSTREAM_KEY';

/**
 * A server in upstream mode in front of `upstream`, with an engage key of it
 * and a widget for 127.0.0.1; it reaches the upstream at `via` (its URL unless
 * a front stands between them), with the extra flags `args`.
 */
class Proxy {
  static async start(upstream, { via = upstream.url, args: extra = [] } = {}) {
    const key = upstream.cli('api-key', 'create', '--name', 'e2e proxy', '--role', 'engage');
    const proxy = new Proxy(mkdtempSync(path.join(tmpdir(), 'c360-e2e-proxy-')), await freePort());
    const args = ['serve', '--addr', `127.0.0.1:${proxy.port}`, '--data', proxy.dataDir, '--widget-dir', WIDGET_DIR,
      '--upstream-url', `${via}/api/trpc`, '--upstream-key-env', KEY_ENV, ...extra];
    proxy.proc = spawn(BIN, args, {
      env: { ...process.env, NO_COLOR: '1', RUST_LOG: process.env.RUST_LOG ?? 'warn', [KEY_ENV]: key },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await proxy.answering();
    // The local store is the proxy's own: its widget is made there, after the start made the workspace.
    proxy.widgetKey = proxy.cli('widget', 'create', '--domain', '127.0.0.1');
    return proxy;
  }

  constructor(dataDir, port) {
    this.dataDir = dataDir;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Waits until /healthz answers (the start's check call to the upstream has passed), or the process is gone. */
  async answering() {
    for (let tries = 0; tries < 300; tries++) {
      if (this.proc.exitCode !== null) throw new Error(`the proxy exited with ${this.proc.exitCode}`);
      try {
        if ((await fetch(`${this.url}/healthz`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the proxy did not answer /healthz within 30 s');
  }

  cli(...args) {
    return Server.prototype.cli.call(this, ...args);
  }

  async stop() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const gone = new Promise((resolve) => this.proc.once('exit', resolve));
      this.proc.kill('SIGKILL');
      await gone;
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/**
 * A front for the upstream on loopback that passes bytes both ways; while
 * `slow`, what the proxy sends is held (on open connections too) until it is
 * fast again: the upstream answers late, as a slow one does.
 */
async function slowFront(target) {
  const held = new Set(); // each connection's flush of what it holds
  const front = { slow: false };
  front.server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    const waiting = [];
    const flush = () => {
      for (const chunk of waiting.splice(0)) upstream.write(chunk);
      held.delete(flush);
    };
    client.on('data', (chunk) => {
      if (front.slow || waiting.length) {
        waiting.push(chunk);
        held.add(flush);
      } else upstream.write(chunk);
    });
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise((resolve) => front.server.listen(0, '127.0.0.1', resolve));
  front.url = `http://127.0.0.1:${front.server.address().port}`;
  front.fast = () => {
    front.slow = false;
    for (const flush of [...held]) flush();
  };
  return front;
}

let upstream;
let proxy;
let front;
test.beforeEach(async ({}, testInfo) => {
  upstream = await Server.start();
  // The slow-upstream test puts a front between them, and gives up on an answer after 2 s.
  if (testInfo.title.includes('slow')) {
    front = await slowFront(upstream.port);
    proxy = await Proxy.start(upstream, { via: front.url, args: ['--upstream-timeout-secs', '2'] });
  } else {
    proxy = await Proxy.start(upstream);
  }
});
test.afterEach(async () => {
  await proxy?.stop();
  front?.server.close();
  front = undefined;
  await upstream?.stop();
});

/**
 * Opens the upstream's demo shop as a page of the proxy's site, embedding the
 * proxy's widget; with `assistant` it keeps the page's data-ai-agent (the
 * upstream's FAQ agent: the proxy forwards `send`'s AI request there).
 */
async function gotoProxyShop(page, { assistant = false } = {}) {
  const shop = await (await fetch(`${upstream.url}/`)).text();
  let html = shop.replace(/data-widget-key="[^"]*"/, `data-widget-key="${proxy.widgetKey}"`);
  if (!assistant) html = html.replace(/ data-ai-agent="[^"]*"/, '');
  await page.route(`${proxy.url}/`, (route) => route.fulfill({ contentType: 'text/html', body: html }));
  await page.goto(proxy.url);
}

/** The visitor's conversation upstream, found as support finds it there: by their external id. */
async function upstreamConversationOf(page) {
  return (await upstream.conversationOf((await storedVisitor(page, proxy.widgetKey)).externalId)).id;
}

/** Opens the panel and sends `text` until it shows Sent and the widget's event stream is open. */
async function chatting(page, text, options) {
  const streaming = page.waitForResponse((r) => r.url().startsWith(`${proxy.url}/api/v1/connect/events`) && r.status() === 200, { timeout: 30_000 });
  await gotoProxyShop(page, options);
  await openPanel(page);
  await send(page, text);
  await expect(row(page, text).locator('.c360-status')).toHaveText('Sent');
  await streaming; // the proxy polls the upstream for this stream
}

test('a message sent on the proxy is stored upstream and is there after a reload', async ({ page }) => {
  await chatting(page, 'I need help with my order #1042.');
  const stored = await upstream.messages(await upstreamConversationOf(page));
  expect(stored.map((m) => m.content.en)).toEqual(['I need help with my order #1042.']);
  expect(stored[0].sender.type).toBe('customer');
  expect(stored[0].channel.identifier).toBe('127.0.0.1');
  await page.reload();
  await openPanel(page);
  await expect(row(page, 'I need help with my order #1042.')).toHaveCount(1);
  await expect(row(page, 'I need help with my order #1042.')).toHaveClass(/c360-mine/);
});

test('a reply sent with the key straight to the upstream shows in the open widget within 2 s', async ({ page }) => {
  await chatting(page, 'Is anyone there?');
  const conversationId = await upstreamConversationOf(page);
  await upstream.call('v1.connect.send', { conversationId, content: { en: 'Yes! How can we help?' } }); // stored upstream
  const reply = row(page, 'Yes! How can we help?');
  await expect(reply).toBeVisible({ timeout: 2_000 });
  await expect(reply).not.toHaveClass(/c360-mine/);
  await page.waitForTimeout(500);
  const shown = await panel(page).locator('.c360-bubble').allTextContents();
  expect(shown, 'each message once, in order').toEqual(['Is anyone there?', 'Yes! How can we help?']);
});

// The widget shows the assistant's draft words from its event stream, which
// the proxy feeds with the upstream's AI stream as it is written: the answer
// grows word by word, then the stored message takes its place, as without a proxy.
test("the upstream's demo assistant answers the visitor's question through the proxy, word by word", async ({ page }) => {
  await gotoProxyShop(page, { assistant: true });
  await openPanel(page);
  await recordAssistant(page);
  await send(page, 'How long does shipping take?');
  await streamedAnswer(page, 'within two working days');
  const answer = panel(page).locator('.c360-row.c360-theirs:not(.c360-draft)');
  await expect(answer.locator('.c360-bubble')).toContainText('within two working days', { timeout: 40_000 });
  await expect(answer.locator('.c360-name')).toHaveText('Nordwind assistant');
  await expect(panel(page).locator('.c360-draft')).toHaveCount(0);
  const stored = await upstream.messages(await upstreamConversationOf(page));
  expect(stored.map((m) => m.sender.type)).toEqual(['customer', 'ai']);
  expect(stored[1].sender.name).toBe('Nordwind assistant');
  expect(stored[1].content.en).toContain('within two working days');
});

test('a file the widget uploads through the proxy is stored upstream and downloads through the proxy', async ({ page }) => {
  const pdf = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
  await chatting(page, 'my parcel came damaged');
  await panel(page).locator('input.c360-file-input').setInputFiles([{ name: 'receipt.pdf', mimeType: 'application/pdf', buffer: pdf }]);
  await expect(panel(page).locator('.c360-upload').filter({ hasText: 'receipt.pdf' })).toBeVisible();
  await expect(panel(page).locator('.c360-upload progress')).toHaveCount(0);
  await expect(panel(page).locator('.c360-upload-error')).toHaveCount(0);
  await send(page, 'the receipt');
  await expect(row(page, 'the receipt').locator('.c360-status')).toHaveText('Sent');
  const chip = row(page, 'the receipt').locator('a.c360-file');
  await expect(chip).toContainText('receipt.pdf');

  const stored = (await upstream.messages(await upstreamConversationOf(page))).find((m) => m.content.en === 'the receipt');
  expect(stored.attachments.map((f) => f.name)).toEqual(['receipt.pdf']);
  // The widget's link is the proxy's signed URL; the proxy fetches the file from the upstream.
  const href = new URL(await chip.getAttribute('href'), proxy.url);
  expect(href.origin).toBe(proxy.url);
  const own = await downloadInPage(page, href.toString());
  expect(own.status).toBe(200);
  expect(own.body).toEqual(pdf);
  // Unsigned, the proxy serves nothing.
  expect((await fetch(proxy.url + href.pathname)).status).toBe(404);
});

test('a file support sends with the key to the upstream reaches the widget and downloads through the proxy', async ({ page }) => {
  const label = Buffer.from('%PDF-1.4\n% return label\ntrailer <<>>\n%%EOF\n');
  await chatting(page, 'I need to send it back');
  const form = new FormData();
  form.append('file', new Blob([label], { type: 'application/pdf' }), 'return-label.pdf');
  const res = await fetch(`${upstream.url}/api/v1/connect/attachments`, {
    method: 'POST', headers: { authorization: `Bearer ${upstream.supportKey}` }, body: form,
  });
  expect(res.status).toBe(200);
  const [file] = (await res.json()).files;
  const conversationId = await upstreamConversationOf(page);
  await upstream.call('v1.connect.send', { conversationId, content: { en: 'Your return label' }, attachmentIds: [file.id] });

  const chip = row(page, 'Your return label').locator('a.c360-file');
  await expect(chip).toContainText('return-label.pdf', { timeout: 2_000 });
  const href = new URL(await chip.getAttribute('href'), proxy.url);
  expect(href.origin, "the proxy's signed URL, not the upstream's").toBe(proxy.url);
  const got = await downloadInPage(page, href.toString());
  expect(got.status).toBe(200);
  expect(got.body).toEqual(label);
});

test('two visitors on the proxy never see each other, and a token reaches only its own conversation', async ({ browser }) => {
  await twoVisitorsKeptApart(browser, { open: (page) => gotoProxyShop(page), widgetKey: proxy.widgetKey, support: upstream });
});

test('with the upstream down a message fails; after it is back, Retry stores it upstream once', async ({ page }) => {
  await chatting(page, 'before the outage');
  await sendThroughOutage(page, 'during the outage', { down: () => upstream.kill(), up: () => upstream.up() });
  const texts = (await upstream.messages(await upstreamConversationOf(page))).map((m) => m.content.en);
  expect(texts).toEqual(['before the outage', 'during the outage']);
});

test('with a slow upstream a message fails with a clear error instead of hanging, and Retry stores it once', async ({ page }) => {
  await chatting(page, 'before the slowdown');
  front.slow = true;
  const started = Date.now();
  await send(page, 'while it is slow');
  const failed = row(page, 'while it is slow');
  // The proxy gives up after three attempts of 2 s, the widget's transport tries the send twice: about 13 s.
  await expect(failed.locator('.c360-status')).toHaveText('Not sent', { timeout: 30_000 });
  expect(Date.now() - started, 'a clear error in bounded time, not a hang').toBeLessThan(25_000);
  await expect(failed.locator('.c360-status')).toHaveAttribute('title', /took too long/);

  // What the upstream got late is stored once with the retry's (same) Idempotency-Key.
  front.fast();
  await failed.locator('.c360-retry').click();
  await expect(failed.locator('.c360-status')).toHaveText('Sent', { timeout: 30_000 });
  const texts = (await upstream.messages(await upstreamConversationOf(page))).map((m) => m.content.en);
  expect(texts).toEqual(['before the slowdown', 'while it is slow']);
});

// Issue 13: messages pushed to the open widget over the conversation's event
// stream, against the real server: at once, across a server restart, by
// polling when the stream is blocked, and as unread while the panel is closed.
import { test, expect } from '@playwright/test';
import { Server } from './server.js';
import { gotoShop as openShop, launcher, openPanel, panel, row, rows, send } from './panel.js';

let server;
test.beforeEach(async () => {
  server = await Server.start();
});
test.afterEach(async () => {
  await server?.stop();
});

const gotoShop = (page, options) => openShop(page, server, options);
const EVENTS = /\/api\/v1\/connect\/events/;

async function conversationOf(page) {
  const stored = await page.evaluate((key) => localStorage.getItem(`connect360:${key}:session`), server.widgetKey);
  return (await server.conversationOf(JSON.parse(stored).externalId)).id;
}

const reply = (conversationId, text) => server.call('v1.connect.send', { conversationId, content: { en: text } });

/** Opens the panel and sends; unless the stream is blocked, waits until its answer has begun. */
async function chatting(page, text, { blocked = false } = {}) {
  const opened = blocked ? null : page.waitForResponse(EVENTS, { timeout: 30_000 });
  await gotoShop(page);
  await openPanel(page);
  await send(page, text);
  await expect(row(page, text).locator('.c360-status')).toHaveText('Sent');
  if (opened) expect((await opened).status()).toBe(200);
  return conversationOf(page);
}

test('a support reply appears in an idle open panel within a second of being stored', async ({ page }) => {
  const conversationId = await chatting(page, 'Where is my parcel?');
  // Idle long enough that polling would have backed off (2 s, then 4 s, ...).
  await page.waitForTimeout(7_000);
  for (const text of ['It left the warehouse today.', 'Tracking: NW-1042.']) {
    await reply(conversationId, text); // resolves with the send's acknowledgement: stored
    await expect(row(page, text)).toBeVisible({ timeout: 1_000 });
  }
  await expect(row(page, 'It left the warehouse today.')).toHaveCount(1);
});

test('the server restarted: the widget reconnects and shows what was sent meanwhile, once', async ({ page }) => {
  const conversationId = await chatting(page, 'Still there?');
  await reply(conversationId, 'before the restart');
  await expect(row(page, 'before the restart')).toBeVisible({ timeout: 1_000 });

  await server.kill();
  await server.up(); // same port, same store
  const reopened = page.waitForResponse((r) => EVENTS.test(r.url()) && r.status() === 200, { timeout: 30_000 });
  await reply(conversationId, 'sent while you were away');
  await expect(row(page, 'sent while you were away')).toBeVisible({ timeout: 30_000 });
  expect((await reopened).request().headers()['last-event-id'], 'resumed from the last event').toBeTruthy();
  // Live again: the next one is pushed at once.
  await reply(conversationId, 'after the restart');
  await expect(row(page, 'after the restart')).toBeVisible({ timeout: 2_000 });
  await page.waitForTimeout(1_000);
  const shown = await panel(page).locator('.c360-bubble').allTextContents();
  expect(shown, 'each message once, in order').toEqual(['Still there?', 'before the restart', 'sent while you were away', 'after the restart']);
});

test('the stream blocked (a proxy): replies still arrive by polling, and nothing is said to the visitor', async ({ page }) => {
  let refused = 0;
  await page.route(EVENTS, (route) => {
    refused++;
    return route.abort('connectionreset');
  });
  await reply(await chatting(page, 'Hello?', { blocked: true }), 'Hi, polling brought me.');
  await expect(row(page, 'Hi, polling brought me.')).toHaveCount(1, { timeout: 40_000 });
  expect(refused, 'the stream was tried').toBeGreaterThan(0);
  await expect(panel(page).locator('.c360-notice')).toHaveCount(0);
  await expect(rows(page)).toHaveCount(2);
});

test('a stream that sends nothing (a buffering proxy) gives way to polling', async ({ page }) => {
  // Answers 200 but never a byte, as a proxy that buffers the whole answer.
  await page.route(EVENTS, () => {});
  await reply(await chatting(page, 'Anyone?', { blocked: true }), 'Yes, by polling.');
  await expect(row(page, 'Yes, by polling.')).toHaveCount(1, { timeout: 40_000 });
});

test('a pushed reply while the panel is closed: the unread badge at once', async ({ page }) => {
  const conversationId = await chatting(page, 'Can I change the size?');
  await panel(page).locator('.c360-close').click();
  await expect(panel(page)).toBeHidden();
  await page.waitForTimeout(5_000);
  await reply(conversationId, 'Yes, until it ships.');
  const badge = launcher(page).locator('.c360-badge');
  await expect(badge).toHaveText('1', { timeout: 1_000 });
  await reply(conversationId, 'Just reply here.');
  await expect(badge).toHaveText('2', { timeout: 1_000 });
  await launcher(page).click();
  await expect(badge).toHaveCount(0);
  await expect(row(page, 'Just reply here.')).toHaveCount(1);
});

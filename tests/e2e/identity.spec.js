// Known visitors: a guest chats, then the site signs them in with
// `Connect360Chat.identify({ externalId, userHash })`. With a valid userHash
// the guest's conversation becomes the known customer's and the panel keeps
// it; without one nothing is merged.
import { createHmac } from 'node:crypto';
import { test, expect } from '@playwright/test';
import { Server } from './server.js';
import { gotoShop, openPanel, row, send } from './panel.js';

const SECRET = 'e2e identity secret';
const userHash = (externalId) => createHmac('sha256', SECRET).update(externalId).digest('hex');

let server;
let widgetKey;
test.beforeEach(async () => {
  server = await Server.start();
  widgetKey = server.cli('widget', 'create', '--domain', '127.0.0.1', '--identity-secret', SECRET);
});
test.afterEach(async () => {
  await server?.stop();
});

const stored = (page) =>
  page.evaluate((key) => JSON.parse(localStorage.getItem(`connect360:${key}:session`) ?? 'null'), widgetKey);

/** A guest who wrote `text`; returns their external id and conversation. */
async function guestChats(page, text) {
  await gotoShop(page, server, { widgetKey });
  await openPanel(page);
  await send(page, text);
  await expect(row(page, text).locator('.c360-status')).toHaveText('Sent');
  const { externalId } = await stored(page);
  expect(externalId).toMatch(/^guest_/);
  return { externalId, conversation: (await server.conversationOf(externalId)).id };
}

const identify = (page, who) => page.evaluate((who) => window.Connect360Chat.identify(who), who);

test('a guest who signs in with a valid userHash keeps the history, and support sees one conversation', async ({ page }) => {
  const guest = await guestChats(page, 'Asked as a guest');
  await identify(page, { externalId: 'user_42', userHash: userHash('user_42'), name: 'Jane' });
  await expect.poll(async () => (await stored(page))?.externalId).toBe('user_42');

  await expect(row(page, 'Asked as a guest')).toHaveCount(1);
  await send(page, 'Signed in now');
  await expect(row(page, 'Signed in now').locator('.c360-status')).toHaveText('Sent');
  await page.reload();
  await identify(page, { externalId: 'user_42', userHash: userHash('user_42'), name: 'Jane' });
  await openPanel(page);
  await expect(row(page, 'Asked as a guest')).toHaveCount(1);
  await expect(row(page, 'Signed in now')).toHaveCount(1);

  const known = await server.conversationOf('user_42');
  expect(known.id).toBe(guest.conversation);
  const messages = await server.messages(known.id);
  expect(messages.map((m) => m.content.en)).toEqual(['Asked as a guest', 'Signed in now']);
  expect(new Set(messages.map((m) => m.sender.id))).toEqual(new Set([known.customerId]));
});

test('without a valid userHash nothing is merged', async ({ page }) => {
  const guest = await guestChats(page, 'Still a guest');
  const refused = page.waitForResponse((r) => r.url().endsWith('/api/v1/connect/widget/session') && r.request().method() === 'POST');
  await identify(page, { externalId: 'user_42', userHash: userHash('someone else') });
  expect((await refused).status()).toBe(403);
  expect((await stored(page)).externalId).toBe(guest.externalId);

  const still = await server.conversationOf(guest.externalId);
  expect(still.id).toBe(guest.conversation);
  expect((await server.messages(still.id)).map((m) => m.content.en)).toEqual(['Still a guest']);
  const known = await server.conversationOf('user_42');
  expect(known.id).not.toBe(guest.conversation);
  expect(await server.messages(known.id)).toEqual([]);
});

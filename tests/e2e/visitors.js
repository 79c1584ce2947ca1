// Visitors as their browsers hold them, and the check that two of them are
// kept apart: shared by the widget's spec and the upstream-mode spec (the
// same widget on a proxy), which must hold the same line.
import { expect } from '@playwright/test';
import { openPanel, row, send } from './panel.js';

/** What the widget keeps in the host page's localStorage: its guest id and token. */
export async function storedVisitor(page, widgetKey) {
  const stored = await page.evaluate((key) => localStorage.getItem(`connect360:${key}:session`), widgetKey);
  expect(stored, 'the widget stored its session').toBeTruthy();
  return JSON.parse(stored);
}

/**
 * Alice and Bob chat in browsers of their own on the site that `open(page)`
 * opens (embedding the widget `widgetKey`); `support` (a Server, see
 * server.js) holds the API of the store their conversations live in. Each
 * sees only their own thread, and from Bob's page Bob's token reaches
 * Alice's conversation neither as itself nor forged.
 */
export async function twoVisitorsKeptApart(browser, { open, widgetKey, support }) {
  const alice = await (await browser.newContext()).newPage();
  const bob = await (await browser.newContext()).newPage();
  for (const [page, text] of [[alice, 'alice: my address is 1 Fjord Lane'], [bob, 'bob: my card ends 4242']]) {
    await open(page);
    await openPanel(page);
    await send(page, text);
    await expect(row(page, text).locator('.c360-status')).toHaveText('Sent');
  }
  // Support answers both; each sees only their own thread.
  const conversationOf = async (page) => (await support.conversationOf((await storedVisitor(page, widgetKey)).externalId)).id;
  const aliceConversation = await conversationOf(alice);
  const bobConversation = await conversationOf(bob);
  expect(aliceConversation).not.toBe(bobConversation);
  await support.call('v1.connect.send', { conversationId: aliceConversation, content: { en: 'for alice only' } });
  await expect(row(alice, 'for alice only')).toBeVisible({ timeout: 40_000 });
  await bob.waitForTimeout(3_000);
  await expect(row(bob, 'alice')).toHaveCount(0);
  await expect(row(bob, 'for alice only')).toHaveCount(0);
  await expect(row(alice, 'bob')).toHaveCount(0);

  // From Bob's page, with Bob's token: Alice's conversation does not exist.
  const bobToken = (await storedVisitor(bob, widgetKey)).token;
  const list = (token, conversationId) =>
    bob.evaluate(async ({ token, conversationId }) => {
      const input = encodeURIComponent(JSON.stringify({ conversationId }));
      const res = await fetch(`/api/trpc/v1.connect.listMessages?input=${input}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, body: await res.json() };
    }, { token, conversationId });
  const own = await list(bobToken, bobConversation);
  expect(own.status).toBe(200);
  const stolen = await list(bobToken, aliceConversation);
  expect(stolen.status).toBe(404);
  expect(stolen.body.error.data.code).toBe('NOT_FOUND');
  // A forged token (Alice's customer, Bob's signature) is refused outright.
  const aliceToken = (await storedVisitor(alice, widgetKey)).token;
  const forged = aliceToken.split('.')[0] + '.' + bobToken.split('.')[1];
  const refused = await list(forged, aliceConversation);
  expect(refused.status).toBe(401);
  expect(refused.body.error.message).toBe('Visitor token signature is invalid.');
}

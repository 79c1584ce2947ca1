// The team inbox (/inbox) against the real server (`serve --demo`), with the
// demo member it prints: signing in (right, wrong) and out; a visitor in the
// widget and a member in the inbox, two browser contexts, writing to each
// other, files both ways; hand-off and hand-back; axe at 1280 px and on a
// phone, where the list and the conversation are two screens.
import { createRequire } from 'node:module';
import { test, expect } from '@playwright/test';
import { Server } from './server.js';
import { gotoShop, openPanel, panel, row, send } from './panel.js';

const AXE = createRequire(import.meta.url).resolve('axe-core');
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

let server;
test.beforeEach(async () => {
  server = await Server.start();
});
test.afterEach(async () => {
  await server?.stop();
});

async function signIn(page, { password = server.member.password } = {}) {
  await page.goto(`${server.url}/inbox`);
  await page.getByLabel('Email').fill(server.member.email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

const items = (page) => page.locator('nav.list a.item');
const item = (page, text) => items(page).filter({ hasText: text });
const inboxRow = (page, text) => page.locator('.messages .row').filter({ hasText: text });

/** The visitor's widget on the demo shop, in its own browser context, with a first message sent. */
async function visitorWrites(browser, text) {
  const visitor = await browser.newContext();
  const page = await visitor.newPage();
  await gotoShop(page, server);
  await openPanel(page);
  await send(page, text);
  await expect(row(page, text)).toContainText('Sent');
  return { visitor, page };
}

async function axe(page) {
  await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations', 'passes'] });
    const pick = (list) => list.map(({ id, nodes }) => ({ id, nodes: nodes.map((n) => `${n.target.join(' ')} ${n.failureSummary ?? ''}`) }));
    return { violations: pick(result.violations), passes: pick(result.passes) };
  });
}

function expectNoViolations(result, what) {
  console.log(`axe ${what}: ${result.violations.length} violations, ${result.passes.length} rules passed`);
  expect(result.violations, JSON.stringify(result.violations, null, 2)).toEqual([]);
  expect(result.passes.length, 'axe checked the page').toBeGreaterThan(10);
}

test('a wrong password keeps the member on the sign-in page with a clear message; the right one signs in, sign out signs out', async ({ page }) => {
  await signIn(page, { password: 'not-the-password' });
  await expect(page.locator('.sign-in .error')).toHaveText('Wrong email or password.');
  await expect(page.getByRole('alert')).toHaveText('Wrong email or password.');
  await expect(page.getByLabel('Password')).toBeVisible();

  await page.getByLabel('Password').fill(server.member.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Conversations' })).toBeVisible();
  // The session is a cookie: a reload stays signed in.
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Conversations' })).toBeVisible();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
  await page.reload();
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
});

test('a visitor writes → it shows in the inbox at once, moved up and unread → the member replies with Enter → the visitor sees it', async ({ browser }) => {
  const member = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const inbox = await member.newPage();
  await signIn(inbox);
  await expect(inbox.getByRole('heading', { name: 'Conversations' })).toBeVisible();
  await expect(inbox.locator('nav.list .empty, nav.list a.item').first()).toBeVisible();

  const { visitor, page } = await visitorWrites(browser, 'Hello, is my order on its way?');
  // Live: from the member stream, not a reload.
  await expect(item(inbox, 'Hello, is my order on its way?')).toBeVisible({ timeout: 1_000 });
  // The same conversation whatever its last message says: by its address.
  const href = await item(inbox, 'Hello, is my order on its way?').getAttribute('href');
  const conversation = inbox.locator(`nav.list a.item[href="${href}"]`);
  await expect(items(inbox).first()).toContainText('Hello, is my order on its way?');
  await expect(conversation.locator('.badge')).toHaveText('1');
  await expect(conversation.locator('.item-site')).not.toBeEmpty();

  await send(page, 'Merhaba, siparişim nerede?');
  await expect(conversation.locator('.badge')).toHaveText('2', { timeout: 1_000 });
  await expect(conversation.locator('.item-preview')).toHaveAttribute('dir', 'auto');

  await conversation.click();
  await expect(inboxRow(inbox, 'Hello, is my order on its way?')).toBeVisible();
  await expect(inboxRow(inbox, 'Merhaba, siparişim nerede?').locator('.bubble')).toHaveAttribute('dir', 'auto');
  // Shown, so read.
  await expect(conversation.locator('.badge')).toHaveCount(0);
  await expect(inbox.locator('.details')).toContainText('guest_');

  // Reply to the visitor's first message, Shift+Enter for a second line, Enter sends.
  await inboxRow(inbox, 'Hello, is my order on its way?').getByRole('button', { name: /^Reply to/ }).click();
  const composer = inbox.getByRole('textbox', { name: 'Reply' });
  await expect(composer).toBeFocused();
  await composer.pressSequentially('It ships today.');
  await composer.press('Shift+Enter');
  await composer.pressSequentially('Tracking follows.');
  await composer.press('Enter');
  const reply = inboxRow(inbox, 'It ships today.');
  await expect(reply).toHaveClass(/mine/);
  await expect(reply.locator('.quote')).toContainText('Hello, is my order on its way?');
  await expect(reply.locator('.status')).toHaveText('Sent');
  await expect(composer).toHaveValue('');

  // Stored ("Sent"), so pushed to the open widget at once.
  await expect(row(page, 'It ships today.')).toContainText('Tracking follows.', { timeout: 1_000 });
  const [listed] = (await server.call('v1.connect.listConversations', {}, { query: true })).items;
  const stored = (await server.messages(listed.id)).filter((m) => m.sender.type === 'workspace');
  expect(stored, 'sent once').toHaveLength(1);
  expect(stored[0].content.en).toBe('It ships today.\nTracking follows.');
  await visitor.close();
  await member.close();
});

test('files both ways: the visitor’s image shows as a thumbnail in the inbox, the member’s file reaches the visitor', async ({ browser }) => {
  const member = await browser.newContext();
  const inbox = await member.newPage();
  await signIn(inbox);
  const { visitor, page } = await visitorWrites(browser, 'Here is a photo');
  await panel(page).locator('input.c360-file-input').setInputFiles([{ name: 'photo.png', mimeType: 'image/png', buffer: PNG }]);
  await expect(panel(page).locator('.c360-send')).toBeEnabled();
  await panel(page).locator('.c360-send').click();

  await item(inbox, 'Here is a photo').or(item(inbox, 'Files')).first().click();
  const thumb = inbox.locator('.messages img.thumb[alt="photo.png"]');
  await expect(thumb).toBeVisible({ timeout: 5_000 });
  // Visible comes before loaded (and the thumbnail loads lazily): wait for its pixels.
  await expect.poll(() => thumb.evaluate((img) => img.complete && img.naturalWidth), { message: 'the thumbnail loads' }).toBe(1);

  await inbox.locator('.composer input[type=file]').setInputFiles([
    { name: 'invoice.txt', mimeType: 'text/plain', buffer: Buffer.from('Invoice 42\n') },
  ]);
  await expect(inbox.locator('.upload')).toContainText('Ready');
  await inbox.getByRole('button', { name: 'Send' }).click();
  await expect(inbox.locator('.messages .row.mine .file')).toContainText('invoice.txt');
  await expect(panel(page).locator('.c360-file')).toContainText('invoice.txt', { timeout: 5_000 });
  await visitor.close();
  await member.close();
});

test('hand off from AI and hand back', async ({ browser }) => {
  const member = await browser.newContext();
  const inbox = await member.newPage();
  await signIn(inbox);
  const { visitor } = await visitorWrites(browser, 'Can a person help?');
  await item(inbox, 'Can a person help?').click();
  const switchAi = inbox.locator('.ai-switch');
  await expect(switchAi).toHaveText('Hand off from AI');
  await switchAi.click();
  await expect(switchAi).toHaveText('Hand back to AI');
  const listed = async () => (await server.call('v1.connect.listConversations', {}, { query: true })).items[0];
  expect((await listed()).aiStoppedAt).not.toBeNull();
  await switchAi.click();
  await expect(switchAi).toHaveText('Hand off from AI');
  expect((await listed()).aiStoppedAt).toBeNull();
  await visitor.close();
  await member.close();
});

for (const [what, viewport] of [
  ['1280 px', { width: 1280, height: 800 }],
  ['a phone', { width: 390, height: 844 }],
]) {
  test(`axe finds no violations in the inbox at ${what}: sign-in, the list, a conversation`, async ({ browser }) => {
    const { visitor } = await visitorWrites(browser, 'مرحبا، أين طلبي؟');
    // axe is injected as an inline script, which the inbox's policy refuses.
    const member = await browser.newContext({ viewport, bypassCSP: true });
    const inbox = await member.newPage();
    await inbox.goto(`${server.url}/inbox`);
    await expect(inbox.getByRole('button', { name: 'Sign in' })).toBeVisible();
    expectNoViolations(await axe(inbox), `${what}, sign-in`);

    await signIn(inbox);
    await expect(item(inbox, 'مرحبا')).toBeVisible();
    expectNoViolations(await axe(inbox), `${what}, list`);

    await item(inbox, 'مرحبا').click();
    await expect(inboxRow(inbox, 'مرحبا')).toBeVisible();
    if (viewport.width < 760) {
      // Two screens: the conversation replaces the list, Back returns.
      await expect(inbox.locator('nav.list')).toBeHidden();
      await expect(inbox.getByRole('button', { name: 'Back to conversations' })).toBeVisible();
    } else {
      await expect(inbox.locator('nav.list')).toBeVisible();
    }
    expectNoViolations(await axe(inbox), `${what}, conversation`);
    if (viewport.width < 760) {
      await inbox.getByRole('button', { name: 'Back to conversations' }).click();
      await expect(inbox.locator('nav.list')).toBeVisible();
    }
    await visitor.close();
    await member.close();
  });
}

test('the keyboard alone: sign in, open a conversation, reply with Enter', async ({ browser }) => {
  const { visitor, page } = await visitorWrites(browser, 'Keyboard question');
  const member = await browser.newContext();
  const inbox = await member.newPage();
  await inbox.goto(`${server.url}/inbox`);
  await inbox.getByLabel('Email').focus();
  await inbox.keyboard.type(server.member.email);
  await inbox.keyboard.press('Tab');
  await inbox.keyboard.type(server.member.password);
  await inbox.keyboard.press('Enter');
  const conversation = item(inbox, 'Keyboard question');
  await expect(conversation).toBeVisible();
  await conversation.focus();
  await inbox.keyboard.press('Enter');
  await expect(inboxRow(inbox, 'Keyboard question')).toBeVisible();
  await inbox.getByRole('textbox', { name: 'Reply' }).focus();
  await inbox.keyboard.type('Answered by keyboard');
  await inbox.keyboard.press('Enter');
  await expect(row(page, 'Answered by keyboard')).toBeVisible({ timeout: 5_000 });
  await visitor.close();
  await member.close();
});

test('a long history pages in upward as the member scrolls to the top, keeping the view where it was', async ({ browser }) => {
  const { visitor } = await visitorWrites(browser, 'Start of a long chat');
  const [conversation] = (await server.call('v1.connect.listConversations', {}, { query: true })).items;
  await server.sendMany(conversation.id, Array.from({ length: 120 }, (_, i) => `Support line ${i + 1}`));
  const member = await browser.newContext();
  const inbox = await member.newPage();
  await signIn(inbox);
  await item(inbox, 'Support line 120').click();
  await expect(inboxRow(inbox, 'Support line 120')).toBeVisible();
  await expect(inbox.locator('.messages .row')).toHaveCount(50);
  for (const count of [100, 121]) {
    await inbox.locator('.messages').evaluate((list) => list.scrollTo(0, 0));
    await expect(inbox.locator('.messages .row')).toHaveCount(count);
    // The rows in view stay in view: the list is not at its top again.
    expect(await inbox.locator('.messages').evaluate((list) => list.scrollTop)).toBeGreaterThan(0);
  }
  await expect(inboxRow(inbox, 'Start of a long chat')).toHaveCount(1);
  await visitor.close();
  await member.close();
});

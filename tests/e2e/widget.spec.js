// The widget in a real browser against the real server: the demo shop page
// embeds it with its script tag, as a site owner would.
import { test, expect } from '@playwright/test';
import { Server } from './server.js';
import { storedVisitor, twoVisitorsKeptApart } from './visitors.js';
import { gotoShop as openShop, openPanel, panel, recordAssistant, row, rows, send, sendThroughOutage, streamedAnswer } from './panel.js';

let server;
test.beforeEach(async () => {
  server = await Server.start();
});
test.afterEach(async () => {
  await server?.stop();
});

/** The row whose bubble says exactly `text` (a row's text also holds its time and status). */
const exactRow = (page, text) => rows(page).filter({ has: page.locator('.c360-bubble', { hasText: new RegExp(`^${text}$`) }) });

const gotoShop = (page, options) => openShop(page, server, options);

/** A valid 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

/** What the widget keeps in the host page's localStorage: its guest id and token. */
const visitorOf = (page) => storedVisitor(page, server.widgetKey);

async function conversationOf(page) {
  const { externalId } = await visitorOf(page);
  return (await server.conversationOf(externalId)).id;
}

test('a visitor opens the panel, sends, sees it sent, and finds it again after a reload', async ({ page }) => {
  await gotoShop(page);
  await openPanel(page);
  await send(page, 'I need help with my order #1042.');
  await expect(row(page, 'I need help with my order #1042.').locator('.c360-status')).toHaveText('Sent');

  const stored = await server.messages(await conversationOf(page));
  expect(stored.map((m) => m.content.en)).toEqual(['I need help with my order #1042.']);
  expect(stored[0].sender.type).toBe('customer');
  expect(stored[0].channel.identifier).toBe('127.0.0.1');

  await page.reload();
  await openPanel(page);
  await expect(row(page, 'I need help with my order #1042.')).toHaveCount(1);
});

test('a support reply sent with the API key appears in the open panel', async ({ page }) => {
  await gotoShop(page);
  await openPanel(page);
  await send(page, 'Is anyone there?');
  await expect(row(page, 'Is anyone there?').locator('.c360-status')).toHaveText('Sent');
  await server.call('v1.connect.send', { conversationId: await conversationOf(page), content: { en: 'Yes! How can we help?' } });
  const reply = row(page, 'Yes! How can we help?');
  await expect(reply).toBeVisible({ timeout: 40_000 });
  await expect(reply).not.toHaveClass(/c360-mine/);
});

test('scrolling up pages 300 messages of history without moving the message in view', async ({ page }) => {
  await gotoShop(page);
  await openPanel(page);
  await send(page, 'hello');
  await expect(row(page, 'hello').locator('.c360-status')).toHaveText('Sent');
  const conversationId = await conversationOf(page);
  await server.sendMany(conversationId, Array.from({ length: 300 }, (_, i) => `history ${i}`));

  await page.reload();
  await openPanel(page);
  await expect(row(page, 'history 299')).toBeVisible();
  // The panel opens with a slide (c360-in, 0.18 s) that moves every row in
  // the viewport: positions are compared once it has ended, or a first page
  // loaded that fast measures the slide and not the paging.
  await panel(page).evaluate((el) => Promise.all(el.getAnimations().map((a) => a.finished)));
  const list = panel(page).locator('.c360-list');
  // Each history request is held until the position before it is measured,
  // so the measurement can't race the prepend on a fast machine.
  let held = null;
  await page.route(/listMessages/, async (route) => {
    const input = new URL(route.request().url()).searchParams.get('input') ?? '';
    const waiting = held;
    if (input.includes('"cursor":"') && waiting) {
      held = null;
      await new Promise((resolve) => waiting(resolve));
    }
    await route.continue();
  });
  const drifts = [];
  for (let round = 0; round < 20 && (await exactRow(page, 'hello').count()) === 0; round++) {
    const before = await rows(page).count();
    const anchorId = await rows(page).first().getAttribute('data-id');
    // The bubble, not the row: a row loses its sender-name line when older
    // messages of the same sender arrive above it, and the reader sees the bubble.
    const anchor = panel(page).locator(`.c360-row[data-id="${anchorId}"] .c360-bubble`);
    const top = async () => (await anchor.evaluate((el) => el.getBoundingClientRect().top));
    const requested = new Promise((resolve) => { held = resolve; });
    await list.evaluate((el) => { el.scrollTop = 0; });
    const release = await Promise.race([
      requested,
      page.waitForTimeout(15_000).then(() => { throw new Error(`round ${round}: scrolling to the top asked for no older page`); }),
    ]);
    const beforeTop = await top();
    release();
    await expect.poll(() => rows(page).count(), { timeout: 20_000 }).toBeGreaterThan(before);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    drifts.push(Math.abs((await top()) - beforeTop));
  }
  await expect(exactRow(page, 'hello')).toHaveCount(1);
  const shown = await panel(page).locator('.c360-bubble').allTextContents();
  const expected = ['hello', ...Array.from({ length: 300 }, (_, i) => `history ${i}`)];
  expect(shown, 'every message once, oldest first').toEqual(expected);
  console.log(`anchored message drift per page, px: ${drifts.map((d) => d.toFixed(2)).join(', ')}`);
  expect(drifts.length).toBeGreaterThanOrEqual(5);
  for (const drift of drifts) expect(drift, `the anchored message moved by ${drift}px`).toBeLessThanOrEqual(1);
  // The loader is gone once the oldest page is in.
  await expect(panel(page).locator('.c360-loader')).toHaveCount(0);
});

test('two visitors never see each other, and a token reaches only its own conversation', async ({ browser }) => {
  await twoVisitorsKeptApart(browser, { open: gotoShop, widgetKey: server.widgetKey, support: server });
});

test('with the server down a message fails; after it is back, Retry sends it once', async ({ page }) => {
  await gotoShop(page);
  await openPanel(page);
  await send(page, 'before the outage');
  await expect(row(page, 'before the outage').locator('.c360-status')).toHaveText('Sent');

  await sendThroughOutage(page, 'during the outage', { down: () => server.kill(), up: () => server.up() });

  const texts = (await server.messages(await conversationOf(page))).map((m) => m.content.en);
  expect(texts).toEqual(['before the outage', 'during the outage']);
  await page.reload();
  await openPanel(page);
  await expect(row(page, 'during the outage')).toHaveCount(1);
});

test('a visitor attaches an image and a PDF with progress, sends them, and only they can download them', async ({ page, browser }) => {
  // The smallest file that sniffs as a PDF.
  const pdf = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
  await gotoShop(page);
  await openPanel(page);
  await send(page, 'hello');
  await expect(row(page, 'hello').locator('.c360-status')).toHaveText('Sent');

  // Hold the uploads back so that their progress can be seen.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await page.route('**/api/v1/connect/attachments', async (route) => {
    await held;
    await route.continue();
  });
  await panel(page).locator('input.c360-file-input').setInputFiles([
    { name: 'photo.png', mimeType: 'image/png', buffer: PNG },
    { name: 'receipt.pdf', mimeType: 'application/pdf', buffer: pdf },
  ]);
  const uploads = panel(page).locator('.c360-upload');
  await expect(uploads).toHaveCount(2);
  await expect(uploads.locator('progress.c360-progress')).toHaveCount(2);
  await expect(panel(page).locator('.c360-send')).toBeDisabled();
  release();
  await expect(uploads.locator('progress')).toHaveCount(0);
  await expect(uploads.filter({ hasText: 'photo.png' })).toBeVisible();
  await expect(uploads.filter({ hasText: 'receipt.pdf' })).toBeVisible();
  await expect(panel(page).locator('.c360-upload-error')).toHaveCount(0);

  await send(page, 'the damaged parcel');
  const sent = exactRow(page, 'the damaged parcel');
  await expect(sent.locator('.c360-status')).toHaveText('Sent');
  await expect(uploads).toHaveCount(0);
  const thumb = sent.locator('img.c360-thumb-image');
  await expect(thumb).toHaveAttribute('alt', 'photo.png');
  await expect.poll(() => thumb.evaluate((img) => img.complete && img.naturalWidth)).toBe(1);
  const chip = sent.locator('a.c360-file');
  await expect(chip).toContainText('receipt.pdf');
  await expect(chip).toContainText(`${pdf.length} B`);
  const stored = await server.messages(await conversationOf(page));
  const withFiles = stored.find((m) => m.content.en === 'the damaged parcel');
  expect(withFiles.attachments.map((a) => a.name).sort()).toEqual(['photo.png', 'receipt.pdf']);

  // The owner downloads it.
  const href = await chip.getAttribute('href');
  const download = (p, url, token) =>
    p.evaluate(async ({ url, token }) => {
      const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      return { status: res.status, body: Array.from(new Uint8Array(await res.arrayBuffer())) };
    }, { url, token });
  const own = await download(page, href);
  expect(own.status).toBe(200);
  expect(Buffer.from(own.body)).toEqual(pdf);

  // Another visitor, with a session of their own, gets nothing.
  const other = await (await browser.newContext()).newPage();
  await gotoShop(other);
  await openPanel(other);
  await send(other, 'someone else');
  await expect(row(other, 'someone else').locator('.c360-status')).toHaveText('Sent');
  const unsigned = href.split('?')[0];
  expect((await download(other, unsigned)).status).toBe(404);
  expect((await download(other, unsigned, (await visitorOf(other)).token)).status).toBe(404);
});

test('an upload refused for its token renews the visitor session and is sent once more; refused again, it fails', async ({ page }) => {
  await gotoShop(page);
  await openPanel(page);
  await send(page, 'hello');
  await expect(row(page, 'hello').locator('.c360-status')).toHaveText('Sent');

  // The server itself refuses the uploads sent with a forged token (as it
  // does a token signed with another secret or expired).
  let forge = 1;
  const uploads = [];
  await page.route('**/api/v1/connect/attachments', async (route) => {
    const headers = route.request().headers();
    uploads.push(forge > 0 ? 'forged' : 'as sent');
    if (forge-- > 0) headers.authorization = 'Bearer vt_e30.AAAA';
    await route.continue({ headers });
  });
  const sessions = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/api/v1/connect/widget/session')) sessions.push(uploads.length);
  });
  await panel(page).locator('input.c360-file-input').setInputFiles([{ name: 'renewed.png', mimeType: 'image/png', buffer: PNG }]);
  const chip = panel(page).locator('.c360-upload').filter({ hasText: 'renewed.png' });
  await expect(chip).toBeVisible();
  await expect(chip.locator('progress')).toHaveCount(0);
  await expect(panel(page).locator('.c360-upload-error')).toHaveCount(0);
  expect(uploads).toEqual(['forged', 'as sent']);
  expect(sessions, 'one renewal, between the refused upload and the next').toEqual([1]);
  await send(page, 'with a renewed token');
  await expect(exactRow(page, 'with a renewed token').locator('.c360-status')).toHaveText('Sent');
  const stored = await server.messages(await conversationOf(page));
  expect(stored.find((m) => m.content.en === 'with a renewed token').attachments.map((a) => a.name)).toEqual(['renewed.png']);

  // Refused after the renewal too: the file fails with the server's reason, no third try.
  forge = 2;
  await panel(page).locator('input.c360-file-input').setInputFiles([{ name: 'refused.png', mimeType: 'image/png', buffer: PNG }]);
  await expect(panel(page).locator('.c360-upload-error')).toContainText('Visitor token signature is invalid.');
  expect(uploads).toEqual(['forged', 'as sent', 'forged', 'forged']);
  expect(sessions).toEqual([1, 3]);
});

test('the composer\'s files are dropped when identify() opens another conversation, uploaded or on their way', async ({ page }) => {
  await gotoShop(page);
  await openPanel(page);
  await send(page, 'as the first guest');
  await expect(row(page, 'as the first guest').locator('.c360-status')).toHaveText('Sent');
  const first = await visitorOf(page);
  const input = panel(page).locator('input.c360-file-input');
  const chips = panel(page).locator('.c360-upload');

  await input.setInputFiles([{ name: 'uploaded.png', mimeType: 'image/png', buffer: PNG }]);
  await expect(chips.filter({ hasText: 'uploaded.png' })).toBeVisible();
  await expect(chips.filter({ hasText: 'uploaded.png' }).locator('progress')).toHaveCount(0);
  // The next upload is held on its way.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await page.route('**/api/v1/connect/attachments', async (route) => {
    await held;
    await route.continue().catch(() => {}); // the widget may have aborted it
  });
  await input.setInputFiles([{ name: 'on-its-way.png', mimeType: 'image/png', buffer: PNG }]);
  await expect(chips.locator('progress')).toHaveCount(1);

  // The site signs another visitor in: a new guest, another conversation.
  const other = `guest_${'0123456789abcdef'.repeat(2)}`;
  await page.evaluate((externalId) => window.Connect360Chat.identify({ externalId }), other);
  await expect.poll(async () => (await visitorOf(page)).externalId).toBe(other);
  await expect(row(page, 'as the first guest')).toHaveCount(0);
  await expect(chips).toHaveCount(0);
  release();
  await page.waitForTimeout(500);
  await expect(chips).toHaveCount(0);

  await send(page, 'as the other guest');
  await expect(row(page, 'as the other guest').locator('.c360-status')).toHaveText('Sent');
  const now = await server.messages((await server.conversationOf(other)).id);
  expect(now.map((m) => [m.content.en, m.attachments.length])).toEqual([['as the other guest', 0]]);
  const before = await server.messages((await server.conversationOf(first.externalId)).id);
  expect(before.map((m) => [m.content.en, m.attachments.length])).toEqual([['as the first guest', 0]]);
});

test('the demo assistant (data-ai-agent) answers a question, in the language it was asked in', async ({ page }) => {
  await gotoShop(page, { assistant: true });
  await openPanel(page);
  await send(page, 'How long does shipping take?');
  const theirs = panel(page).locator('.c360-row.c360-theirs:not(.c360-draft) .c360-bubble');
  await expect(theirs.first()).toContainText('within two working days', { timeout: 40_000 });
  await send(page, 'كم تستغرق مدة الشحن؟');
  await expect(theirs.nth(1)).toContainText('نشحن الطلبات خلال يومي عمل', { timeout: 40_000 });
  const stored = await server.messages(await conversationOf(page));
  expect(stored.filter((m) => m.sender.type === 'ai').map((m) => m.sender.name)).toEqual(['Nordwind assistant', 'Nordwind assistant']);
});

test('the assistant answer streams in and gives way to the stored message without a flicker; Talk to a person stops it', async ({ page }) => {
  await gotoShop(page, { assistant: true });
  await openPanel(page);
  await recordAssistant(page);
  await send(page, 'How long does shipping take?');
  const answer = panel(page).locator('.c360-row.c360-theirs:not(.c360-draft) .c360-bubble');
  const { frames, first } = await streamedAnswer(page, 'within two working days');
  // The stored message takes the draft's place: nothing moves.
  const swap = frames.findIndex((f, i) => i > first && f.draft === null);
  expect(Math.abs(frames[swap].storedTop - frames[swap - 1].draftTop)).toBeLessThan(1);
  expect(frames[swap - 1].draftName).toBe('Nordwind assistant');
  expect(frames[swap].storedName).toBe('Nordwind assistant');

  // Talk to a person: the assistant says nothing more, after a reload too.
  const handOff = panel(page).locator('.c360-hand-off');
  await handOff.click();
  await expect(panel(page).locator('.c360-notice[role="status"]')).toContainText('A team member will reply here');
  await expect(handOff).toHaveCount(0);
  const conversation = await server.conversationOf((await visitorOf(page)).externalId);
  expect(conversation.aiStoppedAt).toBeTruthy();
  await send(page, 'And returns?');
  await expect(exactRow(page, 'And returns\\?')).toContainText('Sent');
  await page.waitForTimeout(2_500);
  await expect(answer).toHaveCount(1);
  await expect(panel(page).locator('.c360-draft')).toHaveCount(0);
  await page.reload();
  await openPanel(page);
  await expect(panel(page).locator('.c360-notice[role="status"]')).toContainText('A team member will reply here');
  await expect(panel(page).locator('.c360-hand-off')).toHaveCount(0);
  const stored = await server.messages(conversation.id);
  expect(stored.filter((m) => m.sender.type === 'ai')).toHaveLength(1);
});

test('a reply stream cut off is opened again from where it was, and the answer shows once', async ({ page }) => {
  await gotoShop(page, { assistant: true });
  // The conversation's event stream (issue 13; the widget no longer calls
  // ai-stream): the first is cut off once the question is sent, after its
  // opening comment; the next ones go through.
  let opened = 0;
  const resumedFrom = [];
  let asked;
  const questionSent = new Promise((resolve) => { asked = resolve; });
  await page.route(/\/api\/v1\/connect\/events/, async (route) => {
    opened += 1;
    resumedFrom.push(route.request().headers()['last-event-id'] ?? null);
    if (opened > 1) return route.continue();
    await questionSent;
    return route.fulfill({ status: 200, contentType: 'text/event-stream', body: ': cut off\n\n' });
  });
  await openPanel(page);
  await send(page, 'How long does shipping take?');
  await expect(exactRow(page, 'How long does shipping take\\?')).toContainText('Sent');
  asked();
  const answer = panel(page).locator('.c360-row.c360-theirs:not(.c360-draft) .c360-bubble');
  await expect(answer).toContainText('within two working days', { timeout: 40_000 });
  await page.waitForTimeout(1_000);
  await expect(answer).toHaveCount(1);
  await expect(panel(page).locator('.c360-draft')).toHaveCount(0);
  expect(opened).toBeGreaterThanOrEqual(2);
  const question = (await server.messages(await conversationOf(page))).find((m) => m.sender.type === 'customer');
  expect(resumedFrom.slice(0, 2)).toEqual([null, question.id]);
});

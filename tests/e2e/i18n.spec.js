// Languages, right-to-left, theming, small screens and unread replies: the
// demo shop's page, its script tag and <html lang> altered per test.
import { test, expect } from '@playwright/test';
import { Server } from './server.js';
import { gotoShop as openShop, launcher, openPanel as openMounted, panel, row, rows, send } from './panel.js';

let server;
test.beforeEach(async () => {
  server = await Server.start();
});
test.afterEach(async () => {
  await server?.stop();
});

const SHOP_TITLE = 'Nordwind Outfitters: gear for wet weekends';
const host = (page) => page.locator('connect360-chat');
const frame = (page) => page.locator('connect360-chat .c360');
const input = (page) => panel(page).locator('.c360-input');

const gotoShop = (page, options) => openShop(page, server, options);

/** Opens the panel; positions are measured once its opening animation is over. */
async function openPanel(page) {
  await openMounted(page);
  await panel(page).evaluate((el) => Promise.all(el.getAnimations().map((a) => a.finished)));
}

async function conversationOf(page) {
  const stored = await page.evaluate((key) => localStorage.getItem(`connect360:${key}:session`), server.widgetKey);
  return (await server.conversationOf(JSON.parse(stored).externalId)).id;
}

const box = async (locator) => {
  const b = await locator.boundingBox();
  expect(b, 'laid out').toBeTruthy();
  return b;
};
const css = (locator, property) => locator.evaluate((el, p) => getComputedStyle(el).getPropertyValue(p), property);

test('an Arabic page gets an Arabic panel mirrored right to left', async ({ page }) => {
  await page.setViewportSize({ width: 1200, height: 800 });
  await gotoShop(page, { lang: 'ar' });
  // The loader's stand-in launcher is already on the left, labelled in Arabic.
  await expect(launcher(page)).toHaveAttribute('aria-label', 'افتح المحادثة');
  expect((await box(launcher(page))).x).toBeLessThan(100);
  await openPanel(page);

  await expect(frame(page)).toHaveAttribute('dir', 'rtl');
  await expect(frame(page)).toHaveAttribute('lang', 'ar');
  await expect(input(page)).toHaveAttribute('placeholder', 'اكتب رسالة…');
  await expect(launcher(page)).toHaveAttribute('aria-label', 'أغلق المحادثة');
  await expect(panel(page).locator('.c360-close')).toHaveAttribute('aria-label', 'أغلق المحادثة');
  const launcherBox = await box(launcher(page));
  const panelBox = await box(panel(page));
  expect(launcherBox.x, 'launcher on the left').toBeLessThan(100);
  expect(panelBox.x, 'panel on the left').toBeLessThan(100);
  // Header: title at the right, close button at the left.
  const titleBox = await box(panel(page).locator('.c360-title'));
  const closeBox = await box(panel(page).locator('.c360-close'));
  expect(closeBox.x).toBeLessThan(titleBox.x);
  // Composer: send at the left, attach at the right, the text between.
  const sendBox = await box(panel(page).locator('.c360-send'));
  const attachBox = await box(panel(page).locator('.c360-attach'));
  const inputBox = await box(input(page));
  expect(sendBox.x).toBeLessThan(inputBox.x);
  expect(attachBox.x).toBeGreaterThan(inputBox.x + inputBox.width - 1);
  expect(await css(input(page), 'direction')).toBe('rtl');

  // The visitor's bubble is at the left (the reading direction's end);
  // support's at the right; each bubble finds its own direction.
  await send(page, 'مرحبا، أين طلبي؟');
  const mine = row(page, 'مرحبا، أين طلبي؟');
  await expect(mine.locator('.c360-status')).toHaveText('أُرسلت');
  await server.call('v1.connect.send', { conversationId: await conversationOf(page), content: { en: 'Order #1042 shipped today.' } });
  const theirs = row(page, 'Order #1042 shipped today.');
  await expect(theirs).toBeVisible({ timeout: 40_000 });
  const mineBubble = await box(mine.locator('.c360-bubble'));
  const theirBubble = await box(theirs.locator('.c360-bubble'));
  expect(mineBubble.x).toBeLessThan(panelBox.x + 40);
  expect(theirBubble.x + theirBubble.width).toBeGreaterThan(panelBox.x + panelBox.width - 60);
  await expect(theirs.locator('.c360-bubble')).toHaveAttribute('dir', 'auto');
  expect(await css(theirs.locator('.c360-bubble'), 'direction')).toBe('ltr');
  // Timestamps sit under the bubbles, on their side, in Arabic.
  const mineTime = await box(mine.locator('time'));
  expect(mineTime.x).toBeLessThan(panelBox.x + 60);
  await expect(panel(page).locator('.c360-day')).toHaveText('اليوم');
});

test('<html lang="tr"> gives a Turkish panel; data-locale beats it', async ({ page, browser }) => {
  await gotoShop(page, { lang: 'tr' });
  await openPanel(page);
  await expect(frame(page)).toHaveAttribute('dir', 'ltr');
  await expect(input(page)).toHaveAttribute('placeholder', 'Bir mesaj yazın…');
  await send(page, 'Merhaba');
  await expect(row(page, 'Merhaba').locator('.c360-status')).toHaveText('Gönderildi');
  const stored = await server.messages(await conversationOf(page));
  expect(stored[0].content).toEqual({ tr: 'Merhaba' });

  const other = await (await browser.newContext()).newPage();
  await gotoShop(other, { lang: 'ar', attrs: { locale: 'tr' } });
  await openPanel(other);
  await expect(input(other)).toHaveAttribute('placeholder', 'Bir mesaj yazın…');
  await expect(frame(other)).toHaveAttribute('dir', 'ltr');
});

test('setLocale("ar") redraws the open panel in Arabic with its messages and draft', async ({ page }) => {
  await gotoShop(page);
  await openPanel(page);
  await send(page, 'first question');
  await expect(row(page, 'first question').locator('.c360-status')).toHaveText('Sent');
  await server.call('v1.connect.send', { conversationId: await conversationOf(page), content: { en: 'An answer', ar: 'إجابة' } });
  await expect(row(page, 'An answer')).toBeVisible({ timeout: 40_000 });
  await input(page).fill('a draft, not sent');
  const session = await page.evaluate((key) => localStorage.getItem(`connect360:${key}:session`), server.widgetKey);

  await page.evaluate(() => window.Connect360Chat.setLocale('ar'));
  await expect(frame(page)).toHaveAttribute('dir', 'rtl');
  await expect(input(page)).toHaveAttribute('placeholder', 'اكتب رسالة…');
  await expect(row(page, 'first question').locator('.c360-status')).toHaveText('أُرسلت');
  // Support's message shows its Arabic content now.
  await expect(panel(page).locator('.c360-bubble')).toHaveText(['first question', 'إجابة']);
  await expect(input(page)).toHaveValue('a draft, not sent');
  await expect(panel(page)).toBeVisible();
  expect(await page.evaluate((key) => localStorage.getItem(`connect360:${key}:session`), server.widgetKey)).toBe(session);

  // The same session carries on: a message sent now is the visitor's, in Arabic.
  await send(page, 'سؤال ثان');
  await expect(row(page, 'سؤال ثان').locator('.c360-status')).toHaveText('أُرسلت');
  const stored = await server.messages(await conversationOf(page));
  expect(stored.map((m) => m.content)).toEqual([{ en: 'first question' }, { en: 'An answer', ar: 'إجابة' }, { ar: 'سؤال ثان' }]);

  await page.evaluate(() => window.Connect360Chat.setLocale('en-GB'));
  await expect(frame(page)).toHaveAttribute('dir', 'ltr');
  await expect(input(page)).toHaveAttribute('placeholder', 'Write a message…');
  await expect(rows(page)).toHaveCount(3);
});

test('data-color gets readable text: near-black on yellow, white on navy', async ({ page, browser }) => {
  await gotoShop(page, { attrs: { color: '#ffeb3b' } });
  // The loader's stand-in launcher, then the widget's.
  await expect(launcher(page)).toHaveCount(1);
  await expect.poll(() => css(launcher(page), 'color')).toBe('rgb(4, 5, 6)');
  expect(await css(launcher(page), 'background-color')).toBe('rgb(255, 235, 59)');
  await openPanel(page);
  expect(await css(launcher(page), 'color')).toBe('rgb(4, 5, 6)');
  expect(await css(panel(page).locator('.c360-header'), 'color')).toBe('rgb(4, 5, 6)');
  expect(await css(panel(page).locator('.c360-send'), 'color')).toBe('rgb(4, 5, 6)');
  // A link in support's bubble is the bubble's text colour, not yellow on grey.
  await server.call('v1.connect.send', { conversationId: await conversationOf(page), content: { en: 'Track it: https://example.com/t' } });
  const link = panel(page).locator('.c360-theirs .c360-bubble a');
  await expect(link).toBeVisible({ timeout: 40_000 });
  expect(await css(link, 'color')).toBe(await css(panel(page).locator('.c360-theirs .c360-bubble'), 'color'));

  const navy = await (await browser.newContext()).newPage();
  await gotoShop(navy, { attrs: { color: 'rgb(18, 52, 86)' } });
  await expect.poll(() => css(launcher(navy), 'color')).toBe('rgb(255, 255, 255)');
  await openPanel(navy);
  expect(await css(launcher(navy), 'background-color')).toBe('rgb(18, 52, 86)');
  expect(await css(launcher(navy), 'color')).toBe('rgb(255, 255, 255)');

  // A named colour is read back from the browser.
  const named = await (await browser.newContext()).newPage();
  await gotoShop(named, { attrs: { color: 'gold' } });
  await openPanel(named);
  expect(await css(panel(named).locator('.c360-header'), 'color')).toBe('rgb(4, 5, 6)');
});

test('dark follows the system, data-theme forces it, setTheme switches it', async ({ page, browser }) => {
  const DARK = 'rgb(23, 25, 31)';
  const LIGHT = 'rgb(255, 255, 255)';
  await page.emulateMedia({ colorScheme: 'light' });
  await gotoShop(page, { attrs: { theme: 'dark' } });
  await openPanel(page);
  expect(await css(panel(page), 'background-color')).toBe(DARK);
  expect(await css(input(page), 'color')).toBe('rgb(236, 238, 243)');
  await page.evaluate(() => window.Connect360Chat.setTheme('light'));
  await expect.poll(() => css(panel(page), 'background-color')).toBe(LIGHT);
  await page.evaluate(() => window.Connect360Chat.setTheme('auto'));
  await page.emulateMedia({ colorScheme: 'dark' });
  await expect.poll(() => css(panel(page), 'background-color')).toBe(DARK);
  await page.emulateMedia({ colorScheme: 'light' });
  await expect.poll(() => css(panel(page), 'background-color')).toBe(LIGHT);

  const forcedLight = await (await browser.newContext({ colorScheme: 'dark' })).newPage();
  await gotoShop(forcedLight, { attrs: { theme: 'light' } });
  await openPanel(forcedLight);
  expect(await css(panel(forcedLight), 'background-color')).toBe(LIGHT);
});

test('a reply while the panel is closed: badge, "(1) " in the title, restored on open', async ({ page }) => {
  await gotoShop(page);
  await expect(page).toHaveTitle(SHOP_TITLE);
  await openPanel(page);
  await send(page, 'Can I return boots?');
  await expect(row(page, 'Can I return boots?').locator('.c360-status')).toHaveText('Sent');
  await panel(page).locator('.c360-close').click();
  await expect(panel(page)).toBeHidden();

  await server.call('v1.connect.send', { conversationId: await conversationOf(page), content: { en: 'Yes, within 30 days.' } });
  const badge = launcher(page).locator('.c360-badge');
  await expect(badge).toHaveText('1', { timeout: 40_000 });
  await expect(page).toHaveTitle(`(1) ${SHOP_TITLE}`);
  await server.call('v1.connect.send', { conversationId: await conversationOf(page), content: { en: 'Keep the receipt.' } });
  await expect(badge).toHaveText('2', { timeout: 40_000 });
  await expect(page).toHaveTitle(`(2) ${SHOP_TITLE}`);

  await launcher(page).click();
  await expect(panel(page)).toBeVisible();
  await expect(page).toHaveTitle(SHOP_TITLE);
  await expect(badge).toHaveCount(0);
  await expect(row(page, 'Keep the receipt.')).toBeVisible();
});

test('the first reply into an empty conversation counts as unread', async ({ page }) => {
  await gotoShop(page);
  await openPanel(page);
  await expect(panel(page).locator('.c360-empty')).toBeVisible();
  await panel(page).locator('.c360-close').click();
  await server.call('v1.connect.send', { conversationId: await conversationOf(page), content: { en: 'Welcome! Need a hand?' } });
  // Polled now (the widget polls when the window gets the focus), not after the idle backoff.
  await page.evaluate(() => window.dispatchEvent(new Event('focus')));
  await expect(launcher(page).locator('.c360-badge')).toHaveText('1', { timeout: 40_000 });
  await expect(page).toHaveTitle(`(1) ${SHOP_TITLE}`);
  await launcher(page).click();
  await expect(page).toHaveTitle(SHOP_TITLE);
});

/** Counts, in every page of `context`, the audio contexts made (`__contexts`) and tones played (`__tones`). */
async function countAudio(context) {
  await context.addInitScript(() => {
    window.__tones = 0;
    window.__contexts = 0;
    const Real = window.AudioContext;
    window.AudioContext = class extends Real {
      constructor(...args) {
        super(...args);
        window.__contexts++;
      }
      createOscillator() {
        window.__tones++;
        return super.createOscillator();
      }
    };
  });
}

test('data-sound="on" plays a tone for an unread reply, never before a gesture', async ({ page }) => {
  // Counts the tones the page makes (WebAudio only, no audio file), and
  // logs the title's changes: Playwright's own DOM queries count as user
  // gestures, so until the first tone is checked the tab is only watched.
  await countAudio(page.context());
  await page.context().addInitScript(() => {
    document.addEventListener('DOMContentLoaded', () => {
      new MutationObserver(() => console.log(`title: ${document.title}`))
        .observe(document.querySelector('title'), { childList: true, characterData: true, subtree: true });
    });
  });
  await gotoShop(page, { attrs: { sound: 'on' } });
  await openPanel(page);
  await send(page, 'hello');
  await expect(row(page, 'hello').locator('.c360-status')).toHaveText('Sent');
  const conversationId = await conversationOf(page);

  // The same visitor in a new tab: it reconnects at once; nobody touches it.
  const tab = await page.context().newPage();
  const history = tab.waitForResponse((r) => r.url().includes('listMessages') && r.ok(), { timeout: 30_000 });
  await gotoShop(tab, { attrs: { sound: 'on' } });
  await history;
  const titled = (n) => tab.waitForEvent('console', { predicate: (m) => m.text() === `title: (${n}) ${SHOP_TITLE}`, timeout: 40_000 });
  const first = titled(1);
  await server.call('v1.connect.send', { conversationId, content: { en: 'first reply' } });
  await first;
  await tab.waitForTimeout(500);
  expect(await tab.evaluate(() => [window.__contexts, window.__tones]), 'no audio before a gesture').toEqual([0, 0]);

  await tab.mouse.click(300, 300);
  await server.call('v1.connect.send', { conversationId, content: { en: 'second reply' } });
  await expect(launcher(tab).locator('.c360-badge')).toHaveText('2', { timeout: 40_000 });
  await expect.poll(() => tab.evaluate(() => window.__tones)).toBe(1);
});

test('no sound without data-sound', async ({ page }) => {
  await countAudio(page.context());
  await gotoShop(page);
  await openPanel(page);
  await send(page, 'hello');
  await expect(row(page, 'hello').locator('.c360-status')).toHaveText('Sent');
  await panel(page).locator('.c360-close').click();
  await server.call('v1.connect.send', { conversationId: await conversationOf(page), content: { en: 'a reply' } });
  await expect(launcher(page).locator('.c360-badge')).toHaveText('1', { timeout: 40_000 });
  expect(await page.evaluate(() => window.__contexts)).toBe(0);
});

test('at 400 px the panel is full screen, the input 16 px, sized to the visual viewport', async ({ page }) => {
  await page.setViewportSize({ width: 400, height: 760 });
  await gotoShop(page);
  await openPanel(page);
  // (Once its opening animation is over.)
  await expect.poll(() => box(panel(page))).toEqual({ x: 0, y: 0, width: 400, height: 760 });
  expect(parseFloat(await css(input(page), 'font-size'))).toBeGreaterThanOrEqual(16);
  await expect(launcher(page)).toBeHidden();
  expect(await host(page).locator('.c360-root').evaluate((el) => el.style.getPropertyValue('--c360-vv-height'))).toBe('760px');
  // The composer is at the bottom of what is visible.
  const composer = await box(panel(page).locator('.c360-composer'));
  expect(composer.y + composer.height).toBeCloseTo(760, 0);
  await page.setViewportSize({ width: 400, height: 500 });
  await expect.poll(async () => (await box(panel(page))).height).toBe(500);
  // What the visual viewport shows (smaller when the on-screen keyboard is
  // up; here a zoom, which Chromium can emulate) is what the panel covers.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Emulation.setPageScaleFactor', { pageScaleFactor: 2 });
  await expect.poll(() => page.evaluate(() => visualViewport.height)).toBe(250);
  await expect.poll(async () => (await box(panel(page))).height).toBe(250);
  const zoomed = await box(panel(page).locator('.c360-composer'));
  const viewport = await page.evaluate(() => ({ top: visualViewport.offsetTop, height: visualViewport.height }));
  expect(zoomed.y + zoomed.height).toBeLessThanOrEqual(viewport.top + viewport.height + 1);
  await cdp.send('Emulation.setPageScaleFactor', { pageScaleFactor: 1 });
  // Closed, the page is back, and the launcher.
  await panel(page).locator('.c360-close').click();
  await expect(launcher(page)).toBeVisible();
});

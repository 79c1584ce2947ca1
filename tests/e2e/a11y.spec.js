// Accessibility (WCAG 2.1 AA) of the widget on the demo shop page, against
// the real server: axe-core on the open panel (light, dark, Arabic), the
// keyboard alone, reduced motion, and what the live region announces.
import { createRequire } from 'node:module';
import { test, expect } from '@playwright/test';
import { Server } from './server.js';
import { gotoShop as openShop, launcher, openPanel, panel, row, rows, send } from './panel.js';

const AXE = createRequire(import.meta.url).resolve('axe-core');

let server;
test.beforeEach(async () => {
  server = await Server.start();
});
test.afterEach(async () => {
  await server?.stop();
});

const announcer = (page) => panel(page).locator('.c360-announcer');

const gotoShop = (page, options) => openShop(page, server, options);

/** The widget polls at once when the window gets the focus. */
const pollNow = (page) => page.evaluate(() => window.dispatchEvent(new Event('focus')));

async function conversationOf(page) {
  const stored = await page.evaluate((key) => localStorage.getItem(`connect360:${key}:session`), server.widgetKey);
  return (await server.conversationOf(JSON.parse(stored).externalId)).id;
}

/** What has the focus inside the widget's shadow root: its c360- class and name, or null. */
function focused(page) {
  return page.evaluate(() => {
    const host = document.querySelector('connect360-chat');
    const el = document.activeElement === host ? host.shadowRoot.activeElement : null;
    if (!el) return null;
    const cls = [...el.classList].find((c) => c.startsWith('c360-') && c !== 'c360-link-button') ?? el.tagName.toLowerCase();
    const rect = el.getBoundingClientRect();
    const visible = el.checkVisibility({ visibilityProperty: true, opacityProperty: true }) && rect.width > 0 && rect.height > 0;
    return { cls, name: el.getAttribute('aria-label') ?? el.textContent.trim(), visible };
  });
}

/**
 * The open panel with two messages from the visitor, a reply from support
 * quoting the first (not right above it, so quoted), and a message that could
 * not be sent.
 */
async function panelWithMessages(page, { mine, more, theirs, failed }) {
  await openPanel(page);
  await send(page, mine);
  await expect(row(page, mine).locator('.c360-status')).not.toHaveText(/…$/);
  await send(page, more);
  await expect(row(page, more).locator('.c360-status')).not.toHaveText(/…$/);
  const conversationId = await conversationOf(page);
  await expect.poll(async () => (await server.messages(conversationId)).length).toBe(2);
  const [visitor] = await server.messages(conversationId);
  await server.call('v1.connect.send', { conversationId, parentId: visitor.id, content: { en: theirs, ar: theirs } });
  await pollNow(page);
  await expect(row(page, theirs)).toBeVisible({ timeout: 40_000 });
  await page.route(/v1\.connect\.send/, (route) => route.abort());
  await send(page, failed);
  await expect(row(page, failed).locator('.c360-retry')).toBeVisible({ timeout: 30_000 });
  await expect(announcer(page), 'the failure is announced').toHaveText(new RegExp(`: ${failed}$`));
  await page.unroute(/v1\.connect\.send/);
  await expect(panel(page).locator('.c360-quote')).toHaveCount(1);
}

/** axe-core on the widget's host element, which takes in its (open) shadow root. */
async function axe(page) {
  await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    const host = document.querySelector('connect360-chat');
    const result = await window.axe.run(host, { resultTypes: ['violations', 'passes', 'incomplete'] });
    const pick = (list) =>
      list.map(({ id, impact, nodes }) => ({
        id,
        impact,
        nodes: nodes.map((n) => ({ target: n.target, html: n.html.slice(0, 120), why: n.failureSummary })),
      }));
    return { version: window.axe.version, violations: pick(result.violations), passes: pick(result.passes), incomplete: pick(result.incomplete) };
  });
}

/** A node axe checked inside the shadow root: its target is a list of selectors, host first. */
const inShadow = (node) => Array.isArray(node.target[0]) && node.target[0][0] === 'connect360-chat';

function expectNoViolations(result, what, { bubbles = true } = {}) {
  // Each node as its selector and the start of its markup (which names its classes).
  const described = (n) => `${n.target[0].at(-1)} ${n.html}`;
  const shadowNodes = (rule) => (rule?.nodes ?? []).filter(inShadow).map(described);
  const passed = Object.fromEntries(result.passes.map((r) => [r.id, shadowNodes(r)]));
  const checked = result.passes.reduce((n, r) => n + shadowNodes(r).length, 0);
  console.log(
    `axe ${result.version} ${what}: ${result.violations.length} violations, ${result.passes.length} rules passed ` +
      `on ${checked} nodes in the shadow root; incomplete: ${result.incomplete.map((r) => `${r.id}(${r.nodes.length})`).join(', ') || 'none'}`,
  );
  expect(result.violations, JSON.stringify(result.violations, null, 2)).toEqual([]);
  // Not vacuous: axe looked at the panel's own elements.
  const contrast = (passed['color-contrast'] ?? []).join(' ');
  if (bubbles) expect(contrast, 'contrast checked in the bubbles').toMatch(/class="c360-bubble"/);
  expect(contrast, 'contrast checked in the composer').toMatch(/c360-input/);
  expect(contrast, 'contrast checked on a failed message').toMatch(/c360-failed/);
  expect(contrast, 'contrast checked on Retry').toMatch(/c360-retry/);
  expect(passed['color-contrast']?.length ?? 0).toBeGreaterThanOrEqual(8);
  expect(passed['button-name']?.join(' ')).toMatch(/c360-launcher/);
  expect(passed['button-name']?.join(' ')).toMatch(/c360-send/);
  expect(passed['button-name']?.join(' ')).toMatch(/c360-retry/);
  expect(passed['aria-dialog-name']?.join(' ')).toMatch(/c360-panel/);
  expect(checked).toBeGreaterThan(40);
}

test('axe finds no violations in the open panel, light theme', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'light' });
  await gotoShop(page);
  await panelWithMessages(page, { mine: 'Where is order #1042? https://example.com/o/1042', more: 'It was paid on Monday.', theirs: 'It ships today.', failed: 'This one did not go.' });
  expectNoViolations(await axe(page), 'light');
});

test('axe finds no violations in the open panel, dark theme', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await gotoShop(page);
  await panelWithMessages(page, { mine: 'Where is order #1042? https://example.com/o/1042', more: 'It was paid on Monday.', theirs: 'It ships today.', failed: 'This one did not go.' });
  const bg = await panel(page).evaluate((el) => getComputedStyle(el).backgroundColor);
  expect(bg, 'the dark theme is on').toBe('rgb(23, 25, 31)');
  expectNoViolations(await axe(page), 'dark');
});

test('axe finds no violations in the open panel, in Arabic (right to left)', async ({ page }) => {
  await gotoShop(page, { attrs: { locale: 'ar' } });
  await panelWithMessages(page, { mine: 'أين طلبي رقم NW-1042؟', more: 'دفعت يوم الاثنين.', theirs: 'يُشحن اليوم.', failed: 'هذه لم تُرسل.' });
  await expect(panel(page).locator('xpath=..')).toHaveAttribute('dir', 'rtl');
  await expect(panel(page).locator('xpath=..')).toHaveAttribute('lang', 'ar');
  // axe leaves out some all-Arabic text nodes from color-contrast: its
  // icon-ligature heuristic (hasRealTextChildren) takes joined Arabic letters
  // for an icon font. The colours are the light theme's, checked above; here
  // the Arabic status, Retry and composer are checked.
  expectNoViolations(await axe(page), 'Arabic', { bubbles: false });
});

test('axe finds no violations with the assistant: its reply and Talk to a person, dark theme', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await gotoShop(page, { assistant: true });
  await openPanel(page);
  await send(page, 'How long does shipping take?');
  const answer = panel(page).locator('.c360-row.c360-theirs:not(.c360-draft) .c360-bubble');
  await expect(answer.first()).toContainText('within two working days', { timeout: 40_000 });
  await expect(panel(page).locator('.c360-draft')).toHaveCount(0);
  // The streamed words were not read out one by one; the stored reply is announced once.
  await expect(announcer(page)).toHaveText(/^New message from Nordwind assistant: .*within two working days/);
  await expect(panel(page).locator('.c360-hand-off')).toBeVisible();
  const result = await axe(page);
  console.log(`axe ${result.version} assistant, dark: ${result.violations.length} violations`);
  expect(result.violations, JSON.stringify(result.violations, null, 2)).toEqual([]);
  const names = result.passes.find((r) => r.id === 'button-name').nodes.filter(inShadow).map((n) => n.html).join(' ');
  expect(names).toMatch(/c360-hand-off/);
  const contrast = result.passes.find((r) => r.id === 'color-contrast').nodes.filter(inShadow).map((n) => n.html).join(' ');
  expect(contrast).toMatch(/c360-hand-off/);
  expect(contrast).toMatch(/class="c360-bubble"/);
});

test('the keyboard alone: Tab to the launcher, Enter opens, Enter sends, Shift+Enter breaks the line, Esc closes', async ({ page }) => {
  // Without transitions, a control that fades in on focus (Reply) is fully
  // shown at once, so "visible when focused" is checked without waiting.
  await page.emulateMedia({ reducedMotion: 'reduce' });
  await gotoShop(page);
  // The loader's stand-in launcher, reached with Tab from the top of the page.
  await expect(launcher(page)).toHaveCount(1);
  let at = null;
  for (let i = 0; i < 20 && at?.cls !== 'c360-launcher'; i++) {
    await page.keyboard.press('Tab');
    at = await focused(page);
  }
  expect(at).toMatchObject({ cls: 'c360-launcher', name: 'Open chat', visible: true });
  // The focus made the widget load; the mounted launcher keeps the focus.
  await expect(panel(page)).toHaveCount(1, { timeout: 30_000 });
  await expect(launcher(page)).toHaveCount(1);
  await expect.poll(() => focused(page)).toMatchObject({ cls: 'c360-launcher', name: 'Open chat' });
  await expect(launcher(page)).toHaveAttribute('aria-expanded', 'false');

  // Enter opens; the focus is in the composer.
  await page.keyboard.press('Enter');
  await expect(panel(page)).toBeVisible();
  await expect.poll(() => focused(page)).toMatchObject({ cls: 'c360-input', name: 'Write a message…' });
  await expect(launcher(page)).toHaveAttribute('aria-expanded', 'true');

  // Shift+Enter is a new line; Enter sends.
  await page.keyboard.type('first line');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('second line');
  const input = panel(page).locator('.c360-input');
  await expect(input).toHaveValue('first line\nsecond line');
  await expect(rows(page)).toHaveCount(0);
  await page.keyboard.press('Enter');
  await expect(row(page, 'second line').locator('.c360-status')).toHaveText('Sent');
  await expect(row(page, 'first line').locator('.c360-bubble')).toHaveText('first line\nsecond line');
  await expect(input).toHaveValue('');
  expect((await server.messages(await conversationOf(page))).map((m) => m.content.en)).toEqual(['first line\nsecond line']);
  expect(await focused(page)).toMatchObject({ cls: 'c360-input' });

  // Tab order: launcher, then the panel from top to bottom, then out of the widget.
  await launcher(page).focus();
  const order = [];
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    const now = await focused(page);
    if (!now) break;
    expect(now.visible, `${now.cls} is visible when it has the focus`).toBe(true);
    order.push(now.cls);
  }
  // The send button is disabled while the composer is empty.
  expect(order).toEqual(['c360-close', 'c360-list', 'c360-reply', 'c360-attach', 'c360-input']);
  await input.focus();
  await page.keyboard.type('draft');
  await page.keyboard.press('Tab');
  expect(await focused(page)).toMatchObject({ cls: 'c360-send', name: 'Send' });

  // Esc closes and gives the focus back to the launcher; nothing of the panel is tabbable then.
  await input.focus();
  await page.keyboard.press('Escape');
  await expect(panel(page)).toBeHidden();
  await expect.poll(() => focused(page)).toMatchObject({ cls: 'c360-launcher', name: 'Open chat' });
  await page.keyboard.press('Tab');
  expect(await focused(page), 'Tab leaves the widget: the closed panel holds no stop').toBeNull();

  // The close button does the same.
  await launcher(page).focus();
  await page.keyboard.press('Enter');
  await expect.poll(() => focused(page)).toMatchObject({ cls: 'c360-input' });
  await expect(input).toHaveValue('draft');
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Shift+Tab');
  expect(await focused(page)).toMatchObject({ cls: 'c360-close', name: 'Close chat' });
  await page.keyboard.press('Enter');
  await expect(panel(page)).toBeHidden();
  await expect.poll(() => focused(page)).toMatchObject({ cls: 'c360-launcher' });
});

/** The longest animation and transition of an element, in seconds (0 when none). */
function motion(locator) {
  return locator.evaluate((el) => {
    const cs = getComputedStyle(el);
    const longest = (list) => Math.max(...list.split(',').map((d) => parseFloat(d) * (d.trim().endsWith('ms') ? 0.001 : 1)));
    return {
      animation: cs.animationName === 'none' ? 0 : longest(cs.animationDuration),
      transition: cs.transitionProperty === 'none' ? 0 : longest(cs.transitionDuration),
    };
  });
}

test('with prefers-reduced-motion: reduce nothing animates and scrolling jumps', async ({ page }) => {
  await page.addInitScript(() => {
    window.__scrolls = [];
    const original = Element.prototype.scrollIntoView;
    Element.prototype.scrollIntoView = function (options) {
      window.__scrolls.push(options?.behavior ?? 'auto');
      return original.call(this, options);
    };
  });
  await page.emulateMedia({ reducedMotion: 'reduce' });
  await gotoShop(page);
  await openPanel(page);
  await send(page, 'hello');
  await expect(row(page, 'hello').locator('.c360-status')).toHaveText('Sent');
  const conversationId = await conversationOf(page);
  const [hello] = await server.messages(conversationId);
  await server.sendMany(conversationId, Array.from({ length: 60 }, (_, i) => `history ${i}`));
  await server.call('v1.connect.send', { conversationId, parentId: hello.id, content: { en: 'about your hello' } });

  await page.reload();
  await openPanel(page);
  await expect(row(page, 'about your hello')).toBeVisible();
  const still = { animation: 0, transition: 0 };
  expect(await motion(launcher(page))).toEqual(still);
  expect(await motion(launcher(page).locator('.c360-icon-close'))).toEqual(still);
  expect(await motion(panel(page))).toEqual(still);
  expect(await motion(rows(page).first())).toEqual(still);
  expect(await motion(panel(page).locator('.c360-send'))).toEqual(still);

  // The spinner of an older page, held while it is looked at.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await page.route(/listMessages/, async (route) => {
    if ((new URL(route.request().url()).searchParams.get('input') ?? '').includes('"cursor":"')) await held;
    await route.continue();
  });
  await panel(page).locator('.c360-list').evaluate((el) => { el.scrollTop = 0; });
  const spinner = panel(page).locator('.c360-spinner');
  await expect(spinner).toBeVisible();
  expect(await motion(spinner)).toEqual(still);
  release();
  await expect(spinner).toHaveCount(0);
  await page.unroute(/listMessages/);

  // A quote jumps to the message it quotes, without smooth scrolling.
  const quote = row(page, 'about your hello').locator('.c360-quote');
  await quote.click();
  await expect.poll(() => page.evaluate(() => window.__scrolls)).toEqual(['instant']);

  // Not vacuous: without the preference the same things do move.
  await page.emulateMedia({ reducedMotion: 'no-preference' });
  expect((await motion(panel(page))).animation).toBeGreaterThan(0);
  expect((await motion(launcher(page))).transition).toBeGreaterThan(0);
  await quote.click();
  await expect.poll(() => page.evaluate(() => window.__scrolls)).toEqual(['instant', 'smooth']);
});

test('the live region announces new messages from support only, never the loaded or paged history', async ({ page }) => {
  await gotoShop(page);
  await openPanel(page);
  await send(page, 'hello');
  await expect(row(page, 'hello').locator('.c360-status')).toHaveText('Sent');
  // The list itself is not live (it would read out history); a visually hidden status region is.
  const list = panel(page).locator('.c360-list');
  await expect(list).toHaveAttribute('role', 'log');
  await expect(list).toHaveAttribute('aria-live', 'off');
  await expect(announcer(page)).toHaveAttribute('role', 'status');
  const box = await announcer(page).boundingBox();
  expect(box.width * box.height, 'visually hidden').toBeLessThanOrEqual(1);
  await expect(announcer(page), "the visitor's own message is not announced").toHaveText('');

  const conversationId = await conversationOf(page);
  await server.sendMany(conversationId, Array.from({ length: 60 }, (_, i) => `history ${i}`));

  // A reload loads the newest page; opening the panel and paging older history announce nothing.
  await page.reload();
  await openPanel(page);
  await expect(row(page, 'history 59')).toBeVisible();
  await expect(announcer(page)).toHaveText('');
  await list.evaluate((el) => { el.scrollTop = 0; });
  await expect(row(page, 'history 0')).toHaveCount(1, { timeout: 20_000 });
  await expect(announcer(page)).toHaveText('');

  // A new message from support is announced, with who wrote it.
  await server.call('v1.connect.send', { conversationId, content: { en: 'Are you still there?' } });
  await pollNow(page);
  await expect(row(page, 'Are you still there?')).toBeVisible({ timeout: 40_000 });
  const support = (await server.messages(conversationId)).at(-1).sender.name;
  expect(support).toBeTruthy();
  await expect(announcer(page)).toHaveText(`New message from ${support}: Are you still there?`);

  // The visitor's answer is not; the announcement stays the last one from support.
  await send(page, 'Yes, still here.');
  await expect(row(page, 'Yes, still here.').locator('.c360-status')).toHaveText('Sent');
  await expect(announcer(page)).toHaveText(`New message from ${support}: Are you still there?`);

  // Closed, the launcher says how many replies wait.
  await page.keyboard.press('Escape');
  await expect(panel(page)).toBeHidden();
  await server.call('v1.connect.send', { conversationId, content: { en: 'One more thing.' } });
  await pollNow(page);
  await expect(launcher(page)).toHaveAttribute('aria-label', 'Open chat, 1 unread', { timeout: 40_000 });
  await expect(launcher(page).locator('.c360-badge')).toHaveAttribute('aria-hidden', 'true');
});

// What the specs share: the widget's parts as Playwright locators, opening
// the demo shop as a site would embed it, opening the panel, sending.
import { expect } from '@playwright/test';

export const panel = (page) => page.locator('connect360-chat .c360-panel');
export const launcher = (page) => page.locator('connect360-chat .c360-launcher');
export const rows = (page) => panel(page).locator('.c360-row');
export const row = (page, text) => rows(page).filter({ hasText: text });

/**
 * Opens `server`'s demo shop. The shop names an AI agent (data-ai-agent);
 * unless a test is about the agent (`assistant`) it opens the shop as a site
 * without one, so that only the messages the test sends are there. `lang`
 * goes on <html>, `attrs` on the widget's script tag as data-* attributes;
 * `widgetKey` embeds another widget of the server than the demo's.
 */
export async function gotoShop(page, server, { assistant = false, lang, attrs = {}, widgetKey } = {}) {
  await page.route(`${server.url}/`, async (route) => {
    const response = await route.fetch();
    let html = await response.text();
    if (!assistant) html = html.replace(/ data-ai-agent="[^"]*"/, '');
    if (widgetKey) html = html.replace(/data-widget-key="[^"]*"/, `data-widget-key="${widgetKey}"`);
    if (lang) html = html.replace('<html lang="en">', `<html lang="${lang}">`);
    const extra = Object.entries(attrs).map(([k, v]) => ` data-${k}="${v}"`).join('');
    html = html.replace('<script src="/widget.js"', `<script src="/widget.js"${extra}`);
    await route.fulfill({ response, body: html });
  });
  await page.goto(server.url);
}

/**
 * Hovering the launcher loads the bundle; the click waits until the widget
 * has mounted (its panel exists, the loader's stand-in launcher is gone), so
 * that one click can't reach both launchers and toggle the panel twice.
 */
export async function openPanel(page) {
  await launcher(page).first().hover({ timeout: 30_000 });
  await expect(panel(page)).toHaveCount(1, { timeout: 30_000 });
  await expect(launcher(page)).toHaveCount(1);
  await launcher(page).click({ timeout: 15_000 });
  await expect(panel(page)).toBeVisible();
}

export async function send(page, text) {
  const input = panel(page).locator('.c360-input');
  await input.fill(text);
  await input.press('Enter');
}

/**
 * Records, every animation frame, what the panel shows of the assistant: its
 * draft (typing or words) and its stored replies (see `streamedAnswer`).
 */
export async function recordAssistant(page) {
  await page.evaluate(() => {
    const root = document.querySelector('connect360-chat').shadowRoot;
    window.__frames = [];
    const sample = () => {
      const draft = root.querySelector('.c360-draft');
      const stored = [...root.querySelectorAll('.c360-row.c360-theirs:not(.c360-draft)')];
      window.__frames.push({
        draft: draft ? draft.querySelector('.c360-bubble').textContent : null,
        typing: !!root.querySelector('.c360-draft .c360-typing'),
        draftTop: draft ? draft.getBoundingClientRect().top : null,
        draftName: draft ? draft.querySelector('.c360-name').textContent : null,
        storedName: stored.length ? stored[stored.length - 1].querySelector('.c360-name').textContent : null,
        stored: stored.map((row) => row.querySelector('.c360-bubble').textContent),
        storedTop: stored.length ? stored[stored.length - 1].getBoundingClientRect().top : null,
      });
      requestAnimationFrame(sample);
    };
    requestAnimationFrame(sample);
  });
}

/**
 * Waits for the stored answer containing `text`, then checks the frames
 * `recordAssistant` took: the answer was seen growing word by word, each
 * draft the start of the answer, and one answer on screen at every frame.
 * The frames, and the index of the first with a draft.
 */
export async function streamedAnswer(page, text) {
  const answer = panel(page).locator('.c360-row.c360-theirs:not(.c360-draft) .c360-bubble');
  await expect(answer).toContainText(text, { timeout: 40_000 });
  await page.waitForTimeout(300);
  const frames = await page.evaluate(() => window.__frames);
  const final = frames[frames.length - 1].stored[0];
  const drafts = frames.filter((f) => f.draft !== null && !f.typing).map((f) => f.draft);
  const growing = [...new Set(drafts)];
  expect(growing.length, 'the answer was seen growing, word by word').toBeGreaterThan(3);
  for (const text of growing) expect(final.startsWith(text.trimEnd()), `${text} begins the answer`).toBe(true);
  const first = frames.findIndex((f) => f.draft !== null);
  for (const f of frames.slice(first)) {
    const shown = (f.draft !== null ? 1 : 0) + f.stored.length;
    expect(shown, `one answer on screen at every frame: ${JSON.stringify(f)}`).toBe(1);
  }
  return { frames, first };
}

/**
 * Sends `text` once `down()` has made the send fail: it shows Not sent with
 * Retry; after `up()`, Retry sends it, and it shows Sent, once.
 */
export async function sendThroughOutage(page, text, { down, up }) {
  await down();
  await send(page, text);
  const failed = row(page, text);
  await expect(failed.locator('.c360-status')).toHaveText('Not sent', { timeout: 30_000 });
  await up();
  await failed.locator('.c360-retry').click();
  await expect(failed.locator('.c360-status')).toHaveText('Sent', { timeout: 30_000 });
  await expect(row(page, text)).toHaveCount(1);
}

/** Fetches `url` from the page, as its link would: the status and the bytes. */
export async function downloadInPage(page, url) {
  const got = await page.evaluate(async (url) => {
    const res = await fetch(url);
    return { status: res.status, body: Array.from(new Uint8Array(await res.arrayBuffer())) };
  }, url);
  return { status: got.status, body: Buffer.from(got.body) };
}

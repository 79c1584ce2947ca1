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

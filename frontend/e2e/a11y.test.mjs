// Accessibility of every page against `pitwall --demo` (PITWALL_URL): axe-core (injected from
// node_modules, no network) finds no `serious` or `critical` violation at desktop and phone
// widths, and the keyboard reaches the page in a natural order (skip link, nav, live Watch).

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { requireUrl, screenshot, withPage } from './browser.mjs';
import { appPages, assertVisitsClean, VIEWPORTS } from './app-pages.mjs';
import { liveSession } from './demo.mjs';

const require = createRequire(import.meta.url);
const AXE_PATH = require.resolve('axe-core');

/** Impacts that fail the suite; `moderate` and `minor` are printed only. */
const BLOCKING = new Set(['serious', 'critical']);

/**
 * Runs axe-core on the page as it is now. Beyond axe's defaults it enables the rules the
 * reviewer ran: visible text that disagrees with the accessible name (WCAG 2.5.3) and touch
 * targets of at least 24 px (WCAG 2.5.8).
 *
 * @param {import('playwright-core').Page} page
 */
async function runAxe(page) {
	await page.addScriptTag({ path: AXE_PATH });
	return page.evaluate(async () => {
		// @ts-expect-error injected above
		const result = await window.axe.run(document, {
			resultTypes: ['violations'],
			rules: { 'label-content-name-mismatch': { enabled: true }, 'target-size': { enabled: true } }
		});
		return result.violations.map((v) => ({
			id: v.id,
			impact: v.impact,
			help: v.help,
			targets: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary?.split('\n').slice(0, 2).join(' ') }))
		}));
	});
}

/** One line per violation and element, for the log and for failure messages. */
function describe(violations) {
	return violations.flatMap((v) => v.targets.map((t) => `[${v.impact}] ${v.id} ${t.target} — ${v.help}${t.summary ? ` (${t.summary})` : ''}`));
}

test('axe-core finds no serious or critical violation on any page, desktop and phone', { timeout: 300_000 }, async (t) => {
	const base = requireUrl('PITWALL_URL', 'pitwall with --demo (`pitwall --demo --web-dir frontend/build`)');
	const pages = await appPages(base);

	for (const spec of pages) {
		const { name, path, settle } = spec;
		for (const viewport of ['desktop', 'phone']) {
			await t.test(`${name} (${path}) at ${viewport}`, async () => {
				await withPage(
					`a11y-${name}-${viewport}`,
					async ({ page, problems }) => {
						await page.goto(`${base}${path}`);
						await settle(page);
						const violations = await runAxe(page);
						for (const line of describe(violations)) t.diagnostic(`${name}@${viewport}: ${line}`);
						const blocking = violations.filter((v) => BLOCKING.has(v.impact));
						await screenshot(page, `a11y-${name}-${viewport}`);
						assert.deepEqual(describe(blocking), [], `${path} at ${viewport} has serious/critical axe violations`);
						assertVisitsClean(problems, [spec]);
					},
					{ viewport: VIEWPORTS[viewport], isMobile: viewport === 'phone', hasTouch: viewport === 'phone', bypassCSP: true }
				);
			});
		}
	}
});

/** The accessible name and role of the focused element, as a screen reader would announce it. */
async function focused(page) {
	return page.evaluate(() => {
		const el = document.activeElement;
		if (!el || el === document.body) return { tag: 'body', name: '' };
		const name = (el.getAttribute('aria-label') ?? el.textContent ?? '').replace(/\s+/g, ' ').trim();
		return { tag: el.tagName.toLowerCase(), name, href: el.getAttribute('href'), id: el.id };
	});
}

test('the first Tab stops are the skip link, the nav and the live Watch; the skip link moves focus to the content', { timeout: 60_000 }, async () => {
	const base = requireUrl('PITWALL_URL', 'pitwall with --demo (`pitwall --demo --web-dir frontend/build`)');
	const { event, session } = await liveSession(base);
	for (const viewport of ['desktop', 'phone']) {
		await withPage(
			`a11y-tab-order-${viewport}`,
			async ({ page, problems }) => {
				await page.goto(`${base}/`);
				await page.getByRole('region', { name: 'Live now' }).waitFor();

				const stops = [];
				for (let i = 0; i < 5; i++) {
					await page.keyboard.press('Tab');
					stops.push(await focused(page));
				}
				assert.deepEqual(
					stops.map((s) => s.name),
					['Skip to content', 'pitwall', 'Schedule', 'Multi-view', `Watch ${event.name} ${session.name}`],
					`Tab order at ${viewport}: ${JSON.stringify(stops)}`
				);
				assert.equal(stops[4].href, `/session/${session.id}`);

				// The skip link is visible while focused (not a hidden trap) and lands in <main>.
				await page.keyboard.press('Shift+Tab');
				await page.keyboard.press('Shift+Tab');
				await page.keyboard.press('Shift+Tab');
				await page.keyboard.press('Shift+Tab');
				const skip = page.getByRole('link', { name: 'Skip to content' });
				assert.equal((await focused(page)).name, 'Skip to content');
				const box = await skip.boundingBox();
				assert.ok(box && box.width > 1 && box.height >= 24 && box.y >= 0, `the focused skip link is visible: ${JSON.stringify(box)}`);
				await screenshot(page, `a11y-skip-link-${viewport}`);
				await page.keyboard.press('Enter');
				assert.equal(await page.evaluate(() => document.activeElement?.id), 'content', 'Enter on the skip link focuses <main id="content">');
				await page.keyboard.press('Tab');
				const after = await focused(page);
				assert.equal(after.name, `Watch ${event.name} ${session.name}`, `first stop after skipping: ${JSON.stringify(after)}`);
				problems.assertClean();
			},
			{ viewport: VIEWPORTS[viewport], isMobile: viewport === 'phone', hasTouch: viewport === 'phone', bypassCSP: true }
		);
	}
});

// Phones and tablets against `pitwall --demo` (PITWALL_URL): no page scrolls sideways at
// 360, 390, 430 or 820 px, every control is on screen, and the home page keeps the live hero
// at the top instead of scrolling to the current Grand Prix.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireUrl, screenshot, withPage } from './browser.mjs';
import { appPages, assertVisitsClean, VIEWPORTS } from './app-pages.mjs';
import { liveSession } from './demo.mjs';

const WIDTHS = [360, 390, 430, 820];

/** Elements sticking out to the right (for the failure message) and off-screen controls. */
async function horizontalReport(page) {
	// The configured width, not innerWidth: a mobile browser widens its layout viewport (and
	// innerWidth) to fit content that overflows, which would hide the very overflow we look for.
	const width = page.viewportSize()?.width ?? 0;
	return page.evaluate((width) => {
		const describe = (el) =>
			`${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.classList.length ? `.${[...el.classList].join('.')}` : ''} "${(el.getAttribute('aria-label') ?? el.textContent ?? '').replace(/\s+/g, ' ').trim().slice(0, 40)}"`;
		const visible = (el) => {
			const r = el.getBoundingClientRect();
			const style = getComputedStyle(el);
			return r.width > 0 && r.height > 0 && style.visibility !== 'hidden' && !el.closest('[hidden], details:not([open]) > :not(summary)');
		};
		const all = [...document.body.querySelectorAll('*')].filter(visible);
		const overflowing = all
			.filter((el) => el.getBoundingClientRect().right > width + 0.5)
			.map((el) => `${describe(el)} right=${Math.round(el.getBoundingClientRect().right)}`);
		const controls = all
			.filter((el) => el.matches('a[href], button, select, input, summary, [tabindex]:not([tabindex="-1"])'))
			// The skip link waits off-screen until it is focused.
			.filter((el) => !el.matches('.skip-link'))
			.filter((el) => {
				const r = el.getBoundingClientRect();
				return r.left < -0.5 || r.right > width + 0.5;
			})
			.map(describe);
		return {
			scrollWidth: document.documentElement.scrollWidth,
			innerWidth: window.innerWidth,
			width,
			overflowing: overflowing.slice(0, 15),
			controls
		};
	}, width);
}

test('no page scrolls sideways at phone and tablet widths, every control on screen', { timeout: 300_000 }, async (t) => {
	const base = requireUrl('PITWALL_URL', 'pitwall with --demo (`pitwall --demo --web-dir frontend/build`)');
	const pages = await appPages(base);
	for (const width of WIDTHS) {
		await t.test(`${width} px`, async () => {
			await withPage(
				`layout-${width}`,
				async ({ page, problems }) => {
					const failures = [];
					for (const { name, path, settle } of pages) {
						await page.goto(`${base}${path}`);
						await settle(page);
						const report = await horizontalReport(page);
						if (report.scrollWidth > width || report.innerWidth !== width) {
							failures.push(
								`${path} is ${report.scrollWidth} px wide (innerWidth ${report.innerWidth}); sticking out: ${report.overflowing.join('; ')}`
							);
						}
						if (report.controls.length > 0) failures.push(`${path} has controls off screen: ${report.controls.join(', ')}`);
						if (width === 360 || width === 820) await screenshot(page, `layout-${name}-${width}`);
					}
					assert.deepEqual(failures, [], `at ${width} px`);
					assertVisitsClean(problems, pages);
				},
				{ viewport: { width, height: 844 }, isMobile: width < 800, hasTouch: width < 800 }
			);
		});
	}
});

test('home keeps the live hero and its Watch at the top on phone, tablet and desktop', { timeout: 120_000 }, async (t) => {
	const base = requireUrl('PITWALL_URL', 'pitwall with --demo (`pitwall --demo --web-dir frontend/build`)');
	const { event, session } = await liveSession(base);
	for (const [name, viewport] of Object.entries(VIEWPORTS)) {
		await t.test(name, async () => {
			await withPage(
				`layout-home-${name}`,
				async ({ page, problems }) => {
					// Record the furthest the page ever scrolled, from the first paint on.
					await page.addInitScript(() => {
						window.__maxScrollY = 0;
						addEventListener('scroll', () => (window.__maxScrollY = Math.max(window.__maxScrollY, scrollY)), { passive: true });
					});
					await page.goto(`${base}/`);
					await page.locator('ol.events').waitFor();
					const hero = page.getByRole('region', { name: 'Live now' });
					// The hero's stream line loads after the schedule; once it shows, the page
					// has done everything it does on load.
					await hero.locator('[data-availability]').waitFor();
					await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));

					assert.equal(await page.evaluate(() => window.__maxScrollY), 0, 'the home page scrolled away from the live hero');
					const watch = hero.getByRole('link', { name: `Watch ${event.name} ${session.name}` });
					const box = await watch.boundingBox();
					assert.ok(box, 'the live Watch is rendered');
					assert.ok(box.y >= 0 && box.y + box.height <= viewport.height, `the live Watch is on the first screen: ${JSON.stringify(box)}`);
					assert.ok(box.height >= 24 && box.width >= 24, `the live Watch is at least 24 px: ${JSON.stringify(box)}`);
					await screenshot(page, `layout-home-${name}`);
					problems.assertClean();
				},
				{ viewport, isMobile: name === 'phone', hasTouch: name === 'phone' }
			);
		});
	}
});

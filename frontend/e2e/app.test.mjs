// The web app as served by a running pitwall (PITWALL_URL): the shell renders, deep links
// fall back to the SPA, and the page reports no errors.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireUrl, screenshot, withPage } from './browser.mjs';

// The home page asks for /schedule; a server without a loaded season may answer 404, which
// the page shows as an empty state. Nothing else may fail.
const allowHttp = [{ path: '/schedule', status: 404 }];

test('home page shows the app shell, server status and a settled schedule section', { timeout: 60_000 }, async () => {
	const base = requireUrl('PITWALL_URL', 'pitwall (`pitwall --listen 127.0.0.1:0 --web-dir frontend/build`)');
	await withPage('app-home', async ({ page, problems }) => {
		const response = await page.goto(`${base}/`);
		assert.equal(response?.status(), 200, 'GET / should answer the app');

		await page.getByRole('heading', { name: 'pitwall', level: 1 }).waitFor();
		const status = page.getByRole('region', { name: 'Server status' });
		// /healthz answers {"status":"ok"} on every running pitwall.
		await status.getByText('ok', { exact: true }).waitFor();

		// The schedule settles into a list or a tidy empty/error state, never stays loading.
		const schedule = page.getByRole('region', { name: 'Schedule' });
		await schedule.locator('ol.events, .empty[role=status]').first().waitFor();
		assert.equal(await schedule.getByText('Loading the schedule').count(), 0);

		await screenshot(page, 'app-home');
		problems.assertClean({ allowHttp });
	});
});

test('deep links render the app through the SPA fallback', { timeout: 60_000 }, async () => {
	const base = requireUrl('PITWALL_URL', 'pitwall (`pitwall --listen 127.0.0.1:0 --web-dir frontend/build`)');
	await withPage('app-deep-link', async ({ page, problems }) => {
		const session = await page.goto(`${base}/session/xyz`);
		assert.equal(session?.status(), 200, 'GET /session/xyz should answer the app (SPA fallback)');
		assert.match(session?.headers()['content-type'] ?? '', /text\/html/);
		await page.getByRole('heading', { name: 'pitwall', level: 1 }).waitFor();
		await page.getByRole('heading', { name: 'Session xyz' }).waitFor();
		await screenshot(page, 'app-session');

		const watch = await page.goto(`${base}/watch`);
		assert.equal(watch?.status(), 200, 'GET /watch should answer the app (SPA fallback)');
		await page.getByRole('heading', { name: 'Multi-view' }).waitFor();
		await page.getByText('No streams on the wall.').waitFor();
		await screenshot(page, 'app-watch-empty');

		// Client-side navigation back home works from a deep link.
		await page.getByRole('link', { name: 'Schedule' }).click();
		await page.getByRole('region', { name: 'Server status' }).getByText('ok', { exact: true }).waitFor();
		assert.equal(new URL(page.url()).pathname, '/');

		problems.assertClean({ allowHttp });
	});
});

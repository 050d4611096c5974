// Every page of the web app as the accessibility and layout suites visit it against
// `pitwall --demo`: where it lives and when it has settled (data loaded, player started), so
// a check never judges a loading placeholder.

import { liveSession, liveStreams, waitForState } from './demo.mjs';

/** Viewports the suites use: the reviewer's phone, a tablet, a desktop. */
export const VIEWPORTS = {
	phone: { width: 390, height: 844 },
	tablet: { width: 820, height: 1180 },
	desktop: { width: 1440, height: 900 }
};

/**
 * Fails unless nothing went wrong on the page beyond what `spec` expects: the SvelteKit
 * router logs the unknown route it renders as a 404 with console.error.
 *
 * @param {import('./browser.mjs').PageProblems} problems
 * @param {{ expectedConsole?: RegExp }[]} specs the pages visited with this page object
 */
export function assertVisitsClean(problems, specs) {
	const expected = specs.map((s) => s.expectedConsole).filter(Boolean);
	problems.consoleErrors = problems.consoleErrors.filter((e) => !expected.some((re) => re.test(e.text)));
	problems.assertClean();
}

/**
 * The app's pages, once the demo is ready: `{ name, path, settle(page), expectedConsole? }`.
 * `settle` waits (bounded) until the page shows its real content.
 *
 * @param {string} base PITWALL_URL
 */
export async function appPages(base) {
	const { event, session } = await liveSession(base);
	const [stream] = await liveStreams(base, session.id);
	return [
		{
			name: 'home',
			path: '/',
			settle: async (page) => {
				await page.locator('ol.events').waitFor();
				await page.getByRole('region', { name: 'Live now' }).waitFor();
				await page.getByRole('region', { name: 'Server status' }).getByText('ok', { exact: true }).waitFor();
			}
		},
		{
			name: 'session',
			path: `/session/${session.id}`,
			settle: async (page) => {
				await page.getByRole('heading', { name: `${event.name} · ${session.name}` }).waitFor();
				await page.locator('ol.streams > li').first().waitFor();
			}
		},
		{
			name: 'session-playing',
			path: `/session/${session.id}?stream=${stream.id}`,
			settle: async (page) => {
				const tile = page.locator('section[aria-label="Player"] [data-state]');
				await tile.waitFor();
				await waitForState(tile, 'playing', 30_000);
			}
		},
		{
			name: 'watch-empty',
			path: '/watch',
			settle: async (page) => {
				await page.getByText('No streams on the wall.').waitFor();
			}
		},
		{
			name: 'watch-one',
			path: `/watch?streams=${stream.id}`,
			settle: async (page) => {
				const tile = page.locator('section[aria-label="Players"] [data-state]').first();
				await tile.waitFor();
				await waitForState(tile, 'playing', 30_000);
			}
		},
		{
			name: 'not-found',
			path: '/no-such-page',
			expectedConsole: /Not found: \/no-such-page/,
			settle: async (page) => {
				await page.getByRole('heading', { name: 'Page not found' }).waitFor();
			}
		}
	];
}

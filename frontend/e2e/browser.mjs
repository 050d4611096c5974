// Shared harness for the browser tests: launches the system Chromium through playwright-core,
// records everything that went wrong on a page (console errors, uncaught exceptions, failed
// requests, HTTP error answers) so a test can assert there was none, and saves screenshots to
// `<repo>/target/e2e/<name>.png`.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));

/** The frontend package directory (`<repo>/frontend`). */
export const frontendDir = resolve(here, '..');

/** Where screenshots go: `<repo>/target/e2e`. */
export const artifactsDir = resolve(frontendDir, '..', 'target', 'e2e');

/** Debian's chromium; `npx playwright install` cannot work here, so no bundled browser. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const chromiumArgs = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-background-networking',
	'--disable-component-update',
	'--autoplay-policy=no-user-gesture-required',
	'--no-first-run',
	'--disable-sync'
];

/**
 * The base URL in env var `name`, without a trailing slash. A missing variable fails the
 * calling test loudly: the CI runner always sets these, so a silent skip would hide a
 * broken runner.
 */
export function requireUrl(name, whatToStart) {
	const value = process.env[name];
	if (!value) {
		assert.fail(
			`${name} is not set. The browser tests need a running ${whatToStart}; ` +
				`start it and run e.g. \`${name}=http://127.0.0.1:PORT npm run e2e\` ` +
				'(cargo xtask ci does this for you).'
		);
	}
	try {
		new URL(value);
	} catch {
		assert.fail(`${name}=${JSON.stringify(value)} is not an absolute URL (expected e.g. http://127.0.0.1:8080).`);
	}
	return value.replace(/\/+$/, '');
}

/**
 * Launches a fresh headless Chromium. `chromium.launch` always starts from a new temporary
 * profile (user-data dir) that is deleted on close, so no state leaks between tests.
 */
export async function launchBrowser() {
	if (!existsSync(chromiumPath)) {
		assert.fail(`No Chromium at ${chromiumPath}. Install Debian's \`chromium\` package or set CHROMIUM_PATH.`);
	}
	return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
}

/**
 * Everything that went wrong on one page. Chromium reports an HTTP error answer twice, as a
 * response and as a console "Failed to load resource" entry; the console copy is kept apart
 * (`resourceErrors`) so an expected 404 can be allowed in one place.
 */
export class PageProblems {
	/** @type {{text: string, url: string}[]} console.error and friends, not about a resource */
	consoleErrors = [];
	/** @type {{text: string, url: string}[]} Chromium's "Failed to load resource" console entries */
	resourceErrors = [];
	/** @type {string[]} uncaught exceptions and unhandled rejections */
	pageErrors = [];
	/** @type {{url: string, method: string, error: string}[]} requests that got no answer (CORS, refused, …) */
	failedRequests = [];
	/** @type {{url: string, method: string, status: number}[]} answers with status >= 400 */
	httpErrors = [];

	/** @param {import('playwright-core').Page} page */
	constructor(page) {
		page.on('console', (msg) => {
			if (msg.type() !== 'error') return;
			const entry = { text: msg.text(), url: msg.location().url };
			if (entry.text.startsWith('Failed to load resource')) this.resourceErrors.push(entry);
			else this.consoleErrors.push(entry);
		});
		page.on('pageerror', (err) => this.pageErrors.push(err.stack ?? String(err)));
		page.on('requestfailed', (req) => {
			const error = req.failure()?.errorText ?? 'unknown';
			// A player cancelling a download it no longer needs (seek, quality switch,
			// navigation) is not a failure.
			if (error === 'net::ERR_ABORTED') return;
			this.failedRequests.push({ url: req.url(), method: req.method(), error });
		});
		page.on('response', (res) => {
			if (res.status() >= 400) {
				this.httpErrors.push({ url: res.url(), method: res.request().method(), status: res.status() });
			}
		});
	}

	/** Console errors and failed requests caused by the same-origin policy. */
	get corsErrors() {
		return [
			...this.consoleErrors.filter((e) => /CORS policy|Cross-Origin/i.test(e.text)).map((e) => e.text),
			...this.failedRequests.filter((r) => r.error === 'net::ERR_FAILED').map((r) => `${r.method} ${r.url}: ${r.error}`)
		];
	}

	/**
	 * Fails unless nothing went wrong. `allowHttp` lists HTTP error answers a test expects:
	 * `{ path, status }` matches the URL's pathname exactly, `{ pattern, status? }` matches
	 * the pathname against a RegExp (any status >= 400 when `status` is left out) — for the
	 * relayed playlists and segments of a feed a test breaks on purpose.
	 *
	 * @param {{ allowHttp?: ({ path: string, status: number } | { pattern: RegExp, status?: number })[] }} [options]
	 */
	assertClean({ allowHttp = [] } = {}) {
		const allowed = (url, status) =>
			allowHttp.some((a) => {
				const pathname = new URL(url).pathname;
				if ('pattern' in a) return a.pattern.test(pathname) && (a.status === undefined || a.status === status);
				return a.status === status && pathname === a.path;
			});
		const unexpectedHttp = this.httpErrors.filter((e) => !allowed(e.url, e.status));
		const allowedUrls = new Set(this.httpErrors.filter((e) => allowed(e.url, e.status)).map((e) => e.url));
		const unexpectedResource = this.resourceErrors.filter((e) => !allowedUrls.has(e.url));

		const lines = [
			...this.pageErrors.map((e) => `uncaught: ${e}`),
			...this.consoleErrors.map((e) => `console.error: ${e.text}${e.url ? ` (${e.url})` : ''}`),
			...unexpectedResource.map((e) => `console: ${e.text} (${e.url})`),
			...this.failedRequests.map((r) => `request failed: ${r.method} ${r.url}: ${r.error}`),
			...unexpectedHttp.map((e) => `HTTP ${e.status}: ${e.method} ${e.url}`)
		];
		assert.deepEqual(lines, [], `the page reported problems:\n  ${lines.join('\n  ')}`);
	}
}

/**
 * Opens a page in its own context with problem tracking. `contextOptions` are passed to
 * `browser.newContext` (e.g. `{ timezoneId: 'America/New_York' }`).
 *
 * @param {import('playwright-core').Browser} browser
 * @param {import('playwright-core').BrowserContextOptions} [contextOptions]
 */
export async function openPage(browser, contextOptions = {}) {
	const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-GB', ...contextOptions });
	context.setDefaultTimeout(15_000);
	const page = await context.newPage();
	return { context, page, problems: new PageProblems(page) };
}

/**
 * Saves a full-page screenshot as `<repo>/target/e2e/<name>.png` and returns its path.
 *
 * @param {import('playwright-core').Page} page
 * @param {string} name
 * @param {{ timeout?: number }} [options]
 */
export async function screenshot(page, name, { timeout = 15_000 } = {}) {
	await mkdir(artifactsDir, { recursive: true });
	const path = join(artifactsDir, `${name}.png`);
	await page.screenshot({ path, fullPage: true, timeout });
	return path;
}

/**
 * Runs `body` with a fresh browser and page, always closing the browser. When `body` throws,
 * a screenshot `<name>-failure.png` is saved first to show what the page looked like.
 *
 * @template T
 * @param {string} name
 * @param {(ctx: { browser: import('playwright-core').Browser, page: import('playwright-core').Page, problems: PageProblems }) => Promise<T>} body
 * @param {import('playwright-core').BrowserContextOptions} [contextOptions]
 * @returns {Promise<T>}
 */
export async function withPage(name, body, contextOptions = {}) {
	const browser = await launchBrowser();
	try {
		const { page, problems } = await openPage(browser, contextOptions);
		try {
			return await body({ browser, page, problems });
		} catch (err) {
			// Best effort: a page whose renderer is stuck cannot be captured, and that must
			// not hide the original error.
			await screenshot(page, `${name}-failure`, { timeout: 5_000 }).catch((shotErr) =>
				console.error(`(no failure screenshot for ${name}: ${shotErr.message.split('\n')[0]})`)
			);
			throw err;
		}
	} finally {
		await browser.close();
	}
}

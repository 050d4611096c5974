// hls.js in Chromium plays the testbed's `main` feed (TESTBED_URL): proves the browser, the
// codecs and the testbed's live HLS work together before any pitwall relaying is involved.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { frontendDir, requireUrl, screenshot, withPage } from './browser.mjs';

const hlsScript = join(frontendDir, 'node_modules', 'hls.js', 'dist', 'hls.min.js');

// A blank page on the testbed's origin, so the playlist and segments are same-origin.
const playerHtml = `<!doctype html>
<html><head><meta charset="utf-8"><title>e2e player</title><link rel="icon" href="data:,">
<style>body{margin:0;background:#000}video{width:100%;max-width:960px;display:block}</style></head>
<body><video id="video" muted playsinline></video></body></html>`;

/** Fetches a freshly tokenised master playlist URL for `feed` from the testbed. */
async function tokenisedMaster(testbed, feed) {
	const res = await fetch(`${testbed}/_control/token?feed=${encodeURIComponent(feed)}`);
	assert.equal(res.status, 200, `GET /_control/token?feed=${feed} answered ${res.status}`);
	const body = await res.json();
	assert.equal(typeof body.url, 'string', `/_control/token answer has no "url": ${JSON.stringify(body)}`);
	assert.equal(typeof body.expires_at, 'number', `/_control/token answer has no numeric "expires_at": ${JSON.stringify(body)}`);
	return new URL(body.url, testbed).href;
}

test('hls.js plays the testbed main feed and keeps playing', { timeout: 90_000 }, async () => {
	const testbed = requireUrl('TESTBED_URL', 'pitwall-testbed (`pitwall-testbed --listen 127.0.0.1:0`)');
	assert.ok(existsSync(hlsScript), `hls.js not found at ${hlsScript}; run npm ci in frontend/`);
	const master = await tokenisedMaster(testbed, 'main');

	await withPage('testbed-hls', async ({ page, problems }) => {
		const playerUrl = `${testbed}/__e2e/player.html`;
		await page.route(playerUrl, (route) => route.fulfill({ contentType: 'text/html', body: playerHtml }));
		await page.goto(playerUrl);
		await page.addScriptTag({ path: hlsScript });

		assert.equal(await page.evaluate(() => Hls.isSupported()), true, 'Hls.isSupported() is false in this Chromium');

		await page.evaluate((src) => {
			const video = /** @type {HTMLVideoElement} */ (document.getElementById('video'));
			// A live stream starts at its live edge, not at 0: progress is measured from the
			// position where playback started.
			const state = { fatal: null, errors: [], playError: null, levels: 0, startedAt: null, firstEndSN: null, lastEndSN: null };
			window.__e2e = state;
			const hls = new Hls();
			window.__hls = hls;
			hls.on(Hls.Events.ERROR, (_event, data) => {
				const what = `${data.type}/${data.details}`;
				if (data.fatal) state.fatal = what;
				else state.errors.push(what);
			});
			hls.on(Hls.Events.MANIFEST_PARSED, (_event, data) => {
				state.levels = data.levels.length;
				video.play().catch((err) => (state.playError = String(err)));
			});
			// A live playlist grows while we watch; a stale one (dead encoder) would still play
			// its buffered tail for a few seconds, so growth is what proves "live".
			hls.on(Hls.Events.LEVEL_LOADED, (_event, data) => {
				state.firstEndSN ??= data.details.endSN;
				state.lastEndSN = data.details.endSN;
			});
			video.addEventListener('playing', () => (state.startedAt ??= video.currentTime));
			hls.loadSource(src);
			hls.attachMedia(video);
		}, master);

		const snapshot = () =>
			page.evaluate(() => {
				const video = /** @type {HTMLVideoElement} */ (document.getElementById('video'));
				const played = window.__e2e.startedAt === null ? 0 : video.currentTime - window.__e2e.startedAt;
				return { ...window.__e2e, currentTime: video.currentTime, played, width: video.videoWidth, height: video.videoHeight };
			});

		// Playback gets going: 3 s of media played, or a fatal error, within 30 s.
		await page
			.waitForFunction(
				() => {
					const state = window.__e2e;
					const video = document.getElementById('video');
					return state.fatal !== null || state.playError !== null || (state.startedAt !== null && video.currentTime - state.startedAt > 3);
				},
				null,
				{ timeout: 30_000, polling: 250 }
			)
			.catch(async () => assert.fail(`playback did not pass 3 s within 30 s: ${JSON.stringify(await snapshot())}`));
		const first = await snapshot();
		assert.equal(first.fatal, null, `hls.js fatal error: ${JSON.stringify(first)}`);
		assert.equal(first.playError, null, `video.play() was refused: ${JSON.stringify(first)}`);
		assert.equal(first.levels, 3, 'the testbed master playlist should offer 3 variants');
		assert.ok(first.width > 0 && first.height > 0, `no video frames decoded: ${JSON.stringify(first)}`);

		// And keeps going on new segments (a stream that stalls after its first segments fails).
		await page
			.waitForFunction(
				(t) => {
					const state = window.__e2e;
					const grew = state.lastEndSN > state.firstEndSN;
					return state.fatal !== null || (grew && document.getElementById('video').currentTime > t + 2);
				},
				first.currentTime,
				{ timeout: 15_000, polling: 250 }
			)
			.catch(async () =>
				assert.fail(`playback stalled at ${first.currentTime} s or the playlist stopped growing: ${JSON.stringify(await snapshot())}`)
			);
		const later = await snapshot();
		assert.equal(later.fatal, null, `hls.js fatal error: ${JSON.stringify(later)}`);

		await screenshot(page, 'testbed-hls');
		await page.evaluate(() => window.__hls.destroy());
		problems.assertClean();
		assert.deepEqual(problems.corsErrors, []);
	});
});

// The stream picker, the player and the multi-view against `pitwall --demo` (PITWALL_URL) and
// its in-process testbed (TESTBED_URL), whose faults break a CDN feed mid-play:
//  (b) picking a stream plays it (video.currentTime advances);
//  (c) a feed answering 500 for a while shows "reconnecting", then playback resumes;
//  (d) a dead feed counts down to the next source; "Stay" stops that, the player ends in the
//      error card, and "Try next source" plays another stream;
//  (e) the multi-view plays independent tiles; removing and adding tiles works.
// Every test resets the testbed's faults afterwards.

import assert from 'node:assert/strict';
import { after, afterEach, test } from 'node:test';
import { requireUrl, screenshot, withPage } from './browser.mjs';
import { faultedMedia, feedOf, liveSession, liveStreams, recordStates, resetFaults, segmentUriStability, setFault, stateLog, streamTitle, tileSnapshot, waitForProgress, waitForState } from './demo.mjs';

const pitwallWhat = 'pitwall with --demo (`pitwall --demo --web-dir frontend/build`)';
const testbedWhat = "pitwall's demo testbed (the `testbed on http://…` address pitwall --demo prints)";

afterEach(() => resetFaults(process.env.TESTBED_URL));
after(() => resetFaults(process.env.TESTBED_URL));

/**
 * Plays a viewer who stays on a stream whatever happens: clicks "Stay" the moment a failover
 * countdown shows (the server may drop a feed answering 500 from its list while the player
 * still reconnects), so a test can watch that stream's own recovery.
 */
async function alwaysStay(page) {
	await page.evaluate(() => {
		const stay = () => document.querySelector('button[aria-label="Stay on this stream"]')?.click();
		new MutationObserver(stay).observe(document.body, { subtree: true, childList: true });
	});
}

/** Opens the live session's picker and starts `stream`; answers the player tile locator. */
async function openAndPlay(page, base, sessionId, stream) {
	await page.goto(`${base}/session/${sessionId}`);
	const row = page.locator(`li[data-stream-id="${stream.id}"]`);
	await row.waitFor({ timeout: 20_000 });
	const clickedAt = Date.now();
	await row.getByRole('button', { name: `Watch ${streamTitle(stream)}` }).click();
	const tile = page.getByRole('region', { name: `Player: ${streamTitle(stream)}` });
	await tile.waitFor();
	return { tile, clickedAt };
}

test('(b) picking a stream plays it', { timeout: 90_000 }, async () => {
	const base = requireUrl('PITWALL_URL', pitwallWhat);
	const { session } = await liveSession(base);
	const streams = await liveStreams(base, session.id);
	const stream = streams[0];

	await withPage('picker-playing', async ({ page, problems }) => {
		await page.goto(`${base}/session/${session.id}`);
		// The list: best first as the API orders it, labelled by site and label, with quality
		// and the age of the last check.
		const rows = page.locator('ol.streams > li');
		await rows.first().waitFor({ timeout: 20_000 });
		const first = rows.first();
		assert.match((await first.textContent()) ?? '', new RegExp(`${stream.site}.*${stream.label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
		assert.match((await first.textContent()) ?? '', /\d+p/);
		assert.match((await first.locator('.age').textContent()) ?? '', /^checked (just now|\d+ s ago|\d+ min ago)$/);
		// Before a choice the session URL plays (session.test.mjs); pinning a stream replaces
		// that tile with one of the same size.
		const auto = page.locator('section[aria-label="Player"] [data-state]');
		await auto.waitFor();
		assert.match((await auto.getAttribute('data-src')) ?? '', /^\/live\/session\//);
		const placeholder = await auto.boundingBox();
		await screenshot(page, 'picker-list');

		const clickedAt = Date.now();
		await first.getByRole('button', { name: `Watch ${streamTitle(stream)}` }).click();
		const tile = page.getByRole('region', { name: `Player: ${streamTitle(stream)}` });
		await tile.waitFor();
		const box = await tile.boundingBox();
		assert.ok(placeholder && box, 'session tile and pinned tile have boxes');
		assert.ok(Math.abs(box.height - placeholder.height) <= 2, `no layout shift: session tile ${placeholder.height}px, pinned tile ${box.height}px`);
		assert.equal(await tile.locator('video').evaluate((v) => v.muted), true, 'starts muted so autoplay is allowed');

		await waitForProgress(tile, { seconds: 0.5, timeout: 20_000 });
		const startMs = Date.now() - clickedAt;
		console.log(`# (b) playback advancing ${startMs} ms after the click`);
		await waitForProgress(tile, { seconds: 2, timeout: 20_000 });
		assert.equal(new URL(page.url()).searchParams.get('stream'), stream.id, 'the choice is kept in the URL');

		// The quality menu lists Auto plus every level; the stats overlay toggles with `i`.
		const quality = tile.getByRole('combobox', { name: 'Quality' });
		const options = await quality.locator('option').allTextContents();
		assert.equal(options.length, stream.variants.length + 1, `quality options: ${options}`);
		assert.match(options[0], /^Auto \(\d+p\)$/, 'Auto shows the level actually playing');
		await tile.focus();
		await page.keyboard.press('i');
		const stats = tile.getByRole('definition').first();
		await stats.waitFor();
		assert.match((await tile.locator('.stats').textContent()) ?? '', /buffer.*\d+\.\d s.*latency/s);
		await screenshot(page, 'player-playing-stats');
		await page.keyboard.press('i');

		// Keyboard: space pauses and resumes, m unmutes.
		await page.keyboard.press(' ');
		await page.waitForFunction((el) => el.querySelector('video').paused, await tile.elementHandle(), { timeout: 5000 });
		await page.keyboard.press(' ');
		await page.waitForFunction((el) => !el.querySelector('video').paused, await tile.elementHandle(), { timeout: 5000 });
		await page.keyboard.press('m');
		assert.equal(await tile.locator('video').evaluate((v) => v.muted), false, 'm unmutes');
		await waitForProgress(tile, { seconds: 1, timeout: 15_000 });

		// Picking a specific quality plays it.
		await quality.selectOption({ index: options.length - 1 });
		await waitForProgress(tile, { seconds: 1, timeout: 20_000 });

		problems.assertClean();
		assert.deepEqual(problems.corsErrors, []);
	});
});

test('(c) a feed outage mid-play shows reconnecting, then playback resumes', { timeout: 120_000 }, async () => {
	const base = requireUrl('PITWALL_URL', pitwallWhat);
	const testbed = requireUrl('TESTBED_URL', testbedWhat);
	const { session } = await liveSession(base);
	const streams = await liveStreams(base, session.id);
	const stream = streams[0];
	const feed = feedOf(stream);

	await withPage('player-reconnect', async ({ page, problems }) => {
		await recordStates(page);
		const { tile } = await openAndPlay(page, base, session.id, stream);
		await waitForProgress(tile, { seconds: 2, timeout: 20_000 });
		await alwaysStay(page);

		const brokeAt = Date.now();
		await setFault(testbed, feed, '500');
		await waitForState(tile, 'reconnecting', 45_000);
		console.log(`# (c) reconnecting ${Date.now() - brokeAt} ms after the feed started answering 500`);
		await tile.getByText('Reconnecting…').waitFor();
		await screenshot(page, 'player-reconnecting');

		// Keep the feed down until what was buffered has played out (the playhead stops), so
		// that progress afterwards can only come from new media.
		await page
			.waitForFunction(
				(el) => {
					const video = el.querySelector('video');
					const now = performance.now();
					if (el.__still === undefined || video.currentTime !== el.__stillAt) {
						el.__still = now;
						el.__stillAt = video.currentTime;
					}
					return now - el.__still > 2000;
				},
				await tile.elementHandle(),
				{ timeout: 30_000, polling: 100 }
			)
			.catch(async () => assert.fail(`the buffer never ran dry during the outage: ${JSON.stringify(await tileSnapshot(tile))}`));
		assert.equal(await tile.getAttribute('data-state'), 'reconnecting', 'a stalled player says so');
		console.log(`# (c) playhead stopped ${Date.now() - brokeAt} ms into the outage`);
		const healedAt = Date.now();
		await setFault(testbed, feed, 'ok');
		const resumeMs = await waitForProgress(tile, { seconds: 2, timeout: 45_000 }).catch(async (err) => {
			err.message += `\n  states since the fault: ${(await stateLog(page, brokeAt)).join(', ')}`;
			err.message += `\n  server check: ${await segmentUriStability(base, stream)}`;
			throw err;
		});
		console.log(`# (c) playing again within ${Date.now() - healedAt} ms of the feed healing (progress wait ${resumeMs} ms)`);
		console.log(`# (c) states since the fault: ${(await stateLog(page, brokeAt)).join(', ')}`);
		assert.equal(await tile.getAttribute('data-state'), 'playing');
		await screenshot(page, 'player-recovered');

		problems.assertClean({ allowHttp: faultedMedia });
		assert.deepEqual(problems.corsErrors, []);
	});
});

test('(d) a dead source counts down; "Stay" keeps it until the error card; "Try next source" plays the next one', { timeout: 150_000 }, async () => {
	const base = requireUrl('PITWALL_URL', pitwallWhat);
	const testbed = requireUrl('TESTBED_URL', testbedWhat);
	const { session } = await liveSession(base);
	const streams = await liveStreams(base, session.id, { min: 2 });
	const stream = streams[0];
	const feed = feedOf(stream);

	await withPage('player-dead', async ({ page, problems }) => {
		await recordStates(page);
		const { tile } = await openAndPlay(page, base, session.id, stream);
		await waitForProgress(tile, { seconds: 1, timeout: 20_000 });

		const killedAt = Date.now();
		await setFault(testbed, feed, 'dead');
		await waitForState(tile, 'reconnecting', 45_000);
		// Lost (the player gave up, or the server dropped the stream): a countdown to the
		// next source, which the viewer can stop.
		await tile.getByRole('alert').getByText(/^Source lost — switching to .+ in \d s$/).waitFor({ timeout: 90_000 });
		await tile.getByRole('button', { name: 'Stay on this stream' }).click();
		await waitForState(tile, 'failed', 90_000);
		console.log(`# (d) failed ${Date.now() - killedAt} ms after the feed died`);
		console.log(`# (d) states since the fault: ${(await stateLog(page, killedAt)).join(', ')}`);
		const card = tile.getByRole('alert');
		await card.getByText('This stream stopped working').waitFor();
		await card.getByRole('button', { name: 'Retry this stream' }).waitFor();
		const next = card.getByRole('button', { name: 'Try next source' });
		await next.waitFor();
		assert.equal(await tile.getByText(/^Source lost/).count(), 0, 'no countdown after Stay');
		await screenshot(page, 'player-failed');

		await next.click();
		// Another stream's tile replaces the failed one and plays.
		const newTile = page.locator('section[aria-label="Player"] [data-state]');
		await page.waitForFunction(
			(label) => {
				const el = document.querySelector('section[aria-label="Player"] [data-state]');
				return el !== null && el.getAttribute('aria-label') !== label;
			},
			`Player: ${streamTitle(stream)}`,
			{ timeout: 10_000 }
		);
		const label = await newTile.getAttribute('aria-label');
		const elapsed = await waitForProgress(newTile, { seconds: 1, timeout: 20_000 });
		console.log(`# (d) next source (${label}) playing ${elapsed} ms after the click`);
		assert.notEqual(new URL(page.url()).searchParams.get('stream'), stream.id);
		await screenshot(page, 'player-next-source');

		problems.assertClean({ allowHttp: faultedMedia });
		assert.deepEqual(problems.corsErrors, []);
	});
});

test('(e) multi-view plays independent tiles; remove and add', { timeout: 120_000 }, async () => {
	const base = requireUrl('PITWALL_URL', pitwallWhat);
	const { session } = await liveSession(base);
	const streams = await liveStreams(base, session.id, { min: 3 });
	const [a, b, c] = streams;

	await withPage('multiview', async ({ page, problems }) => {
		await page.goto(`${base}/watch?streams=${a.id},${b.id}`);
		const tiles = page.locator('section[aria-label="Players"] [data-state]');
		await page.waitForFunction(() => document.querySelectorAll('section[aria-label="Players"] [data-state]').length === 2);
		await Promise.all([0, 1].map((i) => waitForProgress(tiles.nth(i), { seconds: 1, timeout: 30_000 })));
		// Side by side, same size (2 columns).
		const [boxA, boxB] = await Promise.all([tiles.nth(0).boundingBox(), tiles.nth(1).boundingBox()]);
		assert.ok(boxA && boxB && Math.abs(boxA.y - boxB.y) < 2 && boxB.x > boxA.x, 'two tiles side by side');

		// Add a third from the picker panel: a 2 × 2 grid.
		await page.getByRole('button', { name: `Add: ${streamTitle(c)}` }).click();
		await page.waitForFunction(() => document.querySelectorAll('section[aria-label="Players"] [data-state]').length === 3);
		assert.deepEqual(new URL(page.url()).searchParams.get('streams')?.split(','), [a.id, b.id, c.id]);
		await Promise.all([0, 1, 2].map((i) => waitForProgress(tiles.nth(i), { seconds: 1, timeout: 30_000 })));
		await screenshot(page, 'multiview-three');

		// Removing one leaves the others playing.
		await page.getByRole('button', { name: `Remove ${streamTitle(a)}` }).click();
		await page.waitForFunction(() => document.querySelectorAll('section[aria-label="Players"] [data-state]').length === 2);
		assert.deepEqual(new URL(page.url()).searchParams.get('streams')?.split(','), [b.id, c.id]);
		await Promise.all([0, 1].map((i) => waitForProgress(tiles.nth(i), { seconds: 1, timeout: 20_000 })));

		problems.assertClean();
		assert.deepEqual(problems.corsErrors, []);
	});
});

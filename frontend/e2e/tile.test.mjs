// The player tile on the session page, against `pitwall --demo` (PITWALL_URL) and its testbed
// (TESTBED_URL):
//  (a) one click to sound: a muted autoplaying tile shows one "Click for sound" prompt; one
//      click unmutes and the prompt goes; the volume slider works from the keyboard; after a
//      reload the tile starts with that sound. The bar says "N s behind live"; PiP and theater
//      buttons work (theater widens the tile and is remembered);
//  (b) at 390 × 844 the tile fits the screen and every control on its bar is inside it;
//  (c) a pinned stream whose feed dies says "reconnecting" within seconds, explains what happens
//      next and stops showing "playing" on the bar; after "Stay" it ends failed, and once the
//      feed is back (and listed live again) it plays again with no click.
// A broken feed is always restored in a `finally`: other suites share the server.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { requireUrl, screenshot, withPage } from './browser.mjs';
import { DESKTOP, faultedMedia, feedOf, liveSession, liveStreams, PHONE, playerTile, recordStates, resetFaults, setFault, stateLog, streamTitle, tileSnapshot, waitForProgress, waitForState } from './demo.mjs';

const pitwallWhat = 'pitwall with --demo (`pitwall --demo --web-dir frontend/build`)';
const testbedWhat = "pitwall's demo testbed (the `testbed on http://…` address pitwall --demo prints)";

after(() => resetFaults(process.env.TESTBED_URL));

/** What the bar claims: the play button's name and the live indicator's tone. */
async function barClaims(tile) {
	return {
		play: await tile.locator('.bar button[title^="Play/pause"]').getAttribute('aria-label'),
		live: await tile.locator('.bar [data-live]').getAttribute('data-live')
	};
}

test('(a) one click for sound, remembered; behind live; picture-in-picture; theater', { timeout: 120_000 }, async () => {
	const base = requireUrl('PITWALL_URL', pitwallWhat);
	const { session } = await liveSession(base);
	await liveStreams(base, session.id);

	await withPage('tile-sound', async ({ page, problems }) => {
		await page.setViewportSize(DESKTOP);
		await page.goto(`${base}/session/${session.id}`);
		const tile = playerTile(page);
		await tile.waitFor({ timeout: 20_000 });
		await waitForProgress(tile, { seconds: 1, timeout: 30_000 });

		// Muted autoplay, one prompt; one click and there is sound.
		const prompt = tile.getByRole('button', { name: 'Click for sound' });
		await prompt.waitFor();
		assert.equal(await prompt.count(), 1);
		assert.equal(await tile.locator('video').evaluate((v) => v.muted), true, 'autoplay starts muted');
		await screenshot(page, 'tile-sound-prompt-desktop');
		await prompt.click();
		assert.equal(await tile.locator('video').evaluate((v) => v.muted), false, 'one click unmutes');
		await prompt.waitFor({ state: 'detached', timeout: 2000 });

		// The volume slider is labelled and moves with the keyboard.
		const slider = tile.getByRole('slider', { name: 'Volume' });
		await slider.focus();
		await page.keyboard.press('ArrowLeft');
		await page.keyboard.press('ArrowLeft');
		const volume = await tile.locator('video').evaluate((v) => v.volume);
		assert.ok(Math.abs(volume - 0.9) < 0.01, `two steps down from full volume: ${volume}`);

		// "N s behind live" on the bar, a number from hls.js.
		const behind = tile.locator('.bar .behind-live');
		await behind.waitFor();
		assert.match((await behind.textContent()) ?? '', /^\d+ s behind live$/);
		const playingBar = await barClaims(tile);
		assert.equal(playingBar.play, 'Pause', 'a playing tile says so');
		assert.match(playingBar.live, /^(live|behind)$/);

		// Picture-in-picture, where the browser offers it.
		const pipEnabled = await page.evaluate(() => document.pictureInPictureEnabled);
		const pip = tile.getByRole('button', { name: 'Picture in picture' });
		assert.equal(await pip.count(), pipEnabled ? 1 : 0, `PiP button only when document.pictureInPictureEnabled (${pipEnabled})`);
		if (pipEnabled) {
			await pip.click();
			await page.waitForFunction(() => document.pictureInPictureElement?.tagName === 'VIDEO', null, { timeout: 5000 });
			assert.equal(await pip.getAttribute('aria-pressed'), 'true');
			await pip.click();
			await page.waitForFunction(() => document.pictureInPictureElement === null, null, { timeout: 5000 });
		}

		// Theater mode widens the tile to (nearly) the window's width.
		const narrow = await tile.boundingBox();
		await tile.getByRole('button', { name: 'Theater mode' }).click();
		await page.waitForFunction((w) => document.querySelector('section[aria-label="Player"] [data-state]').getBoundingClientRect().width > w + 100, narrow.width);
		const wide = await tile.boundingBox();
		assert.ok(wide.width >= DESKTOP.width - 40 && wide.x >= 0, `theater spans the window: ${JSON.stringify(wide)}`);
		assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), DESKTOP.width, 'no sideways scroll in theater mode');
		await waitForProgress(tile, { seconds: 0.5, timeout: 10_000 });
		await screenshot(page, 'tile-theater-desktop');

		// A new visit starts with the sound and layout chosen before: no prompt, same volume.
		await page.reload();
		const again = playerTile(page);
		await again.waitFor({ timeout: 20_000 });
		await waitForProgress(again, { seconds: 1, timeout: 30_000 });
		const sound = await again.locator('video').evaluate((v) => ({ muted: v.muted, volume: v.volume }));
		assert.equal(sound.muted, false, 'unmuted, as chosen');
		assert.ok(Math.abs(sound.volume - 0.9) < 0.01, `volume remembered: ${sound.volume}`);
		assert.equal(await again.getByRole('button', { name: 'Click for sound' }).count(), 0, 'no prompt when there is sound');
		assert.equal(await again.getByRole('button', { name: 'Theater mode' }).getAttribute('aria-pressed'), 'true', 'theater remembered');
		assert.ok((await again.boundingBox()).width >= DESKTOP.width - 40);
		// Back to the page column (leaves the shared browser profile as it was: nothing, it is fresh).
		await again.getByRole('button', { name: 'Theater mode' }).click();
		await page.waitForFunction((w) => document.querySelector('section[aria-label="Player"] [data-state]').getBoundingClientRect().width <= w + 1, narrow.width);

		problems.assertClean();
		assert.deepEqual(problems.corsErrors, []);
	});
});

test('(b) on a phone the tile fits and every bar control is on screen', { timeout: 90_000 }, async () => {
	const base = requireUrl('PITWALL_URL', pitwallWhat);
	const { session } = await liveSession(base);
	await liveStreams(base, session.id);

	await withPage(
		'tile-phone',
		async ({ page, problems }) => {
			await page.goto(`${base}/session/${session.id}`);
			const tile = playerTile(page);
			await tile.waitFor({ timeout: 20_000 });
			await waitForProgress(tile, { seconds: 1, timeout: 30_000 });
			await tile.locator('.bar .behind-live').waitFor();
			const box = await tile.boundingBox();
			assert.ok(box.x >= 0 && box.x + box.width <= PHONE.width, `the tile fits the screen: ${JSON.stringify(box)}`);
			assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), PHONE.width, 'no sideways scroll');
			const controls = tile.locator('.bar button, .bar select, .bar input');
			const names = [];
			for (const control of await controls.all()) {
				const name = await control.evaluate((el) => el.getAttribute('aria-label') ?? el.textContent);
				const b = await control.boundingBox();
				assert.ok(b && b.x >= 0 && b.x + b.width <= PHONE.width && b.width > 0, `${name} is inside the screen: ${JSON.stringify(b)}`);
				names.push(name);
			}
			for (const want of ['Pause', 'Volume', 'Quality', 'Statistics', 'Theater mode', 'Fullscreen']) {
				assert.ok(names.includes(want), `${want} is on the bar: ${names.join(', ')}`);
			}
			await screenshot(page, 'tile-phone');
			problems.assertClean();
		},
		{ viewport: PHONE }
	);
});

test('(c) a dead feed: reconnecting within seconds, explained; after Stay and the feed returning it plays by itself', { timeout: 240_000 }, async () => {
	const base = requireUrl('PITWALL_URL', pitwallWhat);
	const testbed = requireUrl('TESTBED_URL', testbedWhat);
	const { session } = await liveSession(base);
	const streams = await liveStreams(base, session.id, { min: 2 });
	const stream = streams.find((s) => s.source === 'demo-pitlane') ?? streams[streams.length - 1];
	const feed = feedOf(stream);

	await withPage('tile-dead', async ({ page, problems }) => {
		await recordStates(page);
		await page.setViewportSize(DESKTOP);
		await page.goto(`${base}/session/${session.id}?stream=${stream.id}`);
		const tile = page.getByRole('region', { name: `Player: ${streamTitle(stream)}` });
		await tile.waitFor({ timeout: 20_000 });
		await waitForProgress(tile, { seconds: 1, timeout: 30_000 });
		// This viewer declines every automatic move: the test watches the stream's own recovery.
		await page.evaluate(() => {
			const stay = () => document.querySelector('button[aria-label="Stay on this stream"]')?.click();
			new MutationObserver(stay).observe(document.body, { subtree: true, childList: true });
		});

		const killedAt = Date.now();
		try {
			await setFault(testbed, feed, 'dead');
			// A frozen picture is noticed within seconds, not when the retries run out.
			await waitForState(tile, 'reconnecting', 15_000);
			console.log(`# (c) reconnecting ${Date.now() - killedAt} ms after the feed died`);
			const overlay = tile.locator('.reconnecting');
			await overlay.waitFor();
			const text = (await overlay.textContent()) ?? '';
			assert.match(text, /Trying again (in \d+ s|now)/, `says when it tries again: ${text}`);
			assert.match(text, /If it does not come back|If this source stays down/, `says what comes after: ${text}`);
			const during = await barClaims(tile);
			assert.notEqual(during.play, 'Pause', 'no ❚❚ while reconnecting');
			assert.notEqual(during.live, 'live', 'no red Live dot while reconnecting');
			await screenshot(page, 'tile-reconnecting');

			await waitForState(tile, 'failed', 120_000);
			console.log(`# (c) failed ${Date.now() - killedAt} ms after the feed died`);
			assert.deepEqual(await barClaims(tile), { play: 'Play', live: 'failed' }, 'the bar says the stream is down');
			await tile.getByText('It plays again by itself as soon as pitwall lists it live.').waitFor();
			assert.equal(await tile.getByText(/^Source lost/).count(), 0, 'no countdown after Stay');
			await screenshot(page, 'tile-failed');
		} finally {
			await setFault(testbed, feed, 'ok');
		}
		const healedAt = Date.now();
		// One health interval plus a probe until pitwall lists it live, one poll, one load.
		const elapsed = await waitForProgress(tile, { seconds: 1, timeout: 75_000 }).catch(async (err) => {
			err.message += `\n  states since the fault: ${(await stateLog(page, killedAt)).join(', ')}`;
			throw err;
		});
		console.log(`# (c) playing again ${Date.now() - healedAt} ms after the feed came back (no click; progress wait ${elapsed} ms)`);
		assert.equal(new URL(page.url()).searchParams.get('stream'), stream.id, 'still the same stream');
		const revived = await barClaims(tile);
		assert.equal(revived.play, 'Pause');
		assert.match(revived.live, /^(live|behind)$/);
		await screenshot(page, 'tile-revived');
		console.log(`# (c) states: ${(await stateLog(page, killedAt)).join(', ')}`);
		console.log(`# (c) tile: ${JSON.stringify(await tileSnapshot(tile))}`);

		problems.assertClean({ allowHttp: faultedMedia });
		assert.deepEqual(problems.corsErrors, []);
	});
});

// The session URL and failover in the web app, against `pitwall --demo` (PITWALL_URL) and its
// testbed (TESTBED_URL):
//  (a) "Watch" on the live session plays the session URL (`/live/session/ID/…`) at once, and
//      the tile names the stream the server says it plays (`/live/session/ID/status`);
//  (b) a pinned stream whose feed dies counts down ("Source lost — switching to … in 5 s") and
//      then plays another stream on its own, with a toast saying what it switched to
//      ("Onboard 1 lost — switched to …") whose "Undo" goes back without counting down again;
//  (c) when the stream behind the session URL dies, the server switches and the tile says so
//      ("Switched to … at HH:MM (… lost)") and names the new source.
// A broken feed is always restored in a `finally`: other suites share the server.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { requireUrl, screenshot, withPage } from './browser.mjs';
import { DESKTOP, faultedMedia, feedOf, getJson, liveSession, liveStreams, PHONE, playerTile, recordStates, resetFaults, setFault, stateLog, streamTitle, tileSnapshot, waitForProgress } from './demo.mjs';

const pitwallWhat = 'pitwall with --demo (`pitwall --demo --web-dir frontend/build`)';
const testbedWhat = "pitwall's demo testbed (the `testbed on http://…` address pitwall --demo prints)";

after(() => resetFaults(process.env.TESTBED_URL));

/**
 * Waits (bounded) until the session status names a playing stream: the tile has loaded a
 * session playlist, so the server has picked one. Answers `playing`.
 */
async function sessionPlaying(base, sessionId, timeout) {
	const deadline = Date.now() + timeout;
	let last;
	while (Date.now() < deadline) {
		last = await getJson(`${base}/live/session/${encodeURIComponent(sessionId)}/status`);
		if (last.playing) return last.playing;
		await new Promise((r) => setTimeout(r, 250));
	}
	assert.fail(`/live/session/${sessionId}/status named no playing stream within ${timeout} ms: ${JSON.stringify(last)}`);
}

test('(a) Watch on the live session plays the session URL and names its source', { timeout: 120_000 }, async () => {
	const base = requireUrl('PITWALL_URL', pitwallWhat);
	const { event, session } = await liveSession(base);
	const streams = await liveStreams(base, session.id);

	await withPage('session-auto', async ({ page, problems }) => {
		const playlists = [];
		page.on('request', (req) => {
			const path = new URL(req.url()).pathname;
			if (path.endsWith('.m3u8')) playlists.push(path);
		});
		await page.setViewportSize(DESKTOP);
		await page.goto(`${base}/`);
		const clickedAt = Date.now();
		await page.getByRole('region', { name: 'Live now' }).getByRole('link', { name: `Watch ${event.name} ${session.name}` }).click();
		await page.waitForURL(`${base}/session/${session.id}`);

		// The player starts on the session URL by itself: no empty player, no choice needed.
		const tile = playerTile(page);
		await tile.waitFor({ timeout: 20_000 });
		assert.equal(await tile.getAttribute('data-src'), `/live/session/${session.id}/master.m3u8`);
		await waitForProgress(tile, { seconds: 2, timeout: 30_000 });
		console.log(`# (a) session URL advancing 2 s of media ${Date.now() - clickedAt} ms after Watch`);
		assert.ok(
			playlists.some((p) => p.startsWith(`/live/session/${session.id}/`)),
			`hls.js loads the session playlists: ${playlists.join(', ')}`
		);
		assert.deepEqual(
			playlists.filter((p) => !p.startsWith('/live/session/')),
			[],
			'nothing but the session URL is loaded'
		);
		await page.getByRole('button', { name: 'Playing automatically (session)', pressed: true }).waitFor();

		// The tile names what the server plays behind the session URL, with its role.
		const playing = await sessionPlaying(base, session.id, 15_000);
		const listed = streams.find((s) => s.id === playing.stream);
		const name = `${playing.label} · ${listed?.site ?? playing.source}`;
		await page.getByRole('region', { name: `Player: ${name}` }).waitFor({ timeout: 10_000 }).catch(async () =>
			assert.fail(`the tile does not name ${name}: ${JSON.stringify(await tileSnapshot(tile))}`)
		);
		const bar = (await tile.locator('.title').textContent()) ?? '';
		assert.match(bar, /Auto/, 'the tile says it follows the session');
		assert.match(bar.toLowerCase(), new RegExp(playing.role === 'pitlane' ? 'pit lane' : playing.role), `the role is shown: ${bar}`);
		await page.getByText(`Playing ${name}`).waitFor();
		await screenshot(page, 'session-auto-desktop');
		await page.setViewportSize(PHONE);
		await waitForProgress(tile, { seconds: 1, timeout: 15_000 });
		await screenshot(page, 'session-auto-phone');

		// Pinning a stream and going back to automatic.
		const pin = streams.find((s) => s.id !== playing.stream) ?? streams[0];
		await page.locator(`li[data-stream-id="${pin.id}"]`).getByRole('button', { name: `Watch ${streamTitle(pin)}` }).click();
		const pinned = page.getByRole('region', { name: `Player: ${streamTitle(pin)}` });
		await pinned.waitFor();
		assert.equal(await pinned.getAttribute('data-src'), pin.url);
		assert.equal(new URL(page.url()).searchParams.get('stream'), pin.id);
		await waitForProgress(pinned, { seconds: 1, timeout: 20_000 });
		await page.getByRole('button', { name: 'Watch automatically (session)' }).click();
		await page.waitForFunction((src) => document.querySelector('section[aria-label="Player"] [data-state]')?.getAttribute('data-src') === src, `/live/session/${session.id}/master.m3u8`);
		assert.equal(new URL(page.url()).searchParams.get('stream'), null);
		await waitForProgress(playerTile(page), { seconds: 1, timeout: 20_000 });

		problems.assertClean();
		assert.deepEqual(problems.corsErrors, []);
	});
});

test('(b) a pinned stream that dies counts down, then another stream plays on its own', { timeout: 180_000 }, async () => {
	const base = requireUrl('PITWALL_URL', pitwallWhat);
	const testbed = requireUrl('TESTBED_URL', testbedWhat);
	const { session } = await liveSession(base);
	const streams = await liveStreams(base, session.id, { min: 2 });
	const stream = streams.find((s) => s.source === 'demo-onboard-1') ?? streams[0];
	const feed = feedOf(stream);

	await withPage('session-failover', async ({ page, problems }) => {
		await recordStates(page);
		await page.setViewportSize(DESKTOP);
		await page.goto(`${base}/session/${session.id}`);
		await page.locator(`li[data-stream-id="${stream.id}"]`).getByRole('button', { name: `Watch ${streamTitle(stream)}` }).click();
		const tile = page.getByRole('region', { name: `Player: ${streamTitle(stream)}` });
		await tile.waitFor();
		await waitForProgress(tile, { seconds: 1, timeout: 20_000 });

		const killedAt = Date.now();
		try {
			await setFault(testbed, feed, 'dead');
			// Lost = the player gave up (backoff 1+2+4+8+8 s after the first fatal error) or the
			// health board dropped the stream (one health interval plus a probe); either first.
			const countdown = tile.getByRole('alert').getByText(/^Source lost — switching to .+ in \d s$/);
			await countdown.waitFor({ timeout: 90_000 }).catch(async () =>
				assert.fail(`no countdown within 90 s: ${JSON.stringify(await tileSnapshot(tile))}; states: ${(await stateLog(page, killedAt)).join(', ')}`)
			);
			const text = (await countdown.textContent()) ?? '';
			const target = /switching to (.+) in \d s$/.exec(text)?.[1];
			console.log(`# (b) "${text}" ${Date.now() - killedAt} ms after the feed died`);
			await tile.getByRole('button', { name: `Switch now to ${target}` }).waitFor();
			await tile.getByRole('button', { name: 'Stay on this stream' }).waitFor();
			await screenshot(page, 'session-countdown-desktop');
			await page.setViewportSize(PHONE);
			await screenshot(page, 'session-countdown-phone');
			await page.setViewportSize(DESKTOP);

			// No click: the tile moves on its own to the stream it named.
			const next = page.getByRole('region', { name: `Player: ${target}` });
			await next.waitFor({ timeout: 15_000 });
			const elapsed = await waitForProgress(next, { seconds: 1, timeout: 30_000 });
			console.log(`# (b) ${target} playing ${Date.now() - killedAt} ms after the feed died (${elapsed} ms after the switch)`);
			assert.notEqual(new URL(page.url()).searchParams.get('stream'), stream.id, 'the new stream is the pinned one now');
			const toast = next.getByRole('status').filter({ hasText: new RegExp(`^${stream.label} lost — switched to .+Undo`) });
			await toast.waitFor();
			await screenshot(page, 'session-switched-desktop');
			await page.setViewportSize(PHONE);
			await waitForProgress(next, { seconds: 0.5, timeout: 15_000 });
			await screenshot(page, 'session-switched-phone');
			await page.setViewportSize(DESKTOP);

			// "Undo": back to the lost stream, which keeps its tile (no second countdown).
			await toast.getByRole('button', { name: 'Undo' }).click();
			const back = page.getByRole('region', { name: `Player: ${streamTitle(stream)}` });
			await back.waitFor({ timeout: 10_000 });
			assert.equal(new URL(page.url()).searchParams.get('stream'), stream.id, 'Undo pins the lost stream again');
			await page
				.waitForFunction((el) => ['reconnecting', 'failed'].includes(el.getAttribute('data-state')), await back.elementHandle(), { timeout: 45_000 })
				.catch(async () => assert.fail(`the lost stream never showed its state: ${JSON.stringify(await tileSnapshot(back))}`));
			assert.equal(await back.getByText(/^Source lost/).count(), 0, 'no countdown after Undo');
			await back.getByRole('button', { name: 'Try next source' }).first().waitFor();
		} finally {
			await setFault(testbed, feed, 'ok');
		}
		problems.assertClean({ allowHttp: faultedMedia });
		assert.deepEqual(problems.corsErrors, []);
	});
});

test('(c) the session URL switches sources on the server; the tile names the new one and when', { timeout: 180_000 }, async () => {
	const base = requireUrl('PITWALL_URL', pitwallWhat);
	const testbed = requireUrl('TESTBED_URL', testbedWhat);
	const { session } = await liveSession(base);
	const streams = await liveStreams(base, session.id, { min: 2 });

	await withPage('session-switch', async ({ page, problems }) => {
		await page.setViewportSize(DESKTOP);
		await page.goto(`${base}/session/${session.id}`);
		const tile = playerTile(page);
		await tile.waitFor({ timeout: 20_000 });
		await waitForProgress(tile, { seconds: 1, timeout: 30_000 });
		const before = await sessionPlaying(base, session.id, 15_000);
		const feed = feedOf({ id: before.stream, source: before.source });

		const killedAt = Date.now();
		try {
			await setFault(testbed, feed, 'dead');
			const note = tile.getByRole('status').getByText(new RegExp(`^Switched to .+ at \\d\\d:\\d\\d \\(${before.label} lost\\)$`));
			await note.waitFor({ timeout: 90_000 }).catch(async () =>
				assert.fail(`no switch note within 90 s: ${JSON.stringify(await tileSnapshot(tile))}`)
			);
			console.log(`# (c) "${await note.textContent()}" ${Date.now() - killedAt} ms after the feed died`);
			const after = await getJson(`${base}/live/session/${encodeURIComponent(session.id)}/status`);
			assert.ok(after.playing && after.playing.stream !== before.stream, `the server plays another stream: ${JSON.stringify(after)}`);
			const listed = streams.find((s) => s.id === after.playing.stream);
			await page.getByRole('region', { name: `Player: ${after.playing.label} · ${listed?.site ?? after.playing.source}` }).waitFor();
			// Same tile, same session URL: the player keeps going across the switch, past what it
			// had buffered of the old stream (a few segments), so into the new stream's media.
			assert.equal(await tile.getAttribute('data-src'), `/live/session/${session.id}/master.m3u8`);
			await waitForProgress(tile, { seconds: 10, timeout: 40_000 });
			await screenshot(page, 'session-auto-switched-desktop');
		} finally {
			await setFault(testbed, feed, 'ok');
		}
		problems.assertClean({ allowHttp: faultedMedia });
	});
});

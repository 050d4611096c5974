// Helpers for browser tests against `pitwall --demo`: find the live session and its streams
// through the JSON API, break and heal testbed feeds, and wait for a player tile to play.

import assert from 'node:assert/strict';

/** HTTP errors a test expects from a feed it broke on purpose: relayed playlists and segments. */
export const faultedMedia = [{ pattern: /^\/(live|relay)\// }];

/** GETs JSON from pitwall (or the testbed), failing the test with the answer when it is not 200. */
export async function getJson(url) {
	const res = await fetch(url);
	const text = await res.text();
	assert.equal(res.status, 200, `GET ${url} answered ${res.status}: ${text.slice(0, 300)}`);
	try {
		return JSON.parse(text);
	} catch {
		assert.fail(`GET ${url} did not answer JSON: ${text.slice(0, 300)}`);
	}
}

/**
 * What the waits below are derived from: `pitwall --demo`'s configuration (defaults in
 * host/src/config.rs). A cold start compiles every plugin before the first extraction (no
 * compiled cache on a fresh machine); an extraction may take up to the call timeout, and its
 * candidates are probed at once (each probe bounded by the probe timeout).
 */
export const DEMO_LIMITS = {
	callTimeoutMs: 20_000,
	probeTimeoutMs: 10_000,
	healthIntervalMs: 15_000
};

/** Cold compile of the demo's plugins on a loaded 2-core machine, with a wide margin. */
const READY_TIMEOUT_MS = 60_000;

/**
 * Waits (bounded) until `/readyz` answers 200: the schedule and the plugins' first scan are
 * loaded. Fails with the last answer (which names the pending checks).
 */
export async function ready(base, { timeout = READY_TIMEOUT_MS } = {}) {
	const deadline = Date.now() + timeout;
	let last;
	while (Date.now() < deadline) {
		const res = await fetch(`${base}/readyz`);
		last = `${res.status} ${await res.text()}`;
		if (res.status === 200) return;
		await new Promise((r) => setTimeout(r, 250));
	}
	assert.fail(`${base}/readyz not ready after ${timeout} ms: ${last}`);
}

/** The demo season and its live session (the demo always has one), once pitwall is ready. */
export async function liveSession(base) {
	await ready(base);
	const schedule = await getJson(`${base}/schedule`);
	for (const event of schedule.events) {
		for (const session of event.sessions) {
			if (session.status === 'live') return { schedule, event, session };
		}
	}
	assert.fail(`no live session in ${base}/schedule (season ${schedule.season}); is pitwall running with --demo?`);
}

/**
 * The verified-live streams of `sessionId`, waiting (bounded) until there are at least
 * `min`. Once pitwall is ready, a source is extracted at once and its candidates probed at
 * once, so the bound is one extraction plus one probe, plus one health interval for a feed that
 * a previous test broke and healed. On timeout, reports every source's last outcome.
 */
export async function liveStreams(
	base,
	sessionId,
	{ min = 1, timeout = DEMO_LIMITS.callTimeoutMs + DEMO_LIMITS.probeTimeoutMs + DEMO_LIMITS.healthIntervalMs } = {}
) {
	await ready(base);
	const deadline = Date.now() + timeout;
	const query = `session=${encodeURIComponent(sessionId)}`;
	while (Date.now() < deadline) {
		const last = await getJson(`${base}/streams?${query}`);
		if (last.streams.length >= min) return last.streams;
		await new Promise((r) => setTimeout(r, 250));
	}
	const all = await getJson(`${base}/streams?${query}&all=true`);
	assert.fail(`fewer than ${min} live streams for ${sessionId} after ${timeout} ms: ${JSON.stringify(all)}`);
}

/** The testbed feed behind a demo stream (`demo-onboard-1` → `onboard-1`). */
export function feedOf(stream) {
	assert.match(stream.source, /^demo-/, `stream ${stream.id} is not from a demo source: ${stream.source}`);
	return stream.source.slice('demo-'.length);
}

/** `POST {testbed}/_control/fault {"feed", "mode"}`. */
export async function setFault(testbed, feed, mode) {
	const res = await fetch(`${testbed}/_control/fault`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ feed, mode })
	});
	assert.equal(res.status, 200, `fault ${feed}=${mode} answered ${res.status}: ${await res.text()}`);
}

/** `POST {testbed}/_control/reset`: every fault off. Never throws (used in `after` hooks). */
export async function resetFaults(testbed) {
	if (!testbed) return;
	await fetch(`${testbed}/_control/reset`, { method: 'POST' }).catch(() => {});
}

/** What a tile shows right now, for failure messages. */
export async function tileSnapshot(tile) {
	return tile
		.evaluate((el) => {
			const video = el.querySelector('video');
			return {
				state: el.getAttribute('data-state'),
				label: el.getAttribute('aria-label'),
				currentTime: video?.currentTime,
				paused: video?.paused,
				readyState: video?.readyState,
				text: el.innerText.replace(/\s+/g, ' ').slice(0, 300)
			};
		})
		.catch((err) => ({ error: String(err) }));
}

/** Waits (bounded) until the tile's `data-state` is `state`. */
export async function waitForState(tile, state, timeout) {
	await tile
		.page()
		.waitForFunction(([el, want]) => el.getAttribute('data-state') === want, [await tile.elementHandle(), state], {
			timeout,
			polling: 100
		})
		.catch(async () => assert.fail(`tile never reached data-state=${state} within ${timeout} ms: ${JSON.stringify(await tileSnapshot(tile))}`));
}

/**
 * Waits (bounded) until the tile is `playing` and its video's `currentTime` has advanced by
 * `seconds` since the tile was first seen playing. Answers how long that took, in ms.
 */
export async function waitForProgress(tile, { seconds = 1, timeout = 20_000 } = {}) {
	const started = Date.now();
	const handle = await tile.elementHandle();
	// A fresh baseline: a mark left by an earlier wait would count old progress.
	await handle.evaluate((el) => (el.__mark = undefined));
	await tile
		.page()
		.waitForFunction(
			([el, need]) => {
				const video = el.querySelector('video');
				if (!video || el.getAttribute('data-state') !== 'playing' || video.paused) {
					el.__mark = undefined;
					return false;
				}
				if (el.__mark === undefined) el.__mark = video.currentTime;
				return video.currentTime - el.__mark >= need;
			},
			[handle, seconds],
			{ timeout, polling: 100 }
		)
		.catch(async () =>
			assert.fail(`playback did not advance ${seconds} s within ${timeout} ms: ${JSON.stringify(await tileSnapshot(tile))}`)
		);
	return Date.now() - started;
}

/**
 * Records every `data-state` a player tile takes, with a timestamp, from page load on (call
 * before `page.goto`). Read it with {@link stateLog}.
 */
export async function recordStates(page) {
	await page.addInitScript(() => {
		window.__states = [];
		const seen = new WeakMap();
		const scan = () => {
			for (const el of document.querySelectorAll('[data-state]')) {
				const state = el.getAttribute('data-state');
				if (seen.get(el) !== state) {
					seen.set(el, state);
					window.__states.push({ at: Date.now(), tile: el.getAttribute('aria-label'), state });
				}
			}
		};
		new MutationObserver(scan).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] });
	});
}

/** The recorded states as `+12.3s state (tile)` lines, relative to `since` (ms epoch). */
export async function stateLog(page, since) {
	const states = await page.evaluate(() => window.__states ?? []);
	return states.map((s) => `${((s.at - since) / 1000).toFixed(1)}s ${s.state} (${s.tile})`);
}

/**
 * Diagnosis for a player that does not recover: RFC 8216 §6.2.1 forbids changing the URI of
 * a segment already in a live media playlist, and hls.js rejects such a refresh ("media
 * sequence mismatch", LEVEL_PARSING_ERROR). Fetches one variant playlist twice and says
 * whether the same media sequence number kept its URI.
 */
export async function segmentUriStability(base, stream) {
	const variant = stream.variants[0]?.url ?? stream.url;
	const segments = async () => {
		const text = await (await fetch(new URL(variant, base))).text();
		const seq = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? NaN);
		const uris = text.split('\n').filter((l) => l && !l.startsWith('#'));
		return new Map(uris.map((u, i) => [seq + i, u]));
	};
	const first = await segments();
	await new Promise((r) => setTimeout(r, 300));
	const second = await segments();
	for (const [sn, uri] of second) {
		if (first.has(sn)) {
			return first.get(sn) === uri
				? `segment ${sn} kept its URI across two fetches of ${variant}`
				: `segment ${sn} changed URI between two fetches of ${variant} (${first.get(sn)?.slice(0, 40)}… vs ${uri.slice(0, 40)}…): hls.js rejects such live refreshes`;
		}
	}
	return `no common segment in two fetches of ${variant}`;
}

/** A stream as the app titles it: "Demo TV · Main feed". */
export const streamTitle = (s) => `${s.site ?? s.source} · ${s.label}`;

/** Viewports the suites look at the app with. */
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1440, height: 900 };

/** The one tile of the session page's player section. */
export const playerTile = (page) => page.locator('section[aria-label="Player"] [data-state]');

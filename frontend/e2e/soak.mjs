// Soak: hls.js in Chromium plays a live session's URL (`/live/session/{id}/master.m3u8`) for
// SOAK_SECONDS against `pitwall --demo` started with a short token lifetime and a timer that
// kills the playing feed (`cargo xtask soak` starts it so). It proves the promise "open one URL and
// watch": tokens refresh underneath, the killed source is replaced behind the same URL, and the
// picture never freezes for long.
//
// Not a `*.test.mjs` file: `npm run e2e` does not pick it up; `cargo xtask soak` (and `cargo xtask
// ci`, for 3 minutes) runs it with its own pitwall. Environment:
//   PITWALL_URL        pitwall --demo base URL (required)
//   SOAK_SECONDS       how long to play (default 180)
//   SOAK_MIN_REFRESHES token refreshes of the playing source required (default 15)
//   SOAK_EXPECT_SWITCH "1": the run kills the playing feed, so one switch is required (default 1)
//   SOAK_REPORT        path of a JSON report to write (optional)
//
// Checks: at least SOAK_MIN_REFRESHES refreshes of the source being played, one master URL loaded
// once for the whole run, `video.currentTime` never going back, no `waiting` longer than 2 s except
// one of at most 10 s (around the kill), no fatal hls.js error, no console error or uncaught
// exception. Relayed segments of the killed feed may answer 404 (listed before it died); they are
// counted in the report, not failures.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { frontendDir, requireUrl, screenshot, withPage } from './browser.mjs';
import { getJson, liveSession, liveStreams } from './demo.mjs';

const hlsScript = join(frontendDir, 'node_modules', 'hls.js', 'dist', 'hls.min.js');
const base = requireUrl('PITWALL_URL', 'pitwall with --demo (`cargo xtask soak` starts one)');
const seconds = Number(process.env.SOAK_SECONDS ?? 180);
const minRefreshes = Number(process.env.SOAK_MIN_REFRESHES ?? 15);
const expectSwitch = (process.env.SOAK_EXPECT_SWITCH ?? '1') === '1';
const SAMPLE_MS = 2_000;
const SHORT_WAIT_MS = 2_000;
const KILL_WAIT_MS = 10_000;

const playerHtml = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>soak player</title><link rel="icon" href="data:,">
<style>body{margin:0;background:#000}video{width:100%;max-width:960px;display:block}</style></head>
<body><video id="video" muted playsinline></video></body></html>`;

/** Installs hls.js on the session URL and the watchers whose record `window.__soak` holds. */
function startPlayer(src) {
	const video = /** @type {HTMLVideoElement} */ (document.getElementById('video'));
	const st = {
		src,
		manifestLoads: [],
		levelUrls: {},
		fatal: null,
		errors: {},
		playing: false,
		waitingSince: null,
		waits: [],
		startTime: null,
		maxTime: 0,
		backwards: [],
		discontinuities: 0
	};
	window.__soak = st;
	const endWait = () => {
		if (st.waitingSince === null) return;
		st.waits.push({ at: new Date().toISOString(), ms: Math.round(performance.now() - st.waitingSince) });
		st.waitingSince = null;
	};
	video.addEventListener('playing', () => {
		st.playing = true;
		st.startTime ??= video.currentTime;
		endWait();
	});
	video.addEventListener('waiting', () => {
		if (st.playing && st.waitingSince === null) st.waitingSince = performance.now();
	});
	setInterval(() => {
		const t = video.currentTime;
		if (t + 0.05 < st.maxTime) st.backwards.push({ at: new Date().toISOString(), from: st.maxTime, to: t });
		if (t > st.maxTime) {
			st.maxTime = t;
			// Progress ends a wait even when Chromium sends no `playing` after it.
			if (!video.paused && st.waitingSince !== null && performance.now() - st.waitingSince > 250) endWait();
		}
	}, 250);
	// As the web app configures it (frontend/src/lib/player.ts): a bounded back buffer for hours of play.
	const hls = new Hls({ liveDurationInfinity: true, backBufferLength: 30 });
	window.__hls = hls;
	hls.on(Hls.Events.MANIFEST_LOADING, (_e, data) => st.manifestLoads.push(data.url));
	hls.on(Hls.Events.LEVEL_LOADED, (_e, data) => {
		st.levelUrls[data.details.url] = (st.levelUrls[data.details.url] ?? 0) + 1;
	});
	hls.on(Hls.Events.FRAG_CHANGED, (_e, data) => {
		if (data.frag.tagList?.some((t) => t[0] === 'DIS')) st.discontinuities++;
	});
	hls.on(Hls.Events.ERROR, (_e, data) => {
		const what = `${data.type}/${data.details}`;
		if (data.fatal) st.fatal = what;
		else st.errors[what] = (st.errors[what] ?? 0) + 1;
	});
	hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch((e) => (st.fatal = `play(): ${e}`)));
	hls.loadSource(src);
	hls.attachMedia(video);
}

/** The player's record, with a wait still in progress counted up to now. */
function snapshot() {
	const st = window.__soak;
	const open = st.waitingSince === null ? [] : [{ at: 'ongoing', ms: Math.round(performance.now() - st.waitingSince) }];
	return { ...st, waits: [...st.waits, ...open], currentTime: document.getElementById('video').currentTime };
}

async function main() {
	const { session } = await liveSession(base);
	// Failing over needs somewhere to go.
	await liveStreams(base, session.id, { min: 2 });
	const src = `/live/session/${session.id}/master.m3u8`;
	const started = Date.now();
	/** Distinct refresh times seen per source, and which sources the session URL played. */
	const refreshes = new Map();
	const played = new Set();
	let status = null;
	let relayErrors = 0;

	const report = await withPage('soak', async ({ page, problems }) => {
		page.on('response', (res) => {
			if (res.status() >= 400 && new URL(res.url()).pathname.startsWith('/relay/')) relayErrors++;
		});
		const playerUrl = `${base}/__soak/player.html`;
		await page.route(playerUrl, (route) => route.fulfill({ contentType: 'text/html', body: playerHtml }));
		await page.goto(playerUrl);
		await page.addScriptTag({ path: hlsScript });
		await page.evaluate(startPlayer, `${base}${src}`);
		await page.waitForFunction(() => window.__soak.playing || window.__soak.fatal, null, { timeout: 30_000 });

		let nextLine = Date.now();
		while (Date.now() - started < seconds * 1000) {
			const [streams, now] = await Promise.all([
				getJson(`${base}/streams?session=${encodeURIComponent(session.id)}&all=true`),
				getJson(`${base}/live/session/${encodeURIComponent(session.id)}/status`)
			]);
			status = now;
			if (now.playing?.source) played.add(now.playing.source);
			for (const s of streams.streams) {
				const at = s.token?.last_refresh;
				if (!at) continue;
				if (!refreshes.has(s.source)) refreshes.set(s.source, new Set());
				refreshes.get(s.source).add(at);
			}
			const player = await page.evaluate(snapshot);
			if (player.fatal) break;
			if (Date.now() >= nextLine) {
				const elapsed = Math.round((Date.now() - started) / 1000);
				console.log(
					`soak ${elapsed}/${seconds}s: playing ${now.playing?.label ?? '-'} (${now.playing?.source ?? '-'}), ` +
						`t=${player.currentTime.toFixed(1)}s, waits>2s ${player.waits.filter((w) => w.ms > SHORT_WAIT_MS).length}, ` +
						`switches ${now.switches.length}`
				);
				nextLine = Date.now() + 30_000;
			}
			await new Promise((r) => setTimeout(r, SAMPLE_MS));
		}
		const player = await page.evaluate(snapshot);
		await screenshot(page, 'soak-end');
		return { player, problems };
	});

	const { player, problems } = report;
	const refreshesOfPlayed = [...played].reduce((n, source) => n + (refreshes.get(source)?.size ?? 0), 0);
	const long = player.waits.filter((w) => w.ms > SHORT_WAIT_MS);
	const summary = {
		seconds,
		session: session.id,
		played: [...played],
		refreshes_of_played_sources: refreshesOfPlayed,
		refreshes_by_source: Object.fromEntries([...refreshes].map(([k, v]) => [k, v.size])),
		switches: status?.switches ?? [],
		waits_over_2s: long,
		longest_wait_ms: Math.max(0, ...player.waits.map((w) => w.ms)),
		waits: player.waits.length,
		played_seconds: Math.round(player.maxTime - (player.startTime ?? player.maxTime)),
		backwards: player.backwards,
		discontinuities_played: player.discontinuities,
		manifest_loads: player.manifestLoads,
		playlist_urls: Object.keys(player.levelUrls),
		hls_errors: player.errors,
		fatal: player.fatal,
		relay_errors: relayErrors
	};
	console.log(`soak report: ${JSON.stringify(summary)}`);
	if (process.env.SOAK_REPORT) await writeFile(process.env.SOAK_REPORT, JSON.stringify(summary, null, 2));

	assert.equal(player.fatal, null, `hls.js gave up: ${player.fatal}`);
	assert.deepEqual(player.manifestLoads, [`${base}${src}`], 'the player loaded one URL, once');
	for (const url of summary.playlist_urls) {
		assert.ok(new URL(url).pathname.startsWith(`/live/session/${session.id}/`), `a playlist off the session URL: ${url}`);
	}
	assert.deepEqual(player.backwards, [], 'video.currentTime went back');
	assert.ok(long.length <= 1 && long.every((w) => w.ms <= KILL_WAIT_MS), `stalls: ${JSON.stringify(long)}`);
	assert.ok(
		refreshesOfPlayed >= minRefreshes,
		`only ${refreshesOfPlayed} token refreshes of the played sources (${[...played]}) were seen; want ${minRefreshes}`
	);
	if (expectSwitch) {
		assert.ok(summary.switches.length >= 1, `the killed source was never switched away from: ${JSON.stringify(status)}`);
	}
	problems.assertClean({ allowHttp: [{ pattern: /^\/relay\//, status: 404 }] });
}

await main();

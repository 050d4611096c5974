// The multi-view wall (`/watch`) against `pitwall --demo` (PITWALL_URL):
//  (a) a 4-tile 2×2 wall fits 1440×900 and 1920×1080 with no page scroll; every layout applies
//      and fits; tiles swap by dragging a handle and with the move buttons (and keep playing);
//      the fullscreen button puts the whole wall fullscreen;
//  (b) one tile audible at a time (unmuting a second mutes the first) unless "Mix audio";
//      tile and master volume reach the videos and are remembered;
//  (c) tiles are held on the same race moment: within 250 ms by program date-time;
//  (d) a wall saved by role comes back on `/watch` with no parameters (the nav link), and
//      "Clear" empties it;
//  (e) a phone shows one column without sideways scroll; screenshots on tablet and phone.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireUrl, screenshot, withPage } from './browser.mjs';
import { liveSession, liveStreams, tileSnapshot, waitForProgress } from './demo.mjs';

const pitwallWhat = 'pitwall with --demo (`pitwall --demo --web-dir frontend/build`)';
const FOUR = 'main,onboard,onboard,pitlane';
const cells = 'section[aria-label="Players"] [data-stream-id]';

/** Opens a wall URL and waits (bounded) until `count` tiles play. Answers the tile locators. */
async function openWall(page, url, count) {
	await page.goto(url);
	await page.waitForFunction((n) => document.querySelectorAll('section[aria-label="Players"] [data-state]').length === n, count, {
		timeout: 30_000
	});
	const tiles = page.locator('section[aria-label="Players"] [data-state]');
	await Promise.all(Array.from({ length: count }, (_, i) => waitForProgress(tiles.nth(i), { seconds: 1, timeout: 45_000 })));
	return tiles;
}

/** Every tile inside the viewport and the document not scrollable in either direction. */
async function assertFits(page, what) {
	const m = await page.evaluate((sel) => {
		const vw = innerWidth;
		const vh = innerHeight;
		return {
			vw,
			vh,
			scrollW: document.documentElement.scrollWidth,
			scrollH: document.documentElement.scrollHeight,
			rects: [...document.querySelectorAll(sel)].map((c) => {
				const r = c.getBoundingClientRect();
				return { top: r.top, left: r.left, bottom: r.bottom, right: r.right, w: r.width, h: r.height };
			})
		};
	}, cells);
	assert.ok(m.rects.length > 0, `${what}: no tiles`);
	assert.ok(m.scrollH <= m.vh, `${what}: the page scrolls vertically (${m.scrollH} > ${m.vh})`);
	assert.ok(m.scrollW <= m.vw, `${what}: the page scrolls sideways (${m.scrollW} > ${m.vw})`);
	for (const r of m.rects) {
		assert.ok(r.top >= 0 && r.left >= 0 && r.bottom <= m.vh && r.right <= m.vw, `${what}: tile outside the viewport: ${JSON.stringify(r)}`);
	}
	return m.rects;
}

/** The stream id in each slot, in slot order. */
const slotIds = (page) => page.evaluate((sel) => [...document.querySelectorAll(sel)].map((c) => c.getAttribute('data-stream-id')), cells);

test('(a) a 2×2 wall fits the window; layouts, swap and fullscreen', { timeout: 240_000 }, async () => {
	const base = requireUrl('PITWALL_URL', pitwallWhat);
	const { session } = await liveSession(base);
	await liveStreams(base, session.id, { min: 4 });

	await withPage(
		'wall',
		async ({ page, problems }) => {
			const tiles = await openWall(page, `${base}/watch?wall=${FOUR}&layout=2x2`, 4);
			const rects = await assertFits(page, '2×2 at 1440×900');
			// Two rows of two, same size, and big: each tile at least a third of the window wide.
			const rows = new Set(rects.map((r) => Math.round(r.top)));
			assert.equal(rows.size, 2, `two rows: ${JSON.stringify(rects)}`);
			assert.ok(rects.every((r) => Math.abs(r.w - rects[0].w) < 2 && r.w > 1440 / 3), `four equal, large tiles: ${JSON.stringify(rects)}`);
			await screenshot(page, 'wall-desktop');

			await page.setViewportSize({ width: 1920, height: 1080 });
			await page.waitForFunction(() => document.querySelector('section[aria-label="Players"] [data-stream-id]').getBoundingClientRect().width > 600, null, {
				timeout: 10_000
			});
			await assertFits(page, '2×2 at 1920×1080');
			await screenshot(page, 'wall-desktop-1080');
			await page.setViewportSize({ width: 1440, height: 900 });

			// Every layout applies and fits.
			const layouts = page.getByRole('radiogroup', { name: 'Layout' });
			const expected = { 1: ['1', 1], 2: ['2', 2], '2×2': ['2x2', 4], '1+3': ['1+3', 4], '3×3': ['3x3', 4] };
			for (const [label, [id, shown]] of Object.entries(expected)) {
				await layouts.getByRole('radio', { name: label, exact: true }).click();
				await page.waitForFunction(
					([want, n, sel]) =>
						document.querySelector('section[aria-label="Players"]')?.getAttribute('data-layout') === want && document.querySelectorAll(sel).length === n,
					[id, shown, cells],
					{ timeout: 10_000 }
				);
				assert.equal(new URL(page.url()).searchParams.get('layout'), id, `layout ${label} is in the URL`);
				const r = await assertFits(page, `layout ${label}`);
				if (id === '1+3') assert.ok(r[0].w > 2.5 * r[1].w && r.slice(1).every((x) => x.top >= r[0].bottom), `1+3: one big tile over three small: ${JSON.stringify(r)}`);
				if (id === '3x3') assert.equal(await page.locator('section[aria-label="Players"] .cell.empty').count(), 5, '3×3 shows 5 empty places');
				if (id === '1+3') await screenshot(page, 'wall-one-plus-three');
			}
			await layouts.getByRole('radio', { name: '2×2', exact: true }).click();
			await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 4, cells);

			// Drag the first tile's handle onto the second: they swap, in the URL too.
			const before = await slotIds(page);
			const wallBefore = new URL(page.url()).searchParams.get('wall');
			const handle = page.locator(`${cells}[data-slot="0"] .handle`);
			const target = page.locator(`${cells}[data-slot="1"] video`);
			const h = await handle.boundingBox();
			const t = await target.boundingBox();
			await page.mouse.move(h.x + h.width / 2, h.y + h.height / 2);
			await page.mouse.down();
			await page.mouse.move(t.x + t.width / 2, t.y + t.height / 2, { steps: 8 });
			await page.mouse.up();
			await page.waitForFunction(([sel, first]) => document.querySelector(`${sel}[data-slot="1"]`)?.getAttribute('data-stream-id') === first, [cells, before[0]], {
				timeout: 10_000
			});
			assert.deepEqual(await slotIds(page), [before[1], before[0], before[2], before[3]], 'drag swapped tiles 1 and 2');
			const [w0, w1, ...rest] = wallBefore.split(',');
			assert.equal(new URL(page.url()).searchParams.get('wall'), [w1, w0, ...rest].join(','), 'the URL follows the swap');
			// Keyboard way: "Move … later" on the (new) first tile swaps it back.
			await page.locator(`${cells}[data-slot="0"]`).getByRole('button', { name: /^Move .* later$/ }).click();
			await page.waitForFunction(([sel, first]) => document.querySelector(`${sel}[data-slot="0"]`)?.getAttribute('data-stream-id') === first, [cells, before[0]], {
				timeout: 10_000
			});
			assert.deepEqual(await slotIds(page), before, 'move button swapped back');
			// Swapping moves tiles, it does not restart or stop them.
			await Promise.all([0, 1, 2, 3].map((i) => waitForProgress(tiles.nth(i), { seconds: 1, timeout: 30_000 })));

			// Fullscreen for the whole wall.
			await page.getByRole('button', { name: 'Fullscreen wall' }).click();
			await page.waitForFunction(() => document.fullscreenElement?.getAttribute('aria-label') === 'Players', null, { timeout: 10_000 });
			await page.getByRole('button', { name: 'Exit wall fullscreen' }).waitFor({ timeout: 5_000 });
			await page.evaluate(() => document.exitFullscreen());
			await page.waitForFunction(() => document.fullscreenElement === null, null, { timeout: 10_000 });

			problems.assertClean();
		},
		{ viewport: { width: 1440, height: 900 } }
	);
});

test('(b) one audible tile at a time; mix audio; volumes remembered', { timeout: 180_000 }, async () => {
	const base = requireUrl('PITWALL_URL', pitwallWhat);
	const { session } = await liveSession(base);
	await liveStreams(base, session.id, { min: 4 });

	await withPage(
		'wall-audio',
		async ({ page, problems }) => {
			const tiles = await openWall(page, `${base}/watch?wall=${FOUR}`, 4);
			const mutedStates = () => page.evaluate((sel) => [...document.querySelectorAll(sel)].map((c) => c.querySelector('video').muted), cells);
			const waitMuted = (want) =>
				page
					.waitForFunction(([sel, w]) => JSON.stringify([...document.querySelectorAll(sel)].map((c) => c.querySelector('video').muted)) === w, [cells, JSON.stringify(want)], {
						timeout: 10_000
					})
					.catch(async () => assert.fail(`muted states ${JSON.stringify(await mutedStates())}, wanted ${JSON.stringify(want)}`));
			assert.deepEqual(await mutedStates(), [true, true, true, true], 'all start muted');

			// The tile's own mute button unmutes it; unmuting a second tile mutes the first.
			await tiles.nth(0).locator('.bar').getByRole('button', { name: 'Unmute' }).click();
			await waitMuted([false, true, true, true]);
			await tiles.nth(1).locator('.bar').getByRole('button', { name: 'Unmute' }).click();
			await waitMuted([true, false, true, true]);
			// The wall's "Listen to" button does the same.
			await page.locator(`${cells}[data-slot="3"]`).getByRole('button', { name: /^Listen to / }).click();
			await waitMuted([true, true, true, false]);

			// Mix audio: several audible.
			await page.getByLabel('Mix audio').check();
			await tiles.nth(0).locator('.bar').getByRole('button', { name: 'Unmute' }).click();
			await waitMuted([false, true, true, false]);
			// Back to one: the focused tile (the last unmuted) stays.
			await page.getByLabel('Mix audio').uncheck();
			await waitMuted([false, true, true, true]);

			// Volumes: tile × master, applied to the video and remembered.
			await page.locator(`${cells}[data-slot="0"]`).getByRole('slider').fill('0.5');
			await page.getByRole('slider', { name: 'Master volume' }).fill('0.6');
			await page.waitForFunction((sel) => Math.abs(document.querySelector(`${sel} video`).volume - 0.3) < 0.01, cells, { timeout: 5_000 });
			const stored = JSON.parse(await page.evaluate(() => localStorage.getItem('pitwall.audio')));
			assert.equal(stored.master, 0.6);
			assert.equal(stored.volumes.main, 0.5, `tile volume stored by role: ${JSON.stringify(stored)}`);
			await page.reload();
			await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 4, cells);
			await page.waitForFunction((sel) => Math.abs(document.querySelector(`${sel} video`).volume - 0.3) < 0.01, cells, { timeout: 20_000 });
			assert.equal(await page.getByRole('slider', { name: 'Master volume' }).inputValue(), '0.6');

			problems.assertClean();
		},
		{ viewport: { width: 1440, height: 900 } }
	);
});

test('(c) tiles are held on the same race moment (program date-time)', { timeout: 180_000 }, async () => {
	const base = requireUrl('PITWALL_URL', pitwallWhat);
	const { session } = await liveSession(base);
	await liveStreams(base, session.id, { min: 4 });

	await withPage(
		'wall-sync',
		async ({ page, problems }) => {
			// Tiles added one at a time start seconds apart.
			await openWall(page, `${base}/watch?wall=main`, 1);
			for (const [n, name] of [
				[2, /^Add: Demo TV · Onboard 1/],
				[3, /^Add: Demo TV · Onboard 2/],
				[4, /^Add: Demo TV · Pit lane/]
			]) {
				await page.getByRole('button', { name }).click();
				await page.waitForFunction(([sel, k]) => document.querySelectorAll(sel).length === k, [cells, n]);
			}
			const tiles = page.locator('section[aria-label="Players"] [data-state]');
			await Promise.all([0, 1, 2, 3].map((i) => waitForProgress(tiles.nth(i), { seconds: 1, timeout: 45_000 })));

			/** Each tile's program date-time now: the exposed origin plus the live currentTime. */
			const dates = () =>
				page.evaluate((sel) =>
					[...document.querySelectorAll(sel)].map((c) => {
						const origin = c.getAttribute('data-pdt-origin');
						return origin === null ? null : Number(origin) + c.querySelector('video').currentTime * 1000;
					})
				, cells);
			const spreadOf = (ds) => Math.max(...ds) - Math.min(...ds);
			const waitAligned = async (what) => {
				const started = Date.now();
				let last = [];
				while (Date.now() - started < 40_000) {
					last = await dates();
					if (last.every((d) => d !== null) && spreadOf(last) <= 250) return Date.now() - started;
					await page.waitForTimeout(200);
				}
				assert.fail(`${what}: tiles not within 250 ms after 40 s: ${JSON.stringify(last)} (spread ${spreadOf(last)} ms); ${JSON.stringify(await tileSnapshot(tiles.nth(0)))}`);
			};
			console.log(`# (c) automatic sync: aligned after ${await waitAligned('automatic')} ms`);
			// Held: several samples over a few seconds all within 250 ms.
			for (let i = 0; i < 5; i++) {
				await page.waitForTimeout(600);
				const ds = await dates();
				assert.ok(spreadOf(ds) <= 250, `held within 250 ms: ${JSON.stringify(ds)} (spread ${spreadOf(ds)} ms)`);
			}
			// Without "Hold sync", a tile knocked 3 s back stays there; "Sync" brings it back.
			await page.getByLabel('Hold sync').uncheck();
			await tiles.nth(2).evaluate((el) => (el.querySelector('video').currentTime -= 3));
			await page.waitForFunction(() => Number(document.querySelector('[data-sync-gap]')?.getAttribute('data-sync-gap')) > 2500, null, { timeout: 10_000 });
			assert.ok(spreadOf(await dates()) > 2500, 'the knocked tile is off by about 3 s');
			await page.getByRole('button', { name: 'Sync', exact: true }).click();
			console.log(`# (c) after a 3 s offset, Sync aligned within ${await waitAligned('Sync button')} ms`);
			await screenshot(page, 'wall-synced');

			problems.assertClean();
		},
		{ viewport: { width: 1440, height: 900 } }
	);
});

test('(d) /watch with no parameters restores the wall saved by role; Clear empties it', { timeout: 150_000 }, async () => {
	const base = requireUrl('PITWALL_URL', pitwallWhat);
	const { session } = await liveSession(base);
	await liveStreams(base, session.id, { min: 2 });

	await withPage(
		'wall-restore',
		async ({ page, problems }) => {
			await openWall(page, `${base}/watch?wall=main,onboard&layout=2`, 2);
			await page.waitForFunction(() => JSON.parse(localStorage.getItem('pitwall.wall') ?? 'null')?.wall === 'main,onboard', null, { timeout: 10_000 });
			const ids = await slotIds(page);

			// Elsewhere, then the nav link: the same wall comes back, by role, with its layout.
			await page.goto(`${base}/`);
			await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Multi-view' }).click();
			await page.waitForFunction(() => new URL(location.href).searchParams.get('wall') === 'main,onboard', null, { timeout: 10_000 });
			assert.equal(new URL(page.url()).searchParams.get('layout'), '2');
			const tiles = page.locator('section[aria-label="Players"] [data-state]');
			await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 2, cells, { timeout: 20_000 });
			await Promise.all([0, 1].map((i) => waitForProgress(tiles.nth(i), { seconds: 1, timeout: 45_000 })));
			assert.deepEqual(await slotIds(page), ids, 'the same streams while they are live');

			// A saved wall whose stream ids are from another weekend resolves by role.
			await page.evaluate(() =>
				localStorage.setItem('pitwall.wall', JSON.stringify({ wall: 'pitlane,main', ids: ['st_gone1', 'st_gone2'], layout: 'auto' }))
			);
			await page.goto(`${base}/watch`);
			await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 2, cells, { timeout: 20_000 });
			const roles = await page.evaluate((sel) => [...document.querySelectorAll(sel)].map((c) => c.querySelector('[data-state]').getAttribute('aria-label')), cells);
			assert.match(roles[0], /Pit lane/, `first tile is the pit lane: ${roles}`);
			assert.match(roles[1], /Main/, `second tile is the main feed: ${roles}`);

			// Clear empties the wall, and /watch stays empty afterwards.
			await page.getByRole('button', { name: 'Clear' }).click();
			await page.getByText('No streams on the wall.').waitFor({ timeout: 10_000 });
			await page.goto(`${base}/watch`);
			await page.getByText('No streams on the wall.').waitFor({ timeout: 10_000 });
			assert.equal(await page.locator(cells).count(), 0);

			problems.assertClean();
		},
		{ viewport: { width: 1440, height: 900 } }
	);
});

test('(e) phone: one column, no sideways scroll; tablet screenshot', { timeout: 150_000 }, async () => {
	const base = requireUrl('PITWALL_URL', pitwallWhat);
	const { session } = await liveSession(base);
	await liveStreams(base, session.id, { min: 4 });

	await withPage(
		'wall-phone',
		async ({ page, problems }) => {
			await openWall(page, `${base}/watch?wall=${FOUR}&layout=2x2`, 4);
			const m = await page.evaluate((sel) => ({
				vw: innerWidth,
				scrollW: document.documentElement.scrollWidth,
				lefts: [...document.querySelectorAll(sel)].map((c) => Math.round(c.getBoundingClientRect().left)),
				rights: [...document.querySelectorAll(sel)].map((c) => c.getBoundingClientRect().right)
			}), cells);
			assert.ok(m.scrollW <= m.vw, `no sideways scroll on a phone: ${m.scrollW} > ${m.vw}`);
			assert.equal(new Set(m.lefts).size, 1, `one column: lefts ${m.lefts}`);
			assert.ok(m.rights.every((r) => r <= m.vw), `tiles inside the width: ${m.rights}`);
			await screenshot(page, 'wall-phone');

			await page.setViewportSize({ width: 820, height: 1180 });
			await page.waitForFunction((sel) => new Set([...document.querySelectorAll(sel)].map((c) => Math.round(c.getBoundingClientRect().top))).size === 2, cells, {
				timeout: 10_000
			});
			assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), 'no sideways scroll on a tablet');
			await screenshot(page, 'wall-tablet');
			problems.assertClean();
		},
		{ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }
	);
});

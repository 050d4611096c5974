// The schedule page against `pitwall --demo` (PITWALL_URL): the live session is pinned on top
// with a Watch action, and session times are shown in the viewer's zone (the browser context
// runs in America/New_York) with the track's local time as secondary text.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireUrl, screenshot, withPage } from './browser.mjs';
import { liveSession } from './demo.mjs';

const VIEWER_ZONE = 'America/New_York';

/** What the app should print for `iso` in `timeZone`, computed here from the API's UTC value. */
function wallClock(iso, timeZone) {
	return new Intl.DateTimeFormat('en-GB', {
		weekday: 'short',
		day: 'numeric',
		month: 'short',
		hour: '2-digit',
		minute: '2-digit',
		hour12: false,
		timeZone
	}).format(new Date(iso));
}

test('schedule pins the live session and shows times in the viewer zone', { timeout: 60_000 }, async () => {
	const base = requireUrl('PITWALL_URL', 'pitwall with --demo (`pitwall --demo --web-dir frontend/build`)');
	const { schedule, event, session } = await liveSession(base);

	await withPage(
		'schedule-new-york',
		async ({ page, problems }) => {
			await page.goto(`${base}/`);
			assert.equal(await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone), VIEWER_ZONE);

			// Pinned on top: the live session with a Watch link to its picker.
			const hero = page.getByRole('region', { name: 'Live now' });
			await hero.waitFor();
			await hero.getByText(`${event.name} · ${session.name}`).waitFor();
			const watch = hero.getByRole('link', { name: `Watch ${event.name} ${session.name}` });
			assert.equal(await watch.getAttribute('href'), `/session/${session.id}`);
			const heroBox = await hero.boundingBox();
			const listBox = await page.getByRole('list', { name: 'Grands Prix' }).boundingBox();
			assert.ok(heroBox && listBox && heroBox.y < listBox.y, 'the live session is above the season list');

			// The session row: local (New York) time computed from the API's UTC start, which
			// is not the UTC wall clock, and the track's time in the circuit's zone.
			const row = page.locator(`li[data-session-id="${session.id}"]`);
			const localText = (await row.locator('time.local').textContent())?.trim();
			const expected = wallClock(session.start, VIEWER_ZONE);
			assert.equal(localText, expected, `local time of ${session.id} (${session.start} UTC)`);
			assert.notEqual(localText, wallClock(session.start, 'UTC'), 'the time must not be shown in UTC');
			// The track's clock, with its day when that is not the viewer's day.
			const track = wallClock(session.start, event.circuit.timezone);
			const day = (text) => text.split(', ')[0];
			const trackClock = day(track) === day(expected) ? track.split(', ')[1] : track;
			assert.equal(
				(await row.locator('.track').textContent())?.trim(),
				`${trackClock} at ${event.circuit.locality}`,
				`track time in ${event.circuit.timezone}`
			);
			assert.match((await row.locator('time.local').getAttribute('title')) ?? '', new RegExp(event.circuit.timezone));
			await row.getByText('Live', { exact: true }).waitFor();

			// Every other session with a known start is in New York time as well.
			for (const ev of schedule.events) {
				for (const s of ev.sessions.filter((s) => s.start)) {
					const text = (await page.locator(`li[data-session-id="${s.id}"] time.local`).textContent())?.trim();
					assert.equal(text, wallClock(s.start, VIEWER_ZONE), `local time of ${s.id}`);
				}
			}

			// A countdown to the next session, finished events collapsed, status badges.
			const timer = page.getByRole('timer');
			assert.match((await timer.textContent()) ?? '', /\d{2}:\d{2}/);
			const pastEvents = schedule.events.filter((e) => e.sessions.every((s) => s.status === 'past')).length;
			assert.ok(pastEvents > 0, 'the demo season has finished events');
			assert.equal(await page.locator('li[data-phase="past"] details:not([open])').count(), pastEvents);
			assert.equal(await page.locator('li[data-phase="live"]').count(), 1);
			await page.getByRole('region', { name: 'Server status' }).getByText('ok', { exact: true }).waitFor();

			await screenshot(page, 'schedule-new-york');

			// The Watch action opens the session's picker.
			await watch.click();
			await page.waitForURL(`${base}/session/${session.id}`);
			await page.getByRole('heading', { name: `${event.name} · ${session.name}` }).waitFor();
			problems.assertClean();
		},
		{ timezoneId: VIEWER_ZONE }
	);
});

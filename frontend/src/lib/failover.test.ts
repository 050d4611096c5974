import { describe, expect, it } from 'vitest';
import {
	countdownText,
	FAILOVER_COUNTDOWN_MS,
	failoverView,
	isUnlisted,
	latestSwitch,
	nextRankedStream,
	roleLabel,
	streamRole,
	switchNote,
	switchToast
} from './failover';
import type { SessionSwitch, Stream } from './types';

const stream = (id: string, role?: string, status: Stream['status'] = 'live'): Stream => ({
	id,
	source: `demo-${id}`,
	extractor: 'demo-site',
	site: 'Demo TV',
	label: id,
	candidate: id,
	session: '9999-03-race',
	status,
	last_checked: null,
	last_live: null,
	latency_ms: null,
	live_edge_age_s: null,
	throughput_bps: null,
	bandwidth: null,
	resolution: null,
	url: `/live/${id}/master.m3u8`,
	variants: [],
	token: { expires_at: null, last_refresh: null, refresh_error: null },
	driver: null,
	role: role ?? 'main'
});

describe('streamRole / roleLabel', () => {
	it('defaults to main for servers that send no role', () => {
		expect(streamRole({ role: '' })).toBe('main');
		expect(streamRole({} as Pick<Stream, 'role'>)).toBe('main');
		expect(streamRole(stream('a', 'onboard'))).toBe('onboard');
	});

	it('names roles for people', () => {
		expect(roleLabel('main')).toBe('Main');
		expect(roleLabel('onboard')).toBe('Onboard');
		expect(roleLabel('pitlane')).toBe('Pit lane');
		expect(roleLabel('helicopter')).toBe('Helicopter');
	});
});

describe('nextRankedStream', () => {
	// Server order is best first.
	const list = [stream('main', 'main'), stream('ob1', 'onboard'), stream('pit', 'pitlane'), stream('ob2', 'onboard')];

	it('prefers the best-ranked stream of the same role', () => {
		expect(nextRankedStream(list, { id: 'ob1', role: 'onboard' })?.id).toBe('ob2');
		expect(nextRankedStream(list, { id: 'ob2', role: 'onboard' })?.id).toBe('ob1');
	});

	it('falls back to the best-ranked stream of another role', () => {
		expect(nextRankedStream(list, { id: 'main', role: 'main' })?.id).toBe('ob1');
		expect(nextRankedStream(list, { id: 'pit', role: 'pitlane' })?.id).toBe('main');
	});

	it('treats a missing role as main', () => {
		const old = [stream('a'), stream('b'), stream('c', 'onboard')];
		expect(nextRankedStream(old, { id: 'a' })?.id).toBe('b');
		expect(nextRankedStream([stream('c', 'onboard'), stream('b')], { id: 'a' })?.id).toBe('b');
	});

	it('works when the failed stream has left the list', () => {
		expect(nextRankedStream(list, { id: 'gone', role: 'onboard' })?.id).toBe('ob1');
	});

	it('never picks a dead stream and prefers live over failing', () => {
		const mixed = [stream('a', 'main'), stream('b', 'onboard', 'failing'), stream('c', 'onboard', 'dead'), stream('d', 'onboard')];
		expect(nextRankedStream(mixed, { id: 'x', role: 'onboard' })?.id).toBe('d');
		expect(nextRankedStream([stream('c', 'main', 'dead')], { id: 'x' })).toBeNull();
	});

	it('skips excluded streams and has none when nothing is left', () => {
		expect(nextRankedStream(list, { id: 'ob1', role: 'onboard' }, { exclude: ['ob2'] })?.id).toBe('main');
		expect(nextRankedStream(list, { id: 'main' }, { exclude: ['ob1', 'pit', 'ob2'] })).toBeNull();
		expect(nextRankedStream([stream('a')], { id: 'a' })).toBeNull();
	});

	it('takes an avoided stream only when nothing else is left', () => {
		expect(nextRankedStream(list, { id: 'ob1', role: 'onboard' }, { avoid: ['ob2'] })?.id).toBe('main');
		expect(nextRankedStream([stream('a'), stream('b')], { id: 'a' }, { avoid: ['b'] })?.id).toBe('b');
	});
});

describe('isUnlisted', () => {
	it('is true for a stream missing from the list or listed as dead', () => {
		const list = [stream('a'), stream('b', 'main', 'dead'), stream('c', 'main', 'failing')];
		expect(isUnlisted(list, 'a')).toBe(false);
		expect(isUnlisted(list, 'c')).toBe(false);
		expect(isUnlisted(list, 'b')).toBe(true);
		expect(isUnlisted(list, 'zzz')).toBe(true);
		expect(isUnlisted([], 'a')).toBe(true);
	});
});

describe('switchNote', () => {
	const sw: SessionSwitch = {
		at: '2026-11-30T23:41:10Z',
		from: 'st_main',
		from_label: 'Main feed',
		to: 'st_ob1',
		to_label: 'Onboard 1',
		reason: 'playlist failed'
	};

	it('names the new source, the local time and what was lost', () => {
		expect(switchNote(sw, 'UTC')).toBe('Switched to Onboard 1 at 23:41 (Main feed lost)');
		expect(switchNote(sw, 'Europe/Berlin')).toBe('Switched to Onboard 1 at 00:41 (Main feed lost)');
		expect(switchNote(sw, 'America/New_York')).toBe('Switched to Onboard 1 at 18:41 (Main feed lost)');
	});

	it('leaves out the lost source when its label is unknown', () => {
		expect(switchNote({ ...sw, from_label: null }, 'UTC')).toBe('Switched to Onboard 1 at 23:41');
	});

	it('names another stream when the new one has left the board', () => {
		expect(switchNote({ ...sw, to_label: null }, 'UTC')).toBe('Switched to another stream at 23:41 (Main feed lost)');
	});

	it('has no note for an unreadable time', () => {
		expect(switchNote({ ...sw, at: 'soon' }, 'UTC')).toBeNull();
	});
});

describe('latestSwitch', () => {
	it('is the newest switch', () => {
		const a = { from: 'x', n: 2 };
		const b = { from: 'y', n: 3 };
		expect(latestSwitch([a, b])).toBe(b);
		expect(latestSwitch([])).toBeNull();
	});
});

describe('failoverView', () => {
	const base = { target: 'Onboard 1', stayed: false };

	it('shows nothing while the source is fine', () => {
		expect(failoverView({ ...base, lostAt: null, now: 1000 })).toEqual({ kind: 'none' });
	});

	it('counts down whole seconds, rounding up, and is due at zero', () => {
		const lostAt = 10_000;
		expect(failoverView({ ...base, lostAt, now: lostAt })).toEqual({ kind: 'counting', target: 'Onboard 1', seconds: 5, due: false });
		expect(failoverView({ ...base, lostAt, now: lostAt + 4001 })).toMatchObject({ seconds: 1, due: false });
		expect(failoverView({ ...base, lostAt, now: lostAt + FAILOVER_COUNTDOWN_MS })).toMatchObject({ seconds: 0, due: true });
		expect(failoverView({ ...base, lostAt, now: lostAt + 60_000 })).toMatchObject({ seconds: 0, due: true });
		expect(failoverView({ ...base, lostAt, now: lostAt + 1500, durationMs: 3000 })).toMatchObject({ seconds: 2 });
	});

	it('stops counting when the viewer stays, and says when there is nowhere to go', () => {
		expect(failoverView({ ...base, stayed: true, lostAt: 0, now: 1 })).toEqual({ kind: 'stayed' });
		expect(failoverView({ ...base, target: null, lostAt: 0, now: 1 })).toEqual({ kind: 'no-target' });
	});
});

describe('countdownText', () => {
	it('reads like the tile shows it', () => {
		expect(countdownText('Onboard 1', 5)).toBe('Source lost — switching to Onboard 1 in 5 s');
		expect(countdownText('Onboard 1', 0)).toBe('Source lost — switching to Onboard 1…');
	});
});

describe('switchToast', () => {
	it('says what was lost and what plays now', () => {
		expect(switchToast({ from_label: 'Main feed', to_label: 'Onboard 1' })).toBe('Main feed lost — switched to Onboard 1');
		expect(switchToast({ from_label: null, to_label: 'Onboard 1' })).toBe('Switched to Onboard 1');
	});
});

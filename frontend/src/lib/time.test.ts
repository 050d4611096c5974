import { describe, expect, it } from 'vitest';
import {
	formatAge,
	formatClock,
	formatCountdown,
	formatDuration,
	formatInZone,
	formatLocal,
	formatRelative,
	offsetText,
	parseZone,
	trackClock
} from './time';

const now = new Date('2026-03-08T04:00:00Z');
const at = (offsetMs: number) => new Date(now.getTime() + offsetMs);
const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const D = 24 * H;

describe('formatDuration', () => {
	it('shows seconds under a minute', () => {
		expect(formatDuration(0)).toBe('0 s');
		expect(formatDuration(59_999)).toBe('59 s');
	});

	it('shows the two largest units, rounding down', () => {
		expect(formatDuration(2 * D + 3 * H + 59 * MIN)).toBe('2 d 3 h');
		expect(formatDuration(1 * H + 5 * MIN + 30 * S)).toBe('1 h 5 min');
		expect(formatDuration(45 * MIN + 59 * S)).toBe('45 min');
	});

	it('drops a zero second unit', () => {
		expect(formatDuration(2 * D + 30 * MIN)).toBe('2 d');
		expect(formatDuration(3 * H)).toBe('3 h');
	});

	it('ignores the sign', () => {
		expect(formatDuration(-90 * MIN)).toBe('1 h 30 min');
	});
});

describe('formatRelative', () => {
	it('words future and past differently', () => {
		expect(formatRelative(at(2 * D + 4 * H), now)).toBe('in 2 d 4 h');
		expect(formatRelative(at(-(3 * H + 10 * MIN)), now)).toBe('3 h 10 min ago');
	});

	it('says now within a second', () => {
		expect(formatRelative(at(999), now)).toBe('now');
		expect(formatRelative(at(-999), now)).toBe('now');
		expect(formatRelative(at(1000), now)).toBe('in 1 s');
	});
});

describe('formatLocal', () => {
	it('renders the instant in the given zone', () => {
		expect(formatLocal(now, { timeZone: 'UTC' })).toBe('Sun 8 Mar, 04:00');
		expect(formatLocal(now, { timeZone: 'Australia/Melbourne' })).toBe('Sun 8 Mar, 15:00');
	});
});

describe('parseZone', () => {
	it('accepts IANA names', () => {
		expect(parseZone('Europe/Rome')).toEqual({ kind: 'iana', name: 'Europe/Rome' });
	});

	it('accepts fixed offsets in the usual spellings', () => {
		expect(parseZone('+08:00')).toEqual({ kind: 'offset', minutes: 480, name: 'UTC+08:00' });
		expect(parseZone('-0330')).toEqual({ kind: 'offset', minutes: -210, name: 'UTC-03:30' });
		expect(parseZone('UTC+8')).toEqual({ kind: 'offset', minutes: 480, name: 'UTC+08:00' });
		expect(parseZone('Z')).toEqual({ kind: 'offset', minutes: 0, name: 'UTC' });
	});

	it('rejects garbage and impossible offsets', () => {
		expect(parseZone('Mars/Olympus_Mons')).toBeNull();
		expect(parseZone('+25:00')).toBeNull();
		expect(parseZone('')).toBeNull();
		expect(parseZone(null)).toBeNull();
	});

	it('writes offsets back', () => {
		expect(offsetText(0)).toBe('+00:00');
		expect(offsetText(-570)).toBe('-09:30');
	});
});

describe('formatInZone / formatClock', () => {
	const race = new Date('2026-11-26T04:20:00Z');

	it('renders track time for IANA zones, with daylight saving', () => {
		expect(formatInZone(race, parseZone('Europe/Rome'))).toBe('Thu 26 Nov, 05:20');
		expect(formatInZone(new Date('2026-07-01T12:00:00Z'), parseZone('Europe/Rome'))).toBe('Wed 1 Jul, 14:00');
	});

	it('renders track time for fixed offsets, crossing midnight', () => {
		expect(formatInZone(race, parseZone('+08:00'))).toBe('Thu 26 Nov, 12:20');
		expect(formatInZone(race, parseZone('-05:00'))).toBe('Wed 25 Nov, 23:20');
	});

	it('gives null for an unusable zone', () => {
		expect(formatInZone(race, null)).toBeNull();
	});

	it('renders just the clock', () => {
		expect(formatClock(race, parseZone('Asia/Tokyo'))).toBe('13:20');
		expect(formatClock(race, parseZone('+05:30'))).toBe('09:50');
		expect(formatClock(race, null)).toBe('04:20');
	});
});

describe('trackClock', () => {
	it('shows the clock alone on the same day, the day too when the track is on another', () => {
		// Las Vegas: Saturday 22:00 at the track is Sunday 06:00 in London.
		const race = new Date('2026-11-22T06:00:00Z');
		const local = formatLocal(race, { timeZone: 'Europe/London' });
		const vegas = formatInZone(race, parseZone('America/Los_Angeles')) ?? '';
		expect(trackClock(local, vegas)).toBe('Sat 21 Nov, 22:00');
		const monza = formatInZone(race, parseZone('Europe/Rome')) ?? '';
		expect(trackClock(local, monza)).toBe('07:00');
	});
});

describe('formatCountdown', () => {
	it('ticks in h:m:s, with days in front', () => {
		expect(formatCountdown(2 * D + 3 * H + 4 * MIN + 5 * S)).toBe('2 d 03:04:05');
		expect(formatCountdown(3 * H + 4 * MIN + 5 * S)).toBe('03:04:05');
		expect(formatCountdown(4 * MIN + 5 * S)).toBe('04:05');
	});

	it('rounds up and stops at zero', () => {
		expect(formatCountdown(500)).toBe('00:01');
		expect(formatCountdown(0)).toBe('00:00');
		expect(formatCountdown(-5000)).toBe('00:00');
	});
});

describe('formatAge', () => {
	it('says how long ago', () => {
		expect(formatAge(at(-4 * S), now)).toBe('4 s ago');
		expect(formatAge(at(-90 * S), now)).toBe('1 min ago');
	});

	it('says just now for sub-second ages and clock skew', () => {
		expect(formatAge(at(-200), now)).toBe('just now');
		expect(formatAge(at(3 * S), now)).toBe('just now');
		expect(formatAge(new Date('nope'), now)).toBe('never');
	});
});

import { describe, expect, it } from 'vitest';
import { formatDuration, formatLocal, formatRelative } from './time';

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

import { describe, expect, it } from 'vitest';
import { backoffDelay, backoffSchedule, DEFAULT_BACKOFF } from './backoff';

describe('backoff', () => {
	it('doubles from 1 s, capped at 8 s, for 5 tries', () => {
		expect(backoffSchedule()).toEqual([1000, 2000, 4000, 8000, 8000]);
	});

	it('has no delay once the tries are used up or for nonsense attempts', () => {
		expect(backoffDelay(6)).toBeNull();
		expect(backoffDelay(0)).toBeNull();
		expect(backoffDelay(1.5)).toBeNull();
	});

	it('follows custom options', () => {
		expect(backoffSchedule({ ...DEFAULT_BACKOFF, baseMs: 500, factor: 3, maxMs: 10_000, tries: 4 })).toEqual([
			500, 1500, 4500, 10_000
		]);
	});
});

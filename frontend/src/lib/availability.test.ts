import { describe, expect, it } from 'vitest';
import { availabilityText, formatLatency, sessionAvailability, type SourceRow, type StreamsOverview } from './availability';

const source = (id: string, status: SourceRow['status']): SourceRow => ({ id, status });
const answer = (live: number, sources?: SourceRow[]): StreamsOverview => ({
	streams: Array.from({ length: live }, () => ({ status: 'live' })),
	sources
});

describe('sessionAvailability', () => {
	it('a finished session is finished, whatever its sources, never "starts looking"', () => {
		expect(sessionAvailability('past', null)).toEqual({ kind: 'finished', liveStreams: 0 });
		expect(sessionAvailability('past', answer(0, []))).toEqual({ kind: 'finished', liveStreams: 0 });
		expect(sessionAvailability('past', answer(2, [source('a', 'extracted')]))).toEqual({ kind: 'finished', liveStreams: 2 });
		const text = availabilityText(sessionAvailability('past', answer(0, [source('a', 'pending')])));
		expect(text?.label).toBe('Finished');
		expect(text?.detail).not.toMatch(/looking|starts|minutes before/i);
	});

	it('a live session with live streams counts only the live ones', () => {
		const a: StreamsOverview = { streams: [{ status: 'live' }, { status: 'dead' }, { status: 'live' }], sources: [source('a', 'extracted')] };
		expect(sessionAvailability('live', a)).toEqual({ kind: 'streams', liveStreams: 2 });
		expect(availabilityText({ kind: 'streams', liveStreams: 2 })?.label).toBe('2 streams live');
		expect(availabilityText({ kind: 'streams', liveStreams: 1 })?.label).toBe('1 stream live');
	});

	it('a live session without streams says what the sources are doing', () => {
		const a = answer(0, [source('a', 'extracted'), source('b', 'pending'), source('c', 'pending'), source('d', 'failing')]);
		const availability = sessionAvailability('live', a);
		expect(availability).toEqual({ kind: 'searching', sources: 4, failing: 1, pending: 2, checking: 1 });
		expect(availabilityText(availability)).toEqual({
			label: 'Looking for streams',
			detail: 'No live stream yet; 4 sources: 1 checking candidates, 2 not searched yet, 1 failing.',
			tone: 'soon'
		});
	});

	it('every source failing is said as such', () => {
		const text = availabilityText(sessionAvailability('live', answer(0, [source('a', 'failing')])));
		expect(text).toEqual({ label: 'Sources failing', detail: 'No live stream yet; 1 source: 1 failing.', tone: 'error' });
	});

	it('an empty sources list means no configured source serves the session, live or upcoming', () => {
		expect(sessionAvailability('live', answer(0, []))).toEqual({ kind: 'no-sources' });
		expect(sessionAvailability('upcoming', answer(0, []))).toEqual({ kind: 'no-sources' });
		expect(availabilityText({ kind: 'no-sources' })?.label).toBe('No source');
		expect(availabilityText({ kind: 'no-sources' })?.detail).toMatch(/not looking/);
	});

	it('an upcoming session with sources makes no promise about a fixed lead time', () => {
		expect(sessionAvailability('upcoming', answer(0, [source('a', 'pending')]))).toEqual({ kind: 'upcoming' });
		expect(sessionAvailability('upcoming', null)).toEqual({ kind: 'upcoming' });
		expect(availabilityText({ kind: 'upcoming' })?.detail).not.toMatch(/\d/);
	});

	it('says nothing while the live answer is unknown or lacks sources', () => {
		expect(sessionAvailability('live', null)).toEqual({ kind: 'unknown' });
		expect(sessionAvailability('live', answer(0))).toEqual({ kind: 'unknown' });
		expect(availabilityText({ kind: 'unknown' })).toBeNull();
		// Without `all=true` a live stream is still news.
		expect(sessionAvailability('live', answer(1))).toEqual({ kind: 'streams', liveStreams: 1 });
	});
});

describe('formatLatency', () => {
	it('shows a real measurement, "<1 ms" for a measured 0, and nothing without one', () => {
		expect(formatLatency(42)).toBe('42 ms');
		expect(formatLatency(1)).toBe('1 ms');
		expect(formatLatency(0)).toBe('<1 ms');
		expect(formatLatency(0.4)).toBe('<1 ms');
		expect(formatLatency(null)).toBeNull();
		expect(formatLatency(undefined)).toBeNull();
		expect(formatLatency(Number.NaN)).toBeNull();
		expect(formatLatency(-3)).toBeNull();
	});

	it('never says "0 ms"', () => {
		for (const ms of [0, 0.2, 0.999, 1.2]) expect(formatLatency(ms)).not.toBe('0 ms');
	});
});

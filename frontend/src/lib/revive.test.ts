import { describe, expect, it } from 'vitest';
import type { FetchLike } from './api';
import { isListedLive, listingFor, reviveDelayMs, shouldRevive, UNSEEN_OUTAGE_WAIT_MS } from './revive';

const answer =
	(status: number, body: unknown, seen: string[] = []): FetchLike =>
	async (input) => {
		seen.push(input);
		return new Response(JSON.stringify(body), { status });
	};

describe('listingFor', () => {
	it('knows stream and session URLs', () => {
		expect(listingFor('/live/st_abc/master.m3u8')).toEqual({ kind: 'stream', id: 'st_abc' });
		expect(listingFor('/live/st_abc/720p.m3u8')).toEqual({ kind: 'stream', id: 'st_abc' });
		expect(listingFor('/live/session/2025-bhr-race/master.m3u8')).toEqual({ kind: 'session', id: '2025-bhr-race' });
		expect(listingFor('/live/session/a%20b/master.m3u8')).toEqual({ kind: 'session', id: 'a b' });
		expect(listingFor('https://cdn.example/x/master.m3u8')).toBeNull();
		expect(listingFor('/relay/abc/seg.ts')).toBeNull();
	});
});

describe('isListedLive', () => {
	it("reads a stream's status", async () => {
		const seen: string[] = [];
		expect(await isListedLive({ kind: 'stream', id: 'st_a' }, answer(200, { id: 'st_a', status: 'live' }, seen))).toBe(true);
		expect(seen).toEqual(['/streams/st_a']);
		expect(await isListedLive({ kind: 'stream', id: 'st_a' }, answer(200, { id: 'st_a', status: 'dead' }))).toBe(false);
		expect(await isListedLive({ kind: 'stream', id: 'st_a' }, answer(404, { error: { code: 'not_found', message: 'no stream' } }))).toBe(false);
		expect(await isListedLive({ kind: 'stream', id: 'st_a' }, answer(502, {}))).toBeNull();
	});

	it('calls a session live when it lists a live stream', async () => {
		const seen: string[] = [];
		const live = answer(200, { session: 's', checked_at: null, streams: [{ id: 'a', status: 'failing' }, { id: 'b', status: 'live' }] }, seen);
		expect(await isListedLive({ kind: 'session', id: 's' }, live)).toBe(true);
		expect(seen).toEqual(['/streams?session=s']);
		expect(await isListedLive({ kind: 'session', id: 's' }, answer(200, { session: 's', checked_at: null, streams: [] }))).toBe(false);
		expect(
			await isListedLive({ kind: 'session', id: 's' }, async () => {
				throw new TypeError('Failed to fetch');
			})
		).toBeNull();
	});
});

describe('shouldRevive', () => {
	it('retries at once when the source went down and is live again', () => {
		expect(shouldRevive({ listedLive: true, sawDown: true, tries: 0, sinceLastTryMs: 0 })).toBe(true);
		expect(shouldRevive({ listedLive: false, sawDown: true, tries: 0, sinceLastTryMs: 1e9 })).toBe(false);
		expect(shouldRevive({ listedLive: null, sawDown: true, tries: 0, sinceLastTryMs: 1e9 })).toBe(false);
	});

	it('waits longer when pitwall never saw the outage', () => {
		expect(shouldRevive({ listedLive: true, sawDown: false, tries: 0, sinceLastTryMs: UNSEEN_OUTAGE_WAIT_MS - 1 })).toBe(false);
		expect(shouldRevive({ listedLive: true, sawDown: false, tries: 0, sinceLastTryMs: UNSEEN_OUTAGE_WAIT_MS })).toBe(true);
		expect(shouldRevive({ listedLive: true, sawDown: false, tries: 4, sinceLastTryMs: 39_999 })).toBe(false);
	});

	it('backs off between automatic retries', () => {
		expect([0, 1, 2, 3, 4, 5, 9].map(reviveDelayMs)).toEqual([0, 5000, 10_000, 20_000, 40_000, 60_000, 60_000]);
		expect(shouldRevive({ listedLive: true, sawDown: true, tries: 2, sinceLastTryMs: 9_999 })).toBe(false);
		expect(shouldRevive({ listedLive: true, sawDown: true, tries: 2, sinceLastTryMs: 10_000 })).toBe(true);
	});
});

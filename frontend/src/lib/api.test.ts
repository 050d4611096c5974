import { describe, expect, it } from 'vitest';
import { getJson, getSessionPlayback, getSessionStreams, parseErrorBody, type FetchLike } from './api';

const json = (status: number, body: unknown): FetchLike =>
	async () => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('getJson', () => {
	it('returns the decoded body on success', async () => {
		const result = await getJson<{ status: string }>('/healthz', json(200, { status: 'ok' }));
		expect(result).toEqual({ ok: true, data: { status: 'ok' } });
	});

	it('classifies a 404 as not-found and keeps the server message', async () => {
		const result = await getJson('/schedule', json(404, { error: { code: 'not_found', message: 'no such route' } }));
		expect(result).toEqual({
			ok: false,
			error: { kind: 'not-found', status: 404, code: 'not_found', message: 'no such route' }
		});
	});

	it('falls back to a generic message for a non-JSON error', async () => {
		const result = await getJson('/schedule', async () => new Response('Bad Gateway', { status: 502 }));
		expect(result).toEqual({
			ok: false,
			error: { kind: 'http', status: 502, code: undefined, message: '/schedule answered HTTP 502.' }
		});
	});

	it('reports a 200 that is not JSON (e.g. the SPA fallback page)', async () => {
		const result = await getJson('/schedule', async () => new Response('<!doctype html>', { status: 200 }));
		expect(result.ok).toBe(false);
		if (!result.ok) expect(result.error.kind).toBe('bad-json');
	});

	it('turns a rejected fetch into a network failure instead of throwing', async () => {
		const result = await getJson('/healthz', async () => {
			throw new TypeError('Failed to fetch');
		});
		expect(result.ok).toBe(false);
		if (!result.ok) {
			expect(result.error.kind).toBe('network');
			expect(result.error.message).toContain('Failed to fetch');
		}
	});
});

describe('parseErrorBody', () => {
	it('ignores bodies that are not the contract error shape', () => {
		expect(parseErrorBody(null)).toEqual({});
		expect(parseErrorBody({ error: 'nope' })).toEqual({});
		expect(parseErrorBody({ error: { code: 7 } })).toEqual({ code: undefined, message: undefined });
	});
});

describe('typed routes', () => {
	const recording = (body: unknown) => {
		const paths: string[] = [];
		const fetchFn: FetchLike = async (input) => {
			paths.push(input);
			return new Response(JSON.stringify(body), { status: 200 });
		};
		return { paths, fetchFn };
	};

	it('asks the session status route, id escaped', async () => {
		const answer = { session: 'a b', playing: null, switches: [] };
		const { paths, fetchFn } = recording(answer);
		expect(await getSessionPlayback('a b', fetchFn)).toEqual({ ok: true, data: answer });
		expect(paths).toEqual(['/live/session/a%20b/status']);
	});

	it('asks the session stream list', async () => {
		const { paths, fetchFn } = recording({ session: 's', checked_at: null, streams: [] });
		expect((await getSessionStreams('9999-03-race', fetchFn)).ok).toBe(true);
		expect(paths).toEqual(['/streams?session=9999-03-race']);
	});

	it('reports a server without the status route as not-found', async () => {
		const result = await getSessionPlayback('s', json(404, { error: { code: 'not_found', message: 'no file status' } }));
		expect(result.ok).toBe(false);
		if (!result.ok) expect(result.error.kind).toBe('not-found');
	});
});

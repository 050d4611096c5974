/**
 * Typed access to pitwall's JSON API.
 *
 * Every call resolves to an {@link ApiResult} instead of throwing, so a page can render a
 * tidy state for each failure (a route the server does not have yet, a server that is down,
 * a malformed answer) without a console error or an unhandled rejection.
 */

import type { StreamsOverview } from './availability';
import type { SessionPlayback, StreamsAnswer } from './types';

/** Why an API call did not produce data. */
export type ApiFailureKind = 'not-found' | 'http' | 'network' | 'bad-json';

/** A failed API call, in words a user can act on. */
export interface ApiFailure {
	kind: ApiFailureKind;
	/** HTTP status, when the server answered. */
	status?: number;
	/** The server's machine-readable code from `{"error": {"code": ...}}`, when given. */
	code?: string;
	message: string;
}

export type ApiResult<T> = { ok: true; data: T } | { ok: false; error: ApiFailure };

/** The subset of `fetch` the client needs; tests pass a fake. */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Reads the contract's error body `{"error": {"code": "...", "message": "..."}}`, if present. */
export function parseErrorBody(body: unknown): { code?: string; message?: string } {
	if (typeof body !== 'object' || body === null || !('error' in body)) return {};
	const error = (body as { error: unknown }).error;
	if (typeof error !== 'object' || error === null) return {};
	const { code, message } = error as { code?: unknown; message?: unknown };
	return {
		code: typeof code === 'string' ? code : undefined,
		message: typeof message === 'string' ? message : undefined
	};
}

/** GETs `path` and decodes it as JSON of type `T` (the shape is trusted, not validated). */
export async function getJson<T>(path: string, fetchFn: FetchLike = fetch): Promise<ApiResult<T>> {
	let response: Response;
	try {
		response = await fetchFn(path, { headers: { accept: 'application/json' } });
	} catch (err) {
		const detail = err instanceof Error ? err.message : String(err);
		return { ok: false, error: { kind: 'network', message: `Could not reach the pitwall server (${detail}).` } };
	}

	let body: unknown;
	let parsed = true;
	try {
		body = await response.json();
	} catch {
		parsed = false;
	}

	if (!response.ok) {
		const { code, message } = parsed ? parseErrorBody(body) : {};
		const kind: ApiFailureKind = response.status === 404 ? 'not-found' : 'http';
		return {
			ok: false,
			error: {
				kind,
				status: response.status,
				code,
				message: message ?? `${path} answered HTTP ${response.status}.`
			}
		};
	}

	if (!parsed) {
		return {
			ok: false,
			error: { kind: 'bad-json', status: response.status, message: `${path} did not answer JSON.` }
		};
	}
	return { ok: true, data: body as T };
}

/** `/streams?session=ID`: the session's usable streams, best first. */
export function getSessionStreams(sessionId: string, fetchFn: FetchLike = fetch): Promise<ApiResult<StreamsAnswer>> {
	return getJson<StreamsAnswer>(`/streams?session=${encodeURIComponent(sessionId)}`, fetchFn);
}

/**
 * `/streams?session=ID&all=true`: every stream and every configured source's last outcome, for
 * saying honestly why a session has nothing to watch yet.
 */
export function getSessionOverview(sessionId: string, fetchFn: FetchLike = fetch): Promise<ApiResult<StreamsOverview>> {
	return getJson<StreamsOverview>(`/streams?session=${encodeURIComponent(sessionId)}&all=true`, fetchFn);
}

/**
 * `/live/session/ID/status`: what the session URL plays now and its recent switches. A server
 * without the route answers `not-found`; callers stop asking then.
 */
export function getSessionPlayback(sessionId: string, fetchFn: FetchLike = fetch): Promise<ApiResult<SessionPlayback>> {
	return getJson<SessionPlayback>(`/live/session/${encodeURIComponent(sessionId)}/status`, fetchFn);
}

/**
 * Bringing a failed tile back by itself: while a tile is `failed` it asks pitwall whether its
 * source is listed live again (`/streams/{id}` for a stream's URL, `/streams?session=ID` for a
 * session URL) and retries when it is, so a feed that comes back plays again without a click.
 *
 * Automatic retries back off (5, 10, 20, 40, 60 s …) so a stream the server calls live but this
 * browser cannot play is not reloaded in a tight loop; the clearest signal is the listing going
 * from down to live again.
 */

import { getJson, getSessionStreams, type FetchLike } from './api';
import type { Stream } from './types';

/** How often a failed tile asks whether its source is live again. */
export const REVIVE_POLL_MS = 3000;

/** Where the liveness of a tile's source is listed. */
export type Listing = { kind: 'stream'; id: string } | { kind: 'session'; id: string };

/**
 * The listing for a playlist URL: `/live/session/ID/master.m3u8` → the session,
 * `/live/ID/master.m3u8` (or one of its variants) → the stream. `null` for anything else.
 */
export function listingFor(src: string): Listing | null {
	let path: string;
	try {
		path = new URL(src, 'http://pitwall.invalid').pathname;
	} catch {
		return null;
	}
	const decode = (s: string) => {
		try {
			return decodeURIComponent(s);
		} catch {
			return null;
		}
	};
	const session = /^\/live\/session\/([^/]+)\/[^/]+\.m3u8$/.exec(path);
	if (session) {
		const id = decode(session[1]!);
		return id ? { kind: 'session', id } : null;
	}
	const stream = /^\/live\/([^/]+)\/[^/]+\.m3u8$/.exec(path);
	if (stream) {
		const id = decode(stream[1]!);
		return id ? { kind: 'stream', id } : null;
	}
	return null;
}

/**
 * Whether the listing says the source is live: the stream's status is `live`, or the session
 * lists a live stream. `null` when pitwall could not be asked (try again later).
 */
export async function isListedLive(listing: Listing, fetchFn: FetchLike = fetch): Promise<boolean | null> {
	if (listing.kind === 'stream') {
		const result = await getJson<Stream>(`/streams/${encodeURIComponent(listing.id)}`, fetchFn);
		if (!result.ok) return result.error.kind === 'not-found' ? false : null;
		return result.data.status === 'live';
	}
	const result = await getSessionStreams(listing.id, fetchFn);
	if (!result.ok) return null;
	return result.data.streams.some((s) => s.status === 'live');
}

/** The wait after the `tries`-th automatic retry before another one: 5 s doubling, at most 60 s. */
export function reviveDelayMs(tries: number): number {
	if (tries <= 0) return 0;
	return Math.min(60_000, 5000 * 2 ** (tries - 1));
}

/**
 * How long a failed tile waits when pitwall has listed its source live all along (its health
 * check did not notice the outage): long enough not to reload a stream the server is about to
 * drop, short enough that a blip the server never saw does not leave the tile failed.
 */
export const UNSEEN_OUTAGE_WAIT_MS = 15_000;

/**
 * Whether a failed tile should retry now. Its source must be listed live; if pitwall listed it
 * as down since the tile failed (`sawDown`), that is the signal and the tile retries at once
 * (after the backoff of `tries` earlier automatic retries); otherwise it waits at least
 * {@link UNSEEN_OUTAGE_WAIT_MS}. `sinceLastTryMs` counts from the failure or the last retry.
 */
export function shouldRevive({
	listedLive,
	sawDown,
	tries,
	sinceLastTryMs
}: {
	listedLive: boolean | null;
	sawDown: boolean;
	tries: number;
	sinceLastTryMs: number;
}): boolean {
	if (listedLive !== true) return false;
	const wait = sawDown ? reviveDelayMs(tries) : Math.max(UNSEEN_OUTAGE_WAIT_MS, reviveDelayMs(tries));
	return sinceLastTryMs >= wait;
}

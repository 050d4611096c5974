/**
 * What the app may honestly say about a session's streams, from the schedule status and the
 * `/streams?session=ID&all=true` answer: finished, live with streams, live and still looking
 * (with what the sources are doing), or no configured source serves this kind of session.
 * Pure, so every wording is unit-tested; pages only render it.
 */

import type { BadgeTone } from './schedule';
import type { SessionStatus, SourceRow as ApiSourceRow, SourceStatus, Stream } from './types';

export type { SourceStatus };

/** The part of a row of `sources` in `/streams?session=ID&all=true` the wording needs. */
export type SourceRow = Pick<ApiSourceRow, 'id' | 'status'> & Partial<Pick<ApiSourceRow, 'label' | 'extractor_loaded'>>;

/** The part of a `/streams?…&all=true` answer (`StreamsAnswer`) the wording needs. */
export interface StreamsOverview {
	/** Verified-live streams (the answer lists only those unless asked for `all`). */
	streams: Pick<Stream, 'status'>[];
	/** Every configured source serving this session's kind; absent without `all=true`. */
	sources?: SourceRow[];
}

/** Where a session stands as far as watching goes. */
export type Availability =
	| { kind: 'finished'; liveStreams: number }
	| { kind: 'upcoming' }
	| { kind: 'no-sources' }
	| { kind: 'streams'; liveStreams: number }
	| { kind: 'searching'; sources: number; failing: number; pending: number; checking: number }
	/** Nothing known yet (the stream list has not loaded or could not be loaded). */
	| { kind: 'unknown' };

/**
 * Classifies a session. The server's `status` decides finished/upcoming/live; for a live
 * session the answer decides between streams, still looking and no source at all. An empty
 * `sources` array means no configured source serves this kind of session, so nothing will
 * ever be found; that is said before "upcoming" because waiting would not help.
 */
export function sessionAvailability(status: SessionStatus, answer: StreamsOverview | null): Availability {
	const liveStreams = answer ? answer.streams.filter((s) => s.status === 'live').length : 0;
	if (status === 'past') return { kind: 'finished', liveStreams };
	if (answer === null) return status === 'upcoming' ? { kind: 'upcoming' } : { kind: 'unknown' };
	if (answer.sources !== undefined && answer.sources.length === 0) return { kind: 'no-sources' };
	if (status === 'upcoming') return { kind: 'upcoming' };
	if (liveStreams > 0) return { kind: 'streams', liveStreams };
	if (answer.sources === undefined) return { kind: 'unknown' };
	const count = (s: SourceStatus) => answer.sources?.filter((row) => row.status === s).length ?? 0;
	return {
		kind: 'searching',
		sources: answer.sources.length,
		failing: count('failing'),
		pending: count('pending'),
		checking: count('extracted')
	};
}

/** What a page shows for an {@link Availability}: a short label, a sentence, a pill tone. */
export interface AvailabilityText {
	label: string;
	detail: string;
	tone: BadgeTone | 'ok' | 'error';
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The words for an availability; `null` when there is nothing true to say yet. */
export function availabilityText(availability: Availability): AvailabilityText | null {
	switch (availability.kind) {
		case 'finished':
			return {
				label: 'Finished',
				detail:
					availability.liveStreams > 0
						? `The session is over; ${plural(availability.liveStreams, 'stream is', 'streams are')} still up.`
						: 'The session is over; there is nothing live to watch.',
				tone: 'past'
			};
		case 'upcoming':
			return {
				label: 'Not started',
				detail: 'pitwall looks for streams shortly before the session starts.',
				tone: 'upcoming'
			};
		case 'no-sources':
			return {
				label: 'No source',
				detail: 'No configured source covers this kind of session, so pitwall is not looking for streams.',
				tone: 'error'
			};
		case 'streams':
			return {
				label: `${plural(availability.liveStreams, 'stream', 'streams')} live`,
				detail: `${plural(availability.liveStreams, 'stream is', 'streams are')} live and checked.`,
				tone: 'ok'
			};
		case 'searching': {
			const { sources, failing, pending, checking } = availability;
			const parts = [
				checking > 0 ? `${checking} checking candidates` : null,
				pending > 0 ? `${pending} not searched yet` : null,
				failing > 0 ? `${failing} failing` : null
			].filter((p): p is string => p !== null);
			const allFailing = failing === sources;
			return {
				label: allFailing ? 'Sources failing' : 'Looking for streams',
				detail: `No live stream yet; ${plural(sources, 'source', 'sources')}: ${parts.join(', ')}.`,
				tone: allFailing ? 'error' : 'soon'
			};
		}
		case 'unknown':
			return null;
	}
}

/**
 * A probe's playlist fetch time as the server reports it (`latency_ms`, whole milliseconds,
 * truncated): `null` (show nothing) when there is no measurement, `<1 ms` for a measured 0.
 */
export function formatLatency(ms: number | null | undefined): string | null {
	if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return null;
	if (ms < 1) return '<1 ms';
	return `${Math.round(ms)} ms`;
}

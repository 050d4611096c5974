/** Pure schedule logic for the UI: the badge a session shows and which session is "up next". */

import type { Schedule, ScheduleEvent, Session } from './types';
import { formatRelative } from './time';

export type BadgeTone = 'live' | 'soon' | 'upcoming' | 'past' | 'unknown';

/** What a session's status pill says and how it is coloured. */
export interface Badge {
	label: string;
	tone: BadgeTone;
}

/** Sessions starting within this window are highlighted as "soon". */
export const SOON_MS = 60 * 60 * 1000;

/**
 * The status pill of a session. The server's `status` decides live/past (it owns the clock
 * and the session end); the countdown for upcoming sessions uses the local clock so it ticks.
 */
export function sessionBadge(session: Session, now: Date): Badge {
	if (session.status === 'live') return { label: 'Live', tone: 'live' };
	if (session.status === 'past') return { label: 'Finished', tone: 'past' };
	if (session.start === null) return { label: 'Time TBC', tone: 'unknown' };
	const start = new Date(session.start);
	if (Number.isNaN(start.getTime())) return { label: 'Time TBC', tone: 'unknown' };
	const until = start.getTime() - now.getTime();
	// The answer may be older than the page: an upcoming session whose start has passed is
	// about to be live, not "x min ago".
	if (until <= 0) return { label: 'Starting', tone: 'soon' };
	return { label: formatRelative(start, now), tone: until <= SOON_MS ? 'soon' : 'upcoming' };
}

/** A session together with the event it belongs to. */
export interface SessionRef {
	event: ScheduleEvent;
	session: Session;
}

/**
 * The sessions to put on top of the home page: every live session, or else the earliest
 * upcoming one with a known start. Empty when the season is over.
 */
export function headlineSessions(schedule: Schedule): SessionRef[] {
	const all = schedule.events.flatMap((event) => event.sessions.map((session) => ({ event, session })));
	const live = all.filter((ref) => ref.session.status === 'live');
	if (live.length > 0) return live;
	const upcoming = all
		.filter((ref) => ref.session.status === 'upcoming' && ref.session.start !== null)
		.sort((a, b) => Date.parse(a.session.start ?? '') - Date.parse(b.session.start ?? ''));
	return upcoming.slice(0, 1);
}

/** Events that still have a session to come or running, in round order. */
export function remainingEvents(schedule: Schedule): ScheduleEvent[] {
	return schedule.events
		.filter((event) => event.sessions.some((s) => s.status !== 'past'))
		.sort((a, b) => a.round - b.round);
}

/** Where an event stands: all done, running (a session live), the next to come, or later. */
export type EventPhase = 'past' | 'live' | 'next' | 'upcoming';

/** One Grand Prix as the schedule page shows it. */
export interface EventGroup {
	event: ScheduleEvent;
	phase: EventPhase;
	/** Sessions in start order (unknown times last, by date). */
	sessions: Session[];
	/** First and last known session start, for the date range in the heading. */
	first: Date | null;
	last: Date | null;
}

const startKey = (s: Session) => {
	const t = s.start ? Date.parse(s.start) : s.date ? Date.parse(`${s.date}T23:59:59Z`) : NaN;
	return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
};

/**
 * The season grouped by Grand Prix in round order, each event tagged with its phase: the
 * event with a live session is `live`; otherwise the first event with a session still to
 * come is `next` (only one event is `live` or `next` unless several run at once).
 */
export function groupEvents(schedule: Schedule): EventGroup[] {
	const events = [...schedule.events].sort((a, b) => a.round - b.round);
	let nextTaken = events.some((e) => e.sessions.some((s) => s.status === 'live'));
	return events.map((event) => {
		const sessions = [...event.sessions].sort((a, b) => startKey(a) - startKey(b));
		const starts = sessions
			.map((s) => (s.start ? new Date(s.start) : null))
			.filter((d): d is Date => d !== null && !Number.isNaN(d.getTime()));
		let phase: EventPhase;
		if (sessions.some((s) => s.status === 'live')) phase = 'live';
		else if (sessions.length > 0 && sessions.every((s) => s.status === 'past')) phase = 'past';
		else if (!nextTaken) {
			phase = 'next';
			nextTaken = true;
		} else phase = 'upcoming';
		return { event, phase, sessions, first: starts[0] ?? null, last: starts[starts.length - 1] ?? null };
	});
}

/** The event to scroll to: the live one, else the next one, else the last one. */
export function focusEvent(groups: EventGroup[]): EventGroup | null {
	return (
		groups.find((g) => g.phase === 'live') ?? groups.find((g) => g.phase === 'next') ?? groups[groups.length - 1] ?? null
	);
}

/**
 * The next session to count down to: the earliest upcoming session whose start is still in
 * the future on the local clock.
 */
export function nextSession(schedule: Schedule, now: Date): SessionRef | null {
	let best: SessionRef | null = null;
	let bestAt = Number.POSITIVE_INFINITY;
	for (const event of schedule.events) {
		for (const session of event.sessions) {
			if (session.status !== 'upcoming' || !session.start) continue;
			const at = Date.parse(session.start);
			if (Number.isNaN(at) || at <= now.getTime()) continue;
			if (at < bestAt) {
				best = { event, session };
				bestAt = at;
			}
		}
	}
	return best;
}

/** Every live session with its event, in round order. */
export function liveSessions(schedule: Schedule): SessionRef[] {
	return [...schedule.events]
		.sort((a, b) => a.round - b.round)
		.flatMap((event) => event.sessions.filter((s) => s.status === 'live').map((session) => ({ event, session })));
}

/** Finds a session by id in a season. */
export function findSession(schedule: Schedule, id: string): SessionRef | null {
	for (const event of schedule.events) {
		const session = event.sessions.find((s) => s.id === id);
		if (session) return { event, session };
	}
	return null;
}

/** The season a session id belongs to, from its `YYYY-` prefix (ids look like `2026-01-race`). */
export function seasonOfSessionId(id: string): number | null {
	const m = /^(\d{4})-/.exec(id);
	return m ? Number(m[1]) : null;
}

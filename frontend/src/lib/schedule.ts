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

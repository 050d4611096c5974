import { describe, expect, it } from 'vitest';
import {
	findSession,
	focusEvent,
	groupEvents,
	headlineSessions,
	liveSessions,
	nextSession,
	remainingEvents,
	seasonOfSessionId,
	sessionBadge
} from './schedule';
import type { Schedule, ScheduleEvent, Session } from './types';

const now = new Date('2026-03-08T04:00:00Z');

function session(overrides: Partial<Session>): Session {
	return { id: 's', kind: 'race', name: 'Race', start: '2026-03-08T04:00:00Z', end: null, status: 'upcoming', ...overrides };
}

function event(round: number, sessions: Session[]): ScheduleEvent {
	return {
		round,
		name: `Round ${round}`,
		slug: `2026-round-${round}`,
		circuit: { id: 'c', name: 'Circuit', locality: 'Town', country: 'Land', timezone: 'UTC' },
		sessions
	};
}

function schedule(events: ScheduleEvent[]): Schedule {
	return { season: 2026, source: 'jolpica', fetched_at: '2026-03-01T06:00:00Z', events };
}

describe('sessionBadge', () => {
	it('trusts the server for live and past', () => {
		expect(sessionBadge(session({ status: 'live' }), now)).toEqual({ label: 'Live', tone: 'live' });
		expect(sessionBadge(session({ status: 'past' }), now)).toEqual({ label: 'Finished', tone: 'past' });
	});

	it('counts down to an upcoming session, highlighting the last hour', () => {
		expect(sessionBadge(session({ start: '2026-03-09T06:30:00Z' }), now)).toEqual({
			label: 'in 1 d 2 h',
			tone: 'upcoming'
		});
		expect(sessionBadge(session({ start: '2026-03-08T04:45:00Z' }), now)).toEqual({
			label: 'in 45 min',
			tone: 'soon'
		});
	});

	it('says "Starting" when an upcoming session start has passed on the local clock', () => {
		expect(sessionBadge(session({ start: '2026-03-08T03:59:00Z' }), now)).toEqual({
			label: 'Starting',
			tone: 'soon'
		});
	});

	it('handles an unknown start time', () => {
		expect(sessionBadge(session({ start: null, date: '2026-03-08' }), now).tone).toBe('unknown');
		expect(sessionBadge(session({ start: 'garbage' }), now).tone).toBe('unknown');
	});
});

describe('headlineSessions', () => {
	it('lists every live session first', () => {
		const fp = session({ id: 'fp1', status: 'live' });
		const q = session({ id: 'q', status: 'live' });
		const race = session({ id: 'race', status: 'upcoming', start: '2026-03-08T05:00:00Z' });
		const picked = headlineSessions(schedule([event(1, [fp, race]), event(2, [q])]));
		expect(picked.map((r) => r.session.id)).toEqual(['fp1', 'q']);
	});

	it('otherwise picks the earliest upcoming session with a known start', () => {
		const later = session({ id: 'later', start: '2026-03-15T04:00:00Z' });
		const sooner = session({ id: 'sooner', start: '2026-03-09T04:00:00Z' });
		const tbc = session({ id: 'tbc', start: null, date: '2026-03-08' });
		const done = session({ id: 'done', status: 'past', start: '2026-03-01T04:00:00Z' });
		const picked = headlineSessions(schedule([event(2, [later]), event(1, [done, tbc, sooner])]));
		expect(picked.map((r) => [r.event.round, r.session.id])).toEqual([[1, 'sooner']]);
	});

	it('is empty when the season is over', () => {
		expect(headlineSessions(schedule([event(1, [session({ status: 'past' })])]))).toEqual([]);
	});
});

describe('remainingEvents', () => {
	it('drops finished events and sorts by round', () => {
		const events = [
			event(3, [session({ status: 'upcoming' })]),
			event(1, [session({ status: 'past' })]),
			event(2, [session({ status: 'past' }), session({ status: 'live' })])
		];
		expect(remainingEvents(schedule(events)).map((e) => e.round)).toEqual([2, 3]);
	});
});

describe('groupEvents', () => {
	const past = (id: string, start: string) => session({ id, status: 'past', start });
	const up = (id: string, start: string) => session({ id, status: 'upcoming', start });

	it('groups by Grand Prix in round order and tags past / live / upcoming', () => {
		const groups = groupEvents(
			schedule([
				event(3, [up('r3', '2026-03-22T04:00:00Z')]),
				event(1, [past('r1', '2026-03-01T04:00:00Z')]),
				event(2, [past('q2', '2026-03-07T04:00:00Z'), session({ id: 'r2', status: 'live' })])
			])
		);
		expect(groups.map((g) => [g.event.round, g.phase])).toEqual([
			[1, 'past'],
			[2, 'live'],
			[3, 'upcoming']
		]);
		expect(focusEvent(groups)?.event.round).toBe(2);
	});

	it('marks the first event with sessions to come as next when nothing is live', () => {
		const groups = groupEvents(
			schedule([
				event(1, [past('r1', '2026-03-01T04:00:00Z')]),
				event(2, [past('fp', '2026-03-07T04:00:00Z'), up('r2', '2026-03-08T05:00:00Z')]),
				event(3, [up('r3', '2026-03-22T04:00:00Z')])
			])
		);
		expect(groups.map((g) => g.phase)).toEqual(['past', 'next', 'upcoming']);
		expect(focusEvent(groups)?.event.round).toBe(2);
	});

	it('sorts sessions by start with unknown times by date, and finds the date range', () => {
		const [group] = groupEvents(
			schedule([
				event(1, [
					up('race', '2026-03-08T04:00:00Z'),
					session({ id: 'tbc', status: 'upcoming', start: null, date: '2026-03-07' }),
					up('fp1', '2026-03-06T01:30:00Z')
				])
			])
		);
		expect(group?.sessions.map((s) => s.id)).toEqual(['fp1', 'tbc', 'race']);
		expect(group?.first?.toISOString()).toBe('2026-03-06T01:30:00.000Z');
		expect(group?.last?.toISOString()).toBe('2026-03-08T04:00:00.000Z');
	});

	it('focuses the last event when the season is over, and nothing when empty', () => {
		const groups = groupEvents(schedule([event(1, [past('a', '2026-03-01T04:00:00Z')]), event(2, [past('b', '2026-03-08T04:00:00Z')])]));
		expect(focusEvent(groups)?.event.round).toBe(2);
		expect(focusEvent([])).toBeNull();
	});
});

describe('nextSession / liveSessions / findSession', () => {
	it('finds the earliest upcoming session still ahead on the local clock', () => {
		const s = schedule([
			event(2, [session({ id: 'later', start: '2026-03-15T04:00:00Z' })]),
			event(1, [session({ id: 'gone', start: '2026-03-08T03:00:00Z' }), session({ id: 'soon', start: '2026-03-08T05:00:00Z' })])
		]);
		expect(nextSession(s, now)?.session.id).toBe('soon');
		expect(nextSession(schedule([]), now)).toBeNull();
	});

	it('lists live sessions in round order', () => {
		const s = schedule([event(2, [session({ id: 'b', status: 'live' })]), event(1, [session({ id: 'a', status: 'live' })])]);
		expect(liveSessions(s).map((r) => r.session.id)).toEqual(['a', 'b']);
	});

	it('finds a session by id and the season of an id', () => {
		const s = schedule([event(1, [session({ id: '2026-01-race' })])]);
		expect(findSession(s, '2026-01-race')?.event.round).toBe(1);
		expect(findSession(s, 'nope')).toBeNull();
		expect(seasonOfSessionId('9999-03-race')).toBe(9999);
		expect(seasonOfSessionId('xyz')).toBeNull();
	});
});

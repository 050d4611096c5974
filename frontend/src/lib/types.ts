/** Shapes of pitwall's JSON answers, as in the HTTP contract (`CONTRACT.md`). */

export type SessionKind = 'fp1' | 'fp2' | 'fp3' | 'sprint_qualifying' | 'sprint' | 'qualifying' | 'race';

export type SessionStatus = 'past' | 'live' | 'upcoming';

export interface Session {
	id: string;
	kind: SessionKind;
	name: string;
	/** UTC, RFC 3339 with `Z`; `null` when the time is not known yet (then `date` is set). */
	start: string | null;
	end?: string | null;
	/** `YYYY-MM-DD`, present when `start` is null. */
	date?: string;
	/** Computed by the server at answer time. */
	status: SessionStatus;
}

export interface Circuit {
	id: string;
	name: string;
	locality: string;
	country: string;
	timezone: string;
}

export interface ScheduleEvent {
	round: number;
	name: string;
	slug: string;
	circuit: Circuit;
	sessions: Session[];
}

export interface Schedule {
	season: number;
	source: string;
	fetched_at: string;
	events: ScheduleEvent[];
}

export interface Health {
	status: string;
}

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

export type StreamStatus = 'live' | 'failing' | 'dead' | 'unchecked';

/** One quality of a stream, as listed by `/streams`. */
export interface StreamVariant {
	label: string;
	resolution: string | null;
	bandwidth: number | null;
	/** Stable playlist URL of this quality (`/live/{id}/{label}.m3u8`). */
	url: string;
}

/** One stream of a session (`/streams?session=ID`, `/streams/{id}`). */
export interface Stream {
	id: string;
	source: string;
	extractor: string;
	/** The plugin's display name, e.g. "Demo TV"; null when its plugin is not loaded. */
	site: string | null;
	label: string;
	status: StreamStatus;
	last_checked: string | null;
	last_live: string | null;
	latency_ms: number | null;
	bandwidth: number | null;
	resolution: string | null;
	/** Stable master playlist URL (`/live/{id}/master.m3u8`). */
	url: string;
	variants: StreamVariant[];
	error?: { step: string; message: string } | null;
	/**
	 * What the stream shows: "main", "onboard", "pitlane", … (open set). Missing from older
	 * servers; read it through `streamRole()`, which defaults to "main".
	 */
	role?: string;
	/** The driver an onboard stream follows, when known. */
	driver?: string | null;
}

export interface StreamsAnswer {
	session: string;
	checked_at: string | null;
	streams: Stream[];
}

/** The stream a session URL plays now (`/live/session/{id}/status` → `playing`). */
export interface SessionPlaying {
	/** Stream id, as in `/streams`. */
	stream: string;
	source: string;
	label: string;
	role: string;
	/** When this stream took over, RFC 3339. */
	since: string;
}

/** One switch of a session URL from one stream to another. */
export interface SessionSwitch {
	at: string;
	/** `null` for the first stream the session URL played. */
	from: string | null;
	from_label: string | null;
	to: string;
	to_label: string;
	/** Why, in a few words (e.g. "playlist failed"). */
	reason: string;
}

/** `GET /live/session/{id}/status`: what the session URL plays and its recent switches. */
export interface SessionPlayback {
	session: string;
	/** `null` until a player has loaded one of the session's playlists. */
	playing: SessionPlaying | null;
	/** Oldest first, at most 20. */
	switches: SessionSwitch[];
}

/**
 * Pure logic for moving a viewer off a source that died: which stream to move to, when a
 * pinned stream counts as lost, the countdown a tile shows before it moves on its own, and the
 * wording of a switch ("Switched to Onboard 1 at 23:41 (Main feed lost)").
 *
 * The session URL (`/live/session/{id}/…`) fails over on the server; this module is for a
 * stream the viewer pinned, where the web app does the moving, and for describing what the
 * server did.
 */

import { formatClock } from './time';
import type { SessionSwitch, Stream } from './types';

/** Seconds a tile counts down before it moves to the next source on its own. */
export const FAILOVER_COUNTDOWN_MS = 5000;

/** A stream's role; older servers do not send one, and everything was a main feed then. */
export function streamRole(stream: Pick<Stream, 'role'>): string {
	return stream.role || 'main';
}

/** "Main", "Onboard", "Pit lane"; unknown roles are shown as sent, capitalised. */
export function roleLabel(role: string): string {
	if (role === 'pitlane') return 'Pit lane';
	return role.charAt(0).toUpperCase() + role.slice(1);
}

/** How usable a listed stream looks: live first, then unchecked/failing; dead never. */
const STATUS_RANK: Record<Stream['status'], number> = { live: 0, unchecked: 1, failing: 2, dead: Infinity };

/**
 * The stream to move to after `current` failed: the best-ranked (server order is best first)
 * listed stream that is not dead and not `exclude`d (e.g. tiles already on a wall), preferring
 * `current`'s role, then live over failing. Streams in `avoid` (ones that failed this viewer
 * recently) are taken only when nothing else is left. `null` when there is no candidate.
 */
export function nextRankedStream(
	streams: Stream[],
	current: { id: string; role?: string },
	{ exclude = [], avoid = [] }: { exclude?: string[]; avoid?: string[] } = {}
): Stream | null {
	const role = current.role || 'main';
	type Candidate = { stream: Stream; index: number };
	const candidates: Candidate[] = streams
		.map((stream, index) => ({ stream, index }))
		.filter(({ stream }) => stream.id !== current.id && !exclude.includes(stream.id) && STATUS_RANK[stream.status] !== Infinity);
	const order = (a: Candidate, b: Candidate) =>
		Number(streamRole(a.stream) !== role) - Number(streamRole(b.stream) !== role) ||
		STATUS_RANK[a.stream.status] - STATUS_RANK[b.stream.status] ||
		a.index - b.index;
	const best = (list: Candidate[]) => list.slice().sort(order)[0]?.stream ?? null;
	return best(candidates.filter(({ stream }) => !avoid.includes(stream.id))) ?? best(candidates);
}

/**
 * Whether the server gave up on stream `id`: it is no longer in the session's list (which
 * only holds streams it still considers usable) or is listed as dead.
 */
export function isUnlisted(streams: Stream[], id: string): boolean {
	const stream = streams.find((s) => s.id === id);
	return stream === undefined || stream.status === 'dead';
}

/**
 * "Switched to Onboard 1 at 23:41 (Main feed lost)", the clock in the viewer's zone (or
 * `timeZone`, for tests). `null` for an unreadable time.
 */
export function switchNote(sw: Pick<SessionSwitch, 'at' | 'from_label' | 'to_label'>, timeZone?: string): string | null {
	const at = new Date(sw.at);
	if (Number.isNaN(at.getTime())) return null;
	const clock = formatClock(at, timeZone === undefined ? undefined : { kind: 'iana', name: timeZone });
	const lost = sw.from_label ? ` (${sw.from_label} lost)` : '';
	return `Switched to ${sw.to_label ?? 'another stream'} at ${clock}${lost}`;
}

/**
 * The toast after the page moved a pinned stream on its own: "Main feed lost — switched to
 * Onboard 1" (stream labels; the viewer can undo it).
 */
export function switchToast(sw: Pick<SessionSwitch, 'from_label' | 'to_label'>): string {
	const to = sw.to_label ?? 'another stream';
	return sw.from_label ? `${sw.from_label} lost — switched to ${to}` : `Switched to ${to}`;
}

/** The most recent switch, or `null`. Switches come oldest first. */
export function latestSwitch<T extends Pick<SessionSwitch, 'from'>>(switches: T[]): T | null {
	return switches.at(-1) ?? null;
}

/** What a tile whose source is lost shows, and whether it is time to move. */
export type FailoverView =
	/** The source is fine (or recovering on its own): nothing to show. */
	| { kind: 'none' }
	/** Counting down to `target`; `due` once the countdown has run out. */
	| { kind: 'counting'; target: string; seconds: number; due: boolean }
	/** The viewer chose to stay on the lost source. */
	| { kind: 'stayed' }
	/** Lost, but no other source is live: the tile says so and keeps the Retry button. */
	| { kind: 'no-target' };

/**
 * The failover state of one tile at `now`. `lostAt` is when the source became unrecoverable
 * (null while it is fine); the countdown runs from there for `durationMs`, unless the viewer
 * chose to `stay`. Whole seconds are rounded up, so it reads "1 s" until it moves.
 */
export function failoverView({
	lostAt,
	target,
	stayed,
	now,
	durationMs = FAILOVER_COUNTDOWN_MS
}: {
	lostAt: number | null;
	target: string | null;
	stayed: boolean;
	now: number;
	durationMs?: number;
}): FailoverView {
	if (lostAt === null) return { kind: 'none' };
	if (stayed) return { kind: 'stayed' };
	if (target === null) return { kind: 'no-target' };
	const left = Math.max(0, lostAt + durationMs - now);
	return { kind: 'counting', target, seconds: Math.ceil(left / 1000), due: left === 0 };
}

/** "Source lost — switching to Onboard 1 in 5 s". */
export function countdownText(target: string, seconds: number): string {
	return seconds > 0 ? `Source lost — switching to ${target} in ${seconds} s` : `Source lost — switching to ${target}…`;
}

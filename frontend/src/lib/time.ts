/** Human wording for times relative to now: "in 2 d 3 h", "45 min ago". Pure, clock passed in. */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * The two largest non-zero units of a duration, e.g. `2 d 3 h`, `1 h 5 min`, `45 s`.
 * Rounds down: a countdown should never claim more time has passed than has.
 */
export function formatDuration(ms: number): string {
	const abs = Math.abs(ms);
	if (abs < MINUTE) return `${Math.floor(abs / SECOND)} s`;
	const units: [number, string][] = [
		[DAY, 'd'],
		[HOUR, 'h'],
		[MINUTE, 'min']
	];
	const parts: string[] = [];
	let rest = abs;
	for (const [size, label] of units) {
		const n = Math.floor(rest / size);
		rest -= n * size;
		if (n > 0 || parts.length > 0) parts.push(`${n} ${label}`);
		if (parts.length === 2) break;
	}
	// "2 d 0 h" reads worse than "2 d".
	return parts.filter((p, i) => i === 0 || !p.startsWith('0 ')).join(' ');
}

/** "in 2 d 3 h" for the future, "3 h 10 min ago" for the past, "now" within a second. */
export function formatRelative(target: Date, now: Date): string {
	const delta = target.getTime() - now.getTime();
	if (Math.abs(delta) < SECOND) return 'now';
	const text = formatDuration(delta);
	return delta > 0 ? `in ${text}` : `${text} ago`;
}

/** Local wall-clock rendering of a UTC instant, e.g. "Sun 8 Mar, 05:00". */
export function formatLocal(
	instant: Date,
	options: { locale?: string; timeZone?: string } = {}
): string {
	return new Intl.DateTimeFormat(options.locale ?? 'en-GB', {
		weekday: 'short',
		day: 'numeric',
		month: 'short',
		hour: '2-digit',
		minute: '2-digit',
		hour12: false,
		timeZone: options.timeZone
	}).format(instant);
}

/**
 * A circuit's time zone as the schedule gives it: an IANA name (`Europe/Rome`) or a fixed
 * UTC offset (`+08:00`, `-0330`, `UTC+8`). Fixed offsets are applied by hand because
 * `Intl.DateTimeFormat` only accepts them in recent engines.
 */
export type Zone = { kind: 'iana'; name: string } | { kind: 'offset'; minutes: number; name: string };

const OFFSET = /^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$/i;

/** Parses a circuit time zone; `null` when it is neither a known IANA zone nor an offset. */
export function parseZone(text: string | null | undefined): Zone | null {
	const value = (text ?? '').trim();
	if (value === '') return null;
	if (/^(?:Z|UTC|GMT)$/i.test(value)) return { kind: 'offset', minutes: 0, name: 'UTC' };
	const m = OFFSET.exec(value);
	if (m) {
		const hours = Number(m[2]);
		const mins = Number(m[3] ?? '0');
		if (hours > 14 || mins > 59) return null;
		const minutes = (m[1] === '-' ? -1 : 1) * (hours * 60 + mins);
		return { kind: 'offset', minutes, name: `UTC${offsetText(minutes)}` };
	}
	try {
		new Intl.DateTimeFormat('en-GB', { timeZone: value });
		return { kind: 'iana', name: value };
	} catch {
		return null;
	}
}

/** `+08:00`, `-03:30`, `+00:00`. */
export function offsetText(minutes: number): string {
	const sign = minutes < 0 ? '-' : '+';
	const abs = Math.abs(minutes);
	const pad = (n: number) => String(n).padStart(2, '0');
	return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/**
 * Wall-clock rendering of `instant` in a circuit's zone ("Thu 26 Nov, 05:20"), or `null`
 * when the zone is unusable.
 */
export function formatInZone(instant: Date, zone: Zone | null, locale?: string): string | null {
	if (zone === null) return null;
	if (zone.kind === 'iana') return formatLocal(instant, { locale, timeZone: zone.name });
	// Shift the instant so that its UTC wall clock is the zone's wall clock.
	return formatLocal(new Date(instant.getTime() + zone.minutes * 60_000), { locale, timeZone: 'UTC' });
}

/**
 * The track's time for a row that already shows the viewer's: just the clock ("05:20") when
 * both fall on the same day, with the track's day ("Mon 8 Dec, 05:20") when they do not — a
 * Sunday race in Las Vegas is a Saturday night there. Both texts come from {@link formatLocal}
 * / {@link formatInZone} ("Sun 7 Dec, 22:00").
 */
export function trackClock(local: string, track: string): string {
	const day = (text: string) => text.split(', ').slice(0, -1).join(', ');
	return day(local) === day(track) ? (track.split(', ').pop() ?? track) : track;
}

/** Only the clock part ("05:20") of {@link formatInZone}; the viewer's zone when `zone` is undefined. */
export function formatClock(instant: Date, zone?: Zone | null): string {
	const format = (d: Date, timeZone?: string) =>
		new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false, timeZone }).format(d);
	if (zone === undefined) return format(instant);
	if (zone === null) return format(instant, 'UTC');
	if (zone.kind === 'iana') return format(instant, zone.name);
	return format(new Date(instant.getTime() + zone.minutes * 60_000), 'UTC');
}

/** The viewer's zone name, e.g. "America/New_York" (for "times in your zone" hints). */
export function viewerZoneName(): string {
	return new Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'local time';
}

/**
 * A ticking countdown: `2 d 03:04:05`, `03:04:05`, `04:05`; `00:00` once the target is
 * reached. Rounds up to the next second, so it reads 00:01 until the very end.
 */
export function formatCountdown(ms: number): string {
	const total = Math.max(0, Math.ceil(ms / SECOND));
	const days = Math.floor(total / 86_400);
	const hours = Math.floor((total % 86_400) / 3600);
	const minutes = Math.floor((total % 3600) / 60);
	const seconds = total % 60;
	const pad = (n: number) => String(n).padStart(2, '0');
	const clock = hours > 0 || days > 0 ? `${pad(hours)}:${pad(minutes)}:${pad(seconds)}` : `${pad(minutes)}:${pad(seconds)}`;
	return days > 0 ? `${days} d ${clock}` : clock;
}

/** "checked 4 s ago" style age of a timestamp; `just now` under a second or for a clock skew into the future. */
export function formatAge(then: Date, now: Date): string {
	const delta = now.getTime() - then.getTime();
	if (Number.isNaN(delta)) return 'never';
	if (delta < SECOND) return 'just now';
	return `${formatDuration(delta)} ago`;
}

/** The viewer-zone date only, e.g. "Thu 26 Nov". */
export function formatDay(instant: Date, timeZone?: string): string {
	return new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'short', timeZone }).format(instant);
}

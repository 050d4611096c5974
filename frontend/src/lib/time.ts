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

/** Retry delays for reconnecting a player: exponential, capped, with a fixed number of tries. */

export interface BackoffOptions {
	/** Delay before the first retry. */
	baseMs: number;
	/** Growth per retry. */
	factor: number;
	/** No retry waits longer than this. */
	maxMs: number;
	/** Retries before giving up. */
	tries: number;
}

/** 1 s, 2 s, 4 s, 8 s, 8 s — then give up. */
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, factor: 2, maxMs: 8000, tries: 5 };

/**
 * The delay before retry number `attempt` (1-based), or `null` when the tries are used up
 * (or `attempt` is not a positive integer).
 */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF): number | null {
	if (!Number.isInteger(attempt) || attempt < 1 || attempt > options.tries) return null;
	return Math.min(options.maxMs, options.baseMs * options.factor ** (attempt - 1));
}

/** Every delay of the schedule, in order. */
export function backoffSchedule(options: BackoffOptions = DEFAULT_BACKOFF): number[] {
	return Array.from({ length: options.tries }, (_, i) => backoffDelay(i + 1, options) as number);
}

/**
 * Keeping the wall's tiles on the same race moment. Every feed stamps its segments with
 * `EXT-X-PROGRAM-DATE-TIME`, so "the moment on screen" is comparable across feeds even when
 * their players started seconds apart. One tile is the reference (the one you listen to, else
 * the first); every other tile is moved onto the reference's moment: a hard seek when it is
 * far off, a gentle `playbackRate` nudge when it is close (no visible jump, no rebuffering).
 * Pure: the watch page reads the dates and applies the answers.
 */

/** One tile as the sync sees it. */
export interface SyncTile {
	key: string;
	/** Program date-time of the frame on screen (ms since the epoch); null when unknown. */
	date: number | null;
	/** Paused or not playing: left alone and never the reference. */
	active: boolean;
}

export type SyncAction =
	| { key: string; kind: 'seek'; /** move the playhead by this many seconds */ by: number }
	| { key: string; kind: 'rate'; rate: number };

export interface SyncOptions {
	/** Closer than this (ms): play at normal speed. */
	tolerance: number;
	/** Further than this (ms): seek instead of nudging the rate. */
	seekAbove: number;
	/** Largest rate change of a nudge (0.08 = 8 % faster or slower). */
	maxNudge: number;
	/** Seek whenever off by more than `tolerance` (the "Sync" button). */
	force: boolean;
}

export const SYNC_DEFAULTS: SyncOptions = { tolerance: 60, seekAbove: 600, maxNudge: 0.08, force: false };

/** The reference tile: `preferred` when it is active and dated, else the first such tile. */
export function referenceTile(tiles: SyncTile[], preferred: string | null): SyncTile | null {
	const usable = tiles.filter((t) => t.active && t.date !== null);
	return usable.find((t) => t.key === preferred) ?? usable[0] ?? null;
}

/** The rate that closes `offset` ms (positive: ahead of the reference) without overshooting. */
export function nudgeRate(offset: number, maxNudge: number): number {
	// Close about half the gap per second, never more than maxNudge.
	const change = Math.min(maxNudge, Math.abs(offset) / 2000);
	return offset > 0 ? 1 - change : 1 + change;
}

/**
 * What to do to every active, dated tile so it shows the reference's moment. Tiles already
 * within `tolerance` get rate 1 (ending an earlier nudge); the reference itself too.
 */
export function syncActions(tiles: SyncTile[], preferred: string | null, options: Partial<SyncOptions> = {}): SyncAction[] {
	const opts = { ...SYNC_DEFAULTS, ...options };
	const ref = referenceTile(tiles, preferred);
	if (!ref || ref.date === null) return [];
	const refDate = ref.date;
	const actions: SyncAction[] = [];
	for (const tile of tiles) {
		if (!tile.active || tile.date === null) continue;
		const offset = tile.key === ref.key ? 0 : tile.date - refDate;
		const size = Math.abs(offset);
		if (size <= opts.tolerance) actions.push({ key: tile.key, kind: 'rate', rate: 1 });
		else if (opts.force || size > opts.seekAbove) actions.push({ key: tile.key, kind: 'seek', by: -offset / 1000 });
		else actions.push({ key: tile.key, kind: 'rate', rate: nudgeRate(offset, opts.maxNudge) });
	}
	return actions;
}

/** Largest difference between the tiles' dates (ms); 0 with fewer than two dated tiles. */
export function spread(dates: (number | null)[]): number {
	const known = dates.filter((d): d is number => d !== null);
	return known.length < 2 ? 0 : Math.max(...known) - Math.min(...known);
}

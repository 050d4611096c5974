/**
 * The last multi-view wall, remembered in `localStorage`: its feeds by role and driver (so
 * `/watch` with no parameters rebuilds "main + two onboards" in whatever session is live),
 * the stream ids it showed (to restore the very same streams while they are still live, and
 * so "Add to multi-view" on a session page adds to the wall instead of starting a new one)
 * and its layout.
 */

import { formatWall, MAX_WALL_TILES, parseIds, parseLayout, parseWall, type WallLayout, type WallSpec } from './wall';

const KEY = 'pitwall.wall';
/** Before walls were saved by role: just the ids, comma-separated. */
const LEGACY_KEY = 'pitwall.watch';

export interface SavedWall {
	specs: WallSpec[];
	/** The stream shown in each slot, when known (hints for {@link resolveWall}). */
	ids: (string | null)[];
	layout: WallLayout;
}

/** A saved wall from stored JSON (null when malformed). */
export function parseSavedWall(text: string | null | undefined): SavedWall | null {
	let raw: unknown;
	try {
		raw = JSON.parse(text ?? '');
	} catch {
		return null;
	}
	if (typeof raw !== 'object' || raw === null) return null;
	const r = raw as { wall?: unknown; ids?: unknown; layout?: unknown };
	const specs = parseWall(typeof r.wall === 'string' ? r.wall : '');
	const ids = Array.isArray(r.ids) ? r.ids.slice(0, MAX_WALL_TILES).map((x) => (typeof x === 'string' && x ? x : null)) : [];
	return { specs, ids, layout: parseLayout(typeof r.layout === 'string' ? r.layout : null) };
}

export function serializeWall(wall: SavedWall): string {
	return JSON.stringify({ wall: formatWall(wall.specs), ids: wall.ids, layout: wall.layout });
}

/** The saved wall, or null when there is none (or storage is unavailable). */
export function loadWall(): SavedWall | null {
	try {
		return parseSavedWall(globalThis.localStorage?.getItem(KEY));
	} catch {
		return null;
	}
}

/** Remembers `wall` (an empty wall is remembered too: the viewer cleared it). */
export function saveWall(wall: SavedWall): void {
	try {
		globalThis.localStorage?.setItem(KEY, serializeWall(wall));
		globalThis.localStorage?.removeItem(LEGACY_KEY);
	} catch {
		// Private mode or storage disabled: the wall still works, it just is not remembered.
	}
}

/** The ids the multi-view showed last (empty when unknown or storage is unavailable). */
export function lastWatchIds(): string[] {
	const saved = loadWall();
	if (saved) return saved.ids.filter((id): id is string => id !== null);
	try {
		return parseIds(globalThis.localStorage?.getItem(LEGACY_KEY));
	} catch {
		return [];
	}
}

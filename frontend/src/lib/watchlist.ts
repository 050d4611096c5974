/**
 * The streams of the last multi-view, remembered in `localStorage` so "Add to multi-view" on a
 * session page adds to what is already on the wall instead of starting a new one.
 */

import { parseStreamIds } from './streams';

const KEY = 'pitwall.watch';

/** The ids the multi-view showed last (empty when unknown or storage is unavailable). */
export function lastWatchIds(): string[] {
	try {
		return parseStreamIds(globalThis.localStorage?.getItem(KEY));
	} catch {
		return [];
	}
}

/** Remembers the ids the multi-view shows now. */
export function rememberWatchIds(ids: string[]): void {
	try {
		globalThis.localStorage?.setItem(KEY, ids.join(','));
	} catch {
		// Private mode or storage disabled: the multi-view still works, it just is not remembered.
	}
}

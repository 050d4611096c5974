/**
 * Viewer preferences that outlive a visit, kept in `localStorage`: sound (volume and mute) and
 * theater mode. A new tile starts with the sound the viewer chose last, so "Watch" on the live
 * session is one click to the race with sound once the viewer has unmuted once.
 *
 * Storage may be missing or refuse writes (private mode, disabled storage): reads then answer
 * the defaults and writes do nothing; the player works, it just does not remember.
 */

/** The sound a viewer chose. */
export interface AudioPrefs {
	/** 0 … 1, as `HTMLMediaElement.volume`. */
	volume: number;
	muted: boolean;
}

/** Before any choice: full volume, muted (browsers only autoplay muted video without a gesture). */
export const DEFAULT_AUDIO: AudioPrefs = { volume: 1, muted: true };

const AUDIO_KEY = 'pitwall.audio';
const THEATER_KEY = 'pitwall.theater';

/** The parts of `Storage` used here (a Map-backed fake in tests). */
export type StorageLike = Pick<Storage, 'getItem' | 'setItem'>;

function defaultStorage(): StorageLike | null {
	try {
		return globalThis.localStorage ?? null;
	} catch {
		return null; // some browsers throw on the mere access when storage is disabled
	}
}

/** A volume in 0 … 1; anything unreadable is full volume. */
export function clampVolume(value: unknown): number {
	const n = typeof value === 'number' ? value : Number.NaN;
	if (!Number.isFinite(n)) return DEFAULT_AUDIO.volume;
	return Math.min(1, Math.max(0, n));
}

/** Reads stored sound settings; defaults for missing, malformed or partial values. */
export function parseAudioPrefs(raw: string | null | undefined): AudioPrefs {
	if (!raw) return { ...DEFAULT_AUDIO };
	let value: unknown;
	try {
		value = JSON.parse(raw);
	} catch {
		return { ...DEFAULT_AUDIO };
	}
	if (typeof value !== 'object' || value === null) return { ...DEFAULT_AUDIO };
	const { volume, muted } = value as { volume?: unknown; muted?: unknown };
	return {
		volume: volume === undefined ? DEFAULT_AUDIO.volume : clampVolume(volume),
		muted: typeof muted === 'boolean' ? muted : DEFAULT_AUDIO.muted
	};
}

export function loadAudioPrefs(storage: StorageLike | null = defaultStorage()): AudioPrefs {
	try {
		return parseAudioPrefs(storage?.getItem(AUDIO_KEY));
	} catch {
		return { ...DEFAULT_AUDIO };
	}
}

export function saveAudioPrefs(prefs: AudioPrefs, storage: StorageLike | null = defaultStorage()): void {
	try {
		storage?.setItem(AUDIO_KEY, JSON.stringify({ volume: clampVolume(prefs.volume), muted: prefs.muted }));
	} catch {
		// Storage full or disabled: not remembered, nothing else breaks.
	}
}

/** Whether the session page shows its player in theater mode (full width). Off by default. */
export function loadTheater(storage: StorageLike | null = defaultStorage()): boolean {
	try {
		return storage?.getItem(THEATER_KEY) === '1';
	} catch {
		return false;
	}
}

export function saveTheater(on: boolean, storage: StorageLike | null = defaultStorage()): void {
	try {
		storage?.setItem(THEATER_KEY, on ? '1' : '0');
	} catch {
		// See saveAudioPrefs.
	}
}

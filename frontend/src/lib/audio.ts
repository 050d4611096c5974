/**
 * Whose sound the wall plays. By default one tile is audible at a time (the "audio focus"):
 * unmuting a tile mutes the others, as on a broadcaster's multi-viewer. "Mix audio" lets
 * several play. Each tile has a volume, scaled by a master volume; all of it is remembered
 * in `localStorage`, tile volumes by role/driver (`onboard:VER`) so they carry to the next
 * session. Pure apart from the two storage functions.
 */

const KEY = 'pitwall.audio';

export interface AudioSettings {
	/** 0…1, scales every tile. */
	master: number;
	/** Several tiles audible at once. */
	mix: boolean;
	/** 0…1 per tile key (role or role:driver). */
	volumes: Record<string, number>;
}

export const DEFAULT_AUDIO: AudioSettings = { master: 1, mix: false, volumes: {} };

const clamp01 = (n: unknown, fallback: number) => (typeof n === 'number' && Number.isFinite(n) ? Math.min(1, Math.max(0, n)) : fallback);

/** Settings from stored JSON; anything malformed falls back to the defaults. */
export function parseAudio(text: string | null | undefined): AudioSettings {
	let raw: unknown;
	try {
		raw = JSON.parse(text ?? '');
	} catch {
		return { ...DEFAULT_AUDIO, volumes: {} };
	}
	if (typeof raw !== 'object' || raw === null) return { ...DEFAULT_AUDIO, volumes: {} };
	const r = raw as Partial<Record<keyof AudioSettings, unknown>>;
	const volumes: Record<string, number> = {};
	if (typeof r.volumes === 'object' && r.volumes !== null) {
		for (const [k, v] of Object.entries(r.volumes)) if (typeof v === 'number') volumes[k] = clamp01(v, 1);
	}
	return { master: clamp01(r.master, 1), mix: r.mix === true, volumes };
}

/** The volume a tile plays at: its own volume (default 1) times the master. */
export function effectiveVolume(settings: AudioSettings, tileKey: string): number {
	return clamp01((settings.volumes[tileKey] ?? 1) * settings.master, 1);
}

/**
 * The tiles to mute after `key` became audible: every other audible tile, unless audio is
 * mixed.
 */
export function othersToMute(audible: Iterable<string>, key: string, mix: boolean): string[] {
	if (mix) return [];
	return [...audible].filter((k) => k !== key);
}

/**
 * When mixing is turned off: the one tile that stays audible (the focused one when it is
 * audible, else the first audible) and the tiles to mute.
 */
export function focusOnUnmix(audible: string[], focus: string | null): { keep: string | null; mute: string[] } {
	const keep = focus !== null && audible.includes(focus) ? focus : (audible[0] ?? null);
	return { keep, mute: audible.filter((k) => k !== keep) };
}

export function loadAudio(): AudioSettings {
	try {
		return parseAudio(globalThis.localStorage?.getItem(KEY));
	} catch {
		return { ...DEFAULT_AUDIO, volumes: {} };
	}
}

export function saveAudio(settings: AudioSettings): void {
	try {
		globalThis.localStorage?.setItem(KEY, JSON.stringify(settings));
	} catch {
		// Storage disabled: the settings last for this page only.
	}
}

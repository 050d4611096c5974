import { describe, expect, it } from 'vitest';
import { clampVolume, DEFAULT_AUDIO, loadAudioPrefs, loadTheater, parseAudioPrefs, saveAudioPrefs, saveTheater, type StorageLike } from './viewer-prefs';

const memory = (): StorageLike & { data: Map<string, string> } => {
	const data = new Map<string, string>();
	return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
};
const broken: StorageLike = {
	getItem: () => {
		throw new Error('SecurityError');
	},
	setItem: () => {
		throw new Error('QuotaExceededError');
	}
};

describe('audio prefs', () => {
	it('start muted at full volume before any choice', () => {
		expect(loadAudioPrefs(memory())).toEqual({ volume: 1, muted: true });
		expect(loadAudioPrefs(null)).toEqual(DEFAULT_AUDIO);
	});

	it('remember volume and mute across loads', () => {
		const storage = memory();
		saveAudioPrefs({ volume: 0.35, muted: false }, storage);
		expect(loadAudioPrefs(storage)).toEqual({ volume: 0.35, muted: false });
		saveAudioPrefs({ volume: 0.35, muted: true }, storage);
		expect(loadAudioPrefs(storage)).toEqual({ volume: 0.35, muted: true });
	});

	it('read malformed or partial values as defaults', () => {
		expect(parseAudioPrefs('not json')).toEqual(DEFAULT_AUDIO);
		expect(parseAudioPrefs('null')).toEqual(DEFAULT_AUDIO);
		expect(parseAudioPrefs('{"muted":false}')).toEqual({ volume: 1, muted: false });
		expect(parseAudioPrefs('{"volume":7,"muted":"no"}')).toEqual({ volume: 1, muted: true });
		expect(parseAudioPrefs('{"volume":-2}')).toEqual({ volume: 0, muted: true });
	});

	it('clamp volumes into 0 … 1', () => {
		expect(clampVolume(0.5)).toBe(0.5);
		expect(clampVolume(1.5)).toBe(1);
		expect(clampVolume(-1)).toBe(0);
		expect(clampVolume(Number.NaN)).toBe(1);
		expect(clampVolume('0.2')).toBe(1);
	});

	it('survive storage that throws', () => {
		expect(loadAudioPrefs(broken)).toEqual(DEFAULT_AUDIO);
		expect(() => saveAudioPrefs({ volume: 0.2, muted: false }, broken)).not.toThrow();
	});
});

describe('theater', () => {
	it('is off until turned on, and remembered', () => {
		const storage = memory();
		expect(loadTheater(storage)).toBe(false);
		saveTheater(true, storage);
		expect(loadTheater(storage)).toBe(true);
		saveTheater(false, storage);
		expect(loadTheater(storage)).toBe(false);
		expect(loadTheater(broken)).toBe(false);
		expect(() => saveTheater(true, broken)).not.toThrow();
	});
});

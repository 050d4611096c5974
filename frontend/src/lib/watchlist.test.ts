import { afterEach, describe, expect, it, vi } from 'vitest';
import { lastWatchIds, loadWall, parseSavedWall, saveWall, serializeWall } from './watchlist';
import { parseWall } from './wall';

function fakeStorage() {
	const data = new Map<string, string>();
	return {
		getItem: (k: string) => data.get(k) ?? null,
		setItem: (k: string, v: string) => void data.set(k, v),
		removeItem: (k: string) => void data.delete(k)
	};
}

afterEach(() => vi.unstubAllGlobals());

describe('saved wall', () => {
	it('round-trips by role, with ids as hints and the layout', () => {
		const wall = { specs: parseWall('main,onboard:VER'), ids: ['st_a', null], layout: '1+3' as const };
		expect(parseSavedWall(serializeWall(wall))).toEqual(wall);
		expect(parseSavedWall('garbage')).toBeNull();
		expect(parseSavedWall('{"wall": 3, "layout": "9x9"}')).toEqual({ specs: [], ids: [], layout: 'auto' });
	});

	it('is stored and gives the session page its ids; falls back to the old id list', () => {
		vi.stubGlobal('localStorage', fakeStorage());
		expect(loadWall()).toBeNull();
		localStorage.setItem('pitwall.watch', 'st_old1,st_old2');
		expect(lastWatchIds()).toEqual(['st_old1', 'st_old2']);
		saveWall({ specs: parseWall('main,pitlane'), ids: ['st_m', null], layout: 'auto' });
		expect(loadWall()?.specs.map((s) => s.role)).toEqual(['main', 'pitlane']);
		expect(lastWatchIds()).toEqual(['st_m']);
		expect(localStorage.getItem('pitwall.watch')).toBeNull();
	});
});

import { describe, expect, it } from 'vitest';
import {
	formatBitrate,
	formatResolution,
	gridColumns,
	MAX_TILES,
	parseStreamIds,
	sessionPlaylistUrl,
	streamTitle,
	watchUrl,
	withoutStream,
	withStream
} from './streams';

describe('wording', () => {
	it('formats bitrates', () => {
		expect(formatBitrate(2_500_000)).toBe('2.5 Mb/s');
		expect(formatBitrate(12_000_000)).toBe('12 Mb/s');
		expect(formatBitrate(800_000)).toBe('800 kb/s');
		expect(formatBitrate(null)).toBe('');
		expect(formatBitrate(0)).toBe('');
	});

	it('formats resolutions', () => {
		expect(formatResolution('1280x720')).toBe('720p');
		expect(formatResolution('odd')).toBe('odd');
		expect(formatResolution(null)).toBe('');
	});

	it('titles a stream by site and label, falling back to the source', () => {
		expect(streamTitle({ site: 'Demo TV', source: 'demo-main', label: 'Main feed' })).toBe('Demo TV · Main feed');
		expect(streamTitle({ site: null, source: 'demo-main', label: 'Main feed' })).toBe('demo-main · Main feed');
	});
});

describe('multi-view URLs', () => {
	it('parses ?streams= tolerantly', () => {
		expect(parseStreamIds(' a, b,,a ,c')).toEqual(['a', 'b', 'c']);
		expect(parseStreamIds(null)).toEqual([]);
		expect(parseStreamIds('1,2,3,4,5,6,7,8')).toHaveLength(MAX_TILES);
	});

	it('builds /watch URLs', () => {
		expect(watchUrl([])).toBe('/watch');
		expect(watchUrl(['st_a', 'st_b'])).toBe('/watch?streams=st_a,st_b');
	});

	it('adds without duplicates and drops the oldest beyond the maximum', () => {
		expect(withStream(['a', 'b'], 'a')).toEqual(['b', 'a']);
		expect(withStream(['1', '2', '3', '4', '5', '6'], '7')).toEqual(['2', '3', '4', '5', '6', '7']);
		expect(withoutStream(['a', 'b'], 'a')).toEqual(['b']);
	});

	it('lays tiles out 1 / 2 / 2×2 / 3×2', () => {
		expect([0, 1, 2, 3, 4, 5, 6].map(gridColumns)).toEqual([1, 1, 2, 2, 2, 3, 3]);
	});
});

describe('sessionPlaylistUrl', () => {
	it('is the session master playlist, id escaped', () => {
		expect(sessionPlaylistUrl('9999-03-race')).toBe('/live/session/9999-03-race/master.m3u8');
		expect(sessionPlaylistUrl('a/b')).toBe('/live/session/a%2Fb/master.m3u8');
	});
});

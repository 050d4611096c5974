import { describe, expect, it } from 'vitest';
import type { Stream } from './types';
import { capacity, effectiveLayout, fitWall, parseIds, parseLayout, parseSpec, parseWall, resolveWall, streamsUrl, swap, wallUrl, formatWall } from './wall';

const stream = (id: string, role: string, extra: Partial<Stream> = {}): Stream => ({
	id,
	source: `demo-${id}`,
	extractor: 'demo',
	site: 'Demo TV',
	label: id,
	candidate: id,
	session: '9999-03-race',
	status: 'live',
	last_checked: null,
	last_live: null,
	latency_ms: null,
	live_edge_age_s: null,
	throughput_bps: null,
	token: { expires_at: null, last_refresh: null, refresh_error: null },
	bandwidth: null,
	resolution: null,
	url: `/live/${id}/master.m3u8`,
	variants: [],
	role,
	driver: null,
	...extra
});

describe('wall specs', () => {
	it('parses and formats role/driver lists', () => {
		expect(parseWall('main, onboard:VER ,onboard,pitlane')).toEqual([
			{ role: 'main', driver: null },
			{ role: 'onboard', driver: 'VER' },
			{ role: 'onboard', driver: null },
			{ role: 'pitlane', driver: null }
		]);
		expect(formatWall(parseWall('main,onboard:VER'))).toBe('main,onboard:VER');
		expect(parseSpec('')).toBeNull();
		expect(parseSpec('<b>')).toBeNull();
		expect(parseWall(Array(12).fill('main').join(','))).toHaveLength(9);
	});

	it('builds shareable URLs', () => {
		expect(wallUrl(parseWall('main,onboard:VER'), 'auto')).toBe('/watch?wall=main,onboard:VER');
		expect(wallUrl(parseWall('main'), '2x2')).toBe('/watch?wall=main&layout=2x2');
		expect(streamsUrl(['st_a', 'st_b'], '1+3')).toBe('/watch?streams=st_a,st_b&layout=1%2B3');
		expect(parseIds(' a,b,,a ')).toEqual(['a', 'b']);
		expect(parseLayout('1+3')).toBe('1+3');
		expect(parseLayout('7x7')).toBe('auto');
	});

	it('resolves roles against the ranked list, each stream once', () => {
		const streams = [stream('ob2', 'onboard'), stream('main', 'main'), stream('ob1', 'onboard', { driver: 'VER' }), stream('pit', 'pitlane')];
		expect(resolveWall(parseWall('main,onboard,onboard,pitlane'), streams)).toEqual(['main', 'ob2', 'ob1', 'pit']);
		expect(resolveWall(parseWall('onboard:ver,onboard'), streams)).toEqual(['ob1', 'ob2']);
		expect(resolveWall(parseWall('main,main'), streams)).toEqual(['main', null]);
	});

	it('keeps a listed hint, drops a gone or dead one', () => {
		const streams = [stream('ob2', 'onboard'), stream('ob1', 'onboard'), stream('dead', 'onboard', { status: 'dead' })];
		expect(resolveWall(parseWall('onboard,onboard'), streams, ['ob1', 'ob2'])).toEqual(['ob1', 'ob2']);
		expect(resolveWall(parseWall('onboard,onboard'), streams, ['gone', 'dead'])).toEqual(['ob2', 'ob1']);
		// A failed-over slot keeps the stream it moved to, even of another role.
		expect(resolveWall(parseWall('pitlane'), streams, ['ob1'])).toEqual(['ob1']);
	});

	it('swaps', () => {
		expect(swap(['a', 'b', 'c'], 0, 2)).toEqual(['c', 'b', 'a']);
		expect(swap(['a', 'b'], 0, 5)).toEqual(['a', 'b']);
	});
});

describe('layouts', () => {
	it('auto follows the tile count', () => {
		expect([1, 2, 3, 4, 5, 9].map((n) => effectiveLayout('auto', n))).toEqual(['1', '2', '2x2', '2x2', '3x3', '3x3']);
		expect(effectiveLayout('1+3', 2)).toBe('1+3');
		expect(capacity('3x3')).toBe(9);
	});

	const desktop = { width: 1056, height: 740, gap: 10, chrome: 84 };

	it('fits a 2×2 wall in width and height', () => {
		const g = fitWall('2x2', desktop);
		expect(g.stacked).toBe(false);
		expect(g.width).toBeLessThanOrEqual(desktop.width);
		expect(g.height).toBeLessThanOrEqual(desktop.height);
		expect(g.columns).toHaveLength(2);
		expect(g.slots[3]).toEqual({ column: 2, row: 2, rowSpan: 1, columnSpan: 1 });
		// Height-bound on a wide, short space: the tiles shrink to fit the height.
		const wide = fitWall('2x2', { ...desktop, width: 3000 });
		expect(wide.height).toBeLessThanOrEqual(desktop.height);
		expect(wide.height).toBeGreaterThan(desktop.height - 4);
	});

	it('fits every layout', () => {
		for (const layout of ['1', '2', '2x2', '1+3', '3x3'] as const) {
			const g = fitWall(layout, desktop);
			expect(g.width, layout).toBeLessThanOrEqual(desktop.width);
			expect(g.height, layout).toBeLessThanOrEqual(desktop.height);
			expect(g.slots, layout).toHaveLength(capacity(layout));
		}
	});

	it('makes 1+3 one big tile over a row of three small ones', () => {
		const g = fitWall('1+3', { ...desktop, smallChrome: 160 });
		const [s] = g.columns as [number];
		expect(g.columns).toEqual([s, s, s]);
		expect(g.slots[0]).toEqual({ column: 1, row: 1, rowSpan: 1, columnSpan: 3 });
		expect(g.slots.slice(1).map((p) => [p.column, p.row])).toEqual([
			[1, 2],
			[2, 2],
			[3, 2]
		]);
		expect(g.height).toBeLessThanOrEqual(desktop.height);
		expect(g.width).toBe(3 * s + 20);
	});

	it('stacks on a phone', () => {
		const g = fitWall('2x2', { width: 342, height: 600, gap: 10, chrome: 120 });
		expect(g.stacked).toBe(true);
		expect(g.columns).toEqual([342]);
		expect(g.slots.map((s) => s.column)).toEqual([1, 1, 1, 1]);
	});
});

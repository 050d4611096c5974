import { describe, expect, it } from 'vitest';
import { nudgeRate, referenceTile, spread, syncActions, type SyncAction } from './sync';

const tile = (key: string, date: number | null, active = true) => ({ key, date, active });

describe('sync', () => {
	it('takes the preferred tile as reference when it plays, else the first', () => {
		const tiles = [tile('a', 1000), tile('b', 2000), tile('c', 3000, false)];
		expect(referenceTile(tiles, 'b')?.key).toBe('b');
		expect(referenceTile(tiles, 'c')?.key).toBe('a');
		expect(referenceTile([tile('a', null)], null)).toBeNull();
	});

	it('seeks tiles far off onto the reference moment, both ways', () => {
		const actions = syncActions([tile('ref', 10_000), tile('ahead', 11_100), tile('behind', 8_000)], 'ref');
		expect(actions).toEqual([
			{ key: 'ref', kind: 'rate', rate: 1 },
			{ key: 'ahead', kind: 'seek', by: -1.1 },
			{ key: 'behind', kind: 'seek', by: 2 }
		]);
	});

	it('nudges the rate for small offsets and leaves aligned tiles at normal speed', () => {
		const [, close, ahead, behind] = syncActions([tile('ref', 0), tile('close', 40), tile('ahead', 300), tile('behind', -300)], 'ref');
		expect(close).toEqual({ key: 'close', kind: 'rate', rate: 1 });
		const rate = (a: SyncAction | undefined) => (a?.kind === 'rate' ? a.rate : NaN);
		expect(rate(ahead)).toBeLessThan(1);
		expect(rate(behind)).toBeGreaterThan(1);
	});

	it('forces seeks (the Sync button) and skips paused or undated tiles', () => {
		const actions = syncActions([tile('ref', 0), tile('a', 300), tile('paused', 5000, false), tile('new', null)], 'ref', { force: true });
		expect(actions).toEqual([
			{ key: 'ref', kind: 'rate', rate: 1 },
			{ key: 'a', kind: 'seek', by: -0.3 }
		]);
	});

	it('bounds the nudge', () => {
		expect(nudgeRate(10_000, 0.08)).toBeCloseTo(0.92);
		expect(nudgeRate(-10_000, 0.08)).toBeCloseTo(1.08);
		expect(nudgeRate(100, 0.08)).toBeCloseTo(0.95);
	});

	it('measures the spread', () => {
		expect(spread([1000, 1200, null, 900])).toBe(300);
		expect(spread([1000, null])).toBe(0);
	});
});

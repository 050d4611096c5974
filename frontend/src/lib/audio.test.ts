import { describe, expect, it } from 'vitest';
import { effectiveVolume, focusOnUnmix, othersToMute, parseAudio } from './audio';

describe('audio', () => {
	it('reads stored settings defensively', () => {
		expect(parseAudio(null)).toEqual({ master: 1, mix: false, volumes: {} });
		expect(parseAudio('{"master": 2, "mix": true, "volumes": {"main": 0.5, "x": "loud"}}')).toEqual({
			master: 1,
			mix: true,
			volumes: { main: 0.5 }
		});
		expect(parseAudio('not json').master).toBe(1);
	});

	it('scales a tile by the master volume', () => {
		const settings = { master: 0.5, mix: false, volumes: { main: 0.6 } };
		expect(effectiveVolume(settings, 'main')).toBeCloseTo(0.3);
		expect(effectiveVolume(settings, 'onboard')).toBeCloseTo(0.5);
	});

	it('keeps one tile audible unless mixing', () => {
		expect(othersToMute(['a', 'b', 'c'], 'b', false)).toEqual(['a', 'c']);
		expect(othersToMute(['a', 'b'], 'b', true)).toEqual([]);
		expect(focusOnUnmix(['a', 'b'], 'b')).toEqual({ keep: 'b', mute: ['a'] });
		expect(focusOnUnmix(['a', 'b'], 'z')).toEqual({ keep: 'a', mute: ['b'] });
		expect(focusOnUnmix([], null)).toEqual({ keep: null, mute: [] });
	});
});

import { describe, expect, it } from 'vitest';
import { autoQualityLabel, barStatus, behindLiveSeconds, formatBehindLive, formatSeconds, levelOptionLabel, reconnectingText } from './tile-text';

describe('barStatus', () => {
	it('shows playing only when the picture plays', () => {
		expect(barStatus({ state: 'playing', paused: false, behindLive: false })).toMatchObject({ tone: 'live', playing: true });
		expect(barStatus({ state: 'playing', paused: false, behindLive: true })).toMatchObject({ tone: 'behind', playing: true });
		expect(barStatus({ state: 'playing', paused: true, behindLive: false })).toMatchObject({ tone: 'paused', playing: false, canToggle: true });
	});

	it('never shows playing while loading, reconnecting or failed, even if the video element is not paused', () => {
		for (const state of ['loading', 'reconnecting', 'failed'] as const) {
			const bar = barStatus({ state, paused: false, behindLive: false });
			expect(bar.playing).toBe(false);
			expect(bar.canToggle).toBe(false);
			expect(bar.tone).toBe(state);
		}
		expect(barStatus({ state: 'reconnecting', paused: false, behindLive: false }).label).toBe('Reconnecting');
		expect(barStatus({ state: 'failed', paused: false, behindLive: false }).label).toBe('Offline');
	});
});

describe('behind live', () => {
	it("takes hls.js' latency when it knows it", () => {
		expect(behindLiveSeconds({ latency: 7.4, seekableEnd: 100, currentTime: 90 })).toBe(7.4);
	});

	it('falls back to the seekable end, and is unknown rather than 0', () => {
		expect(behindLiveSeconds({ latency: 0, seekableEnd: 100, currentTime: 91 })).toBe(9);
		expect(behindLiveSeconds({ latency: null, seekableEnd: null, currentTime: 5 })).toBeNull();
		expect(behindLiveSeconds({ latency: 0, seekableEnd: 0, currentTime: 0 })).toBeNull();
		expect(behindLiveSeconds({ latency: Number.NaN, seekableEnd: Infinity, currentTime: 3 })).toBeNull();
	});

	it('formats whole seconds', () => {
		expect(formatBehindLive(7.4)).toBe('7 s behind live');
		expect(formatBehindLive(12.6)).toBe('13 s behind live');
		expect(formatBehindLive(0.2)).toBe('at the live edge');
		expect(formatBehindLive(null)).toBeNull();
	});

	it('never formats a stat as 0', () => {
		expect(formatSeconds(1.25)).toBe('1.3 s');
		expect(formatSeconds(0)).toBeNull();
		expect(formatSeconds(null)).toBeNull();
	});
});

describe('reconnectingText', () => {
	it('says when it tries again and what comes after', () => {
		const text = reconnectingText({ reason: 'Network error (fragLoadError).', retryInMs: 3400, attempt: 2, maxAttempts: 5, fallback: { kind: 'switch', to: 'Demo TV · Onboard 1' } });
		expect(text).toEqual({
			happened: 'Network error (fragLoadError).',
			now: 'Trying again in 4 s (attempt 2 of 5).',
			then: 'If it does not come back, this player switches to Demo TV · Onboard 1.'
		});
	});

	it('covers a stall before any attempt, the session URL and no fallback', () => {
		expect(reconnectingText({ reason: null, retryInMs: 0, attempt: 0, maxAttempts: 5, fallback: { kind: 'session' } })).toEqual({
			happened: 'The picture stopped.',
			now: 'Trying again now…',
			then: 'If this source stays down, pitwall switches the session to another one.'
		});
		expect(reconnectingText({ reason: null, retryInMs: null, attempt: 0, maxAttempts: 5, fallback: { kind: 'none' } }).then).toMatch(/live again/);
	});
});

describe('quality labels', () => {
	it('name what Auto plays', () => {
		expect(autoQualityLabel('720p')).toBe('Auto (720p)');
		expect(autoQualityLabel(null)).toBe('Auto');
	});

	it('mark a chosen level as switching until it plays', () => {
		const level = { index: 0, label: '360p' };
		expect(levelOptionLabel(level, { selected: 0, playing: 1, bitrate: '800 kb/s' })).toBe('360p · 800 kb/s (switching…)');
		expect(levelOptionLabel(level, { selected: 0, playing: 0, bitrate: '800 kb/s' })).toBe('360p · 800 kb/s');
		expect(levelOptionLabel(level, { selected: -1, playing: 1, bitrate: '' })).toBe('360p');
	});
});

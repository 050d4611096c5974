import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { bufferAhead, levelLabel, PlayerController, type HlsLike, type HlsModule, type PlayerSnapshot, type VideoLike } from './player';

const ranges = (...pairs: [number, number][]): TimeRanges => ({
	length: pairs.length,
	start: (i: number) => pairs[i]![0],
	end: (i: number) => pairs[i]![1]
});

/** A `<video>` good enough for the controller: events, play/pause, a playhead. */
class FakeVideo implements VideoLike {
	muted = false;
	volume = 1;
	paused = true;
	currentTime = 0;
	buffered = ranges();
	seekable = ranges([0, 60]);
	src = '';
	native = '';
	playResult: () => Promise<void> = () => Promise.resolve();
	listeners = new Map<string, Set<() => void>>();
	play() {
		this.paused = false;
		this.fire('play');
		return this.playResult();
	}
	pause() {
		this.paused = true;
		this.fire('pause');
	}
	load() {}
	canPlayType() {
		return this.native;
	}
	removeAttribute() {
		this.src = '';
	}
	addEventListener(type: string, fn: () => void) {
		if (!this.listeners.has(type)) this.listeners.set(type, new Set());
		this.listeners.get(type)!.add(fn);
	}
	removeEventListener(type: string, fn: () => void) {
		this.listeners.get(type)?.delete(fn);
	}
	fire(type: string) {
		for (const fn of this.listeners.get(type) ?? []) fn();
	}
	/** Playback moves on by `seconds`. */
	advance(seconds: number) {
		this.currentTime += seconds;
		this.fire('timeupdate');
	}
}

const Events = { MANIFEST_PARSED: 'manifest', LEVEL_SWITCHED: 'switched', LEVEL_LOADED: 'loaded', FRAG_BUFFERED: 'buffered', ERROR: 'error' };
const ErrorTypes = { NETWORK_ERROR: 'networkError', MEDIA_ERROR: 'mediaError' };

/** Records every call the controller makes and lets the test fire hls.js events. */
class FakeHls implements HlsLike {
	static instances: FakeHls[] = [];
	static supported = true;
	static Events = Events;
	static ErrorTypes = ErrorTypes;
	static isSupported() {
		return FakeHls.supported;
	}
	calls: string[] = [];
	handlers = new Map<string, (event: string, data: unknown) => void>();
	levels = [
		{ height: 360, width: 640, bitrate: 800_000 },
		{ height: 720, width: 1280, bitrate: 2_500_000 }
	];
	currentLevel = -1;
	autoLevelEnabled = true;
	bandwidthEstimate = 5_000_000;
	latency = 6;
	targetLatency: number | null = 6;
	liveSyncPosition: number | null = 54;
	constructor(public config: unknown) {
		FakeHls.instances.push(this);
	}
	on(event: string, fn: (event: string, data: unknown) => void) {
		this.handlers.set(event, fn);
	}
	emit(event: string, data: unknown = {}) {
		this.handlers.get(event)?.(event, data);
	}
	error(type: string, details: string, fatal = true) {
		this.emit(Events.ERROR, { type, details, fatal });
	}
	loadSource(url: string) {
		this.calls.push(`loadSource ${url}`);
	}
	attachMedia() {
		this.calls.push('attachMedia');
	}
	startLoad() {
		this.calls.push('startLoad');
	}
	stopLoad() {
		this.calls.push('stopLoad');
	}
	recoverMediaError() {
		this.calls.push('recoverMediaError');
	}
	swapAudioCodec() {
		this.calls.push('swapAudioCodec');
	}
	destroy() {
		this.calls.push('destroy');
	}
}

const SRC = '/live/st_abc/master.m3u8';

async function setup(options: { supported?: boolean; native?: string } = {}) {
	FakeHls.instances = [];
	FakeHls.supported = options.supported ?? true;
	const video = new FakeVideo();
	video.native = options.native ?? '';
	const states: string[] = [];
	let last: PlayerSnapshot | null = null;
	const player = new PlayerController(video, {
		src: SRC,
		loadHls: async () => FakeHls as unknown as HlsModule,
		onChange: (snap) => {
			last = snap;
			if (states[states.length - 1] !== snap.state) states.push(snap.state);
		}
	});
	await player.start();
	const hls = FakeHls.instances[0];
	/** The stream starts playing. */
	const startPlaying = () => {
		hls?.emit(Events.MANIFEST_PARSED);
		video.fire('playing');
		video.advance(1);
	};
	return { player, video, hls, states, snap: () => last as unknown as PlayerSnapshot, startPlaying };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('PlayerController with hls.js', () => {
	it('loads the stable URL muted and goes loading → playing', async () => {
		const { hls, video, states, snap, startPlaying } = await setup();
		expect(hls?.calls).toEqual([`loadSource ${SRC}`, 'attachMedia']);
		expect(video.muted).toBe(true);
		expect(snap().state).toBe('loading');
		startPlaying();
		expect(states).toEqual(['loading', 'playing']);
		expect(snap().engine).toBe('hls.js');
	});

	it('prefers hls.js even when the browser claims native HLS (Chromium)', async () => {
		const { snap } = await setup({ native: 'maybe' });
		expect(snap().engine).toBe('hls.js');
	});

	it('falls back to native HLS only when MSE is missing', async () => {
		const { video, snap } = await setup({ supported: false, native: 'maybe' });
		expect(snap().engine).toBe('native');
		expect(video.src).toBe(SRC);
		expect(FakeHls.instances).toHaveLength(0);
	});

	it('fails with a message when neither works', async () => {
		const { snap } = await setup({ supported: false, native: '' });
		expect(snap().state).toBe('failed');
		expect(snap().error).toMatch(/cannot play HLS/);
	});

	it('lists quality levels best first and reports what Auto picked', async () => {
		const { player, hls, snap, startPlaying } = await setup();
		startPlaying();
		expect(snap().levels.map((l) => [l.index, l.label])).toEqual([
			[1, '720p'],
			[0, '360p']
		]);
		expect(snap().selectedLevel).toBe(-1);
		hls?.emit(Events.LEVEL_SWITCHED, { level: 1 });
		expect(snap().playingLevel).toBe(1);
		expect(snap().stats.level).toBe('720p · 2.5 Mb/s');
		player.setLevel(0);
		expect(hls?.currentLevel).toBe(0);
		expect(snap().selectedLevel).toBe(0);
	});

	it('retries fatal network errors with startLoad on a backoff, then plays again', async () => {
		const { hls, video, states, snap, startPlaying } = await setup();
		startPlaying();
		hls?.error(ErrorTypes.NETWORK_ERROR, 'levelLoadError');
		expect(snap().state).toBe('reconnecting');
		expect(snap().attempt).toBe(1);
		await vi.advanceTimersByTimeAsync(999);
		expect(hls?.calls).not.toContain('startLoad');
		await vi.advanceTimersByTimeAsync(1);
		expect(hls?.calls.filter((c) => c === 'startLoad')).toHaveLength(1);

		// Still broken: the second retry waits 2 s.
		hls?.error(ErrorTypes.NETWORK_ERROR, 'levelLoadError');
		expect(snap().attempt).toBe(2);
		await vi.advanceTimersByTimeAsync(1999);
		expect(hls?.calls.filter((c) => c === 'startLoad')).toHaveLength(1);
		await vi.advanceTimersByTimeAsync(1);
		expect(hls?.calls.filter((c) => c === 'startLoad')).toHaveLength(2);

		video.advance(1);
		expect(snap().state).toBe('reconnecting');
		hls?.emit(Events.FRAG_BUFFERED);
		expect(snap().state).toBe('playing');
		expect(snap().attempt).toBe(0);
		expect(snap().error).toBeNull();
		expect(states).toEqual(['loading', 'playing', 'reconnecting', 'playing']);
	});

	it('keeps reconnecting while buffered media plays out, and still restarts loading', async () => {
		const { hls, video, snap, startPlaying } = await setup();
		startPlaying();
		hls?.error(ErrorTypes.NETWORK_ERROR, 'levelLoadError');
		video.advance(0.5);
		expect(snap().state).toBe('reconnecting');
		await vi.advanceTimersByTimeAsync(1000);
		expect(hls?.calls).toContain('startLoad');
		// Still only the old buffer playing out: no flicker back to "playing".
		video.advance(0.5);
		expect(snap().state).toBe('reconnecting');
		hls?.emit(Events.FRAG_BUFFERED);
		expect(snap().state).toBe('playing');
	});

	it('re-requests the manifest when it never loaded', async () => {
		const { hls } = await setup();
		hls?.error(ErrorTypes.NETWORK_ERROR, 'manifestLoadError');
		await vi.advanceTimersByTimeAsync(1000);
		expect(hls?.calls.filter((c) => c.startsWith('loadSource'))).toHaveLength(2);
		expect(hls?.calls).not.toContain('startLoad');
	});

	it('fails after the last try (1, 2, 4, 8, 8 s) and stops loading', async () => {
		const { hls, snap, startPlaying } = await setup();
		startPlaying();
		for (const delay of [1000, 2000, 4000, 8000, 8000]) {
			hls?.error(ErrorTypes.NETWORK_ERROR, 'fragLoadError');
			expect(snap().state).toBe('reconnecting');
			await vi.advanceTimersByTimeAsync(delay);
		}
		expect(hls?.calls.filter((c) => c === 'startLoad')).toHaveLength(5);
		hls?.error(ErrorTypes.NETWORK_ERROR, 'fragLoadError');
		expect(snap().state).toBe('failed');
		expect(snap().error).toMatch(/fragLoadError.*5 attempts/);
		expect(hls?.calls[hls.calls.length - 1]).toBe('stopLoad');
	});

	it('ignores a second fatal error while a retry is pending', async () => {
		const { hls, snap, startPlaying } = await setup();
		startPlaying();
		hls?.error(ErrorTypes.NETWORK_ERROR, 'levelLoadError');
		hls?.error(ErrorTypes.NETWORK_ERROR, 'fragLoadError');
		expect(snap().attempt).toBe(1);
	});

	it('ignores non-fatal errors (hls.js handles them itself)', async () => {
		const { hls, snap, startPlaying } = await setup();
		startPlaying();
		hls?.error(ErrorTypes.NETWORK_ERROR, 'fragLoadError', false);
		expect(snap().state).toBe('playing');
	});

	it('recovers media errors, then swaps the audio codec, then fails', async () => {
		const { hls, snap, startPlaying } = await setup();
		startPlaying();
		hls?.error(ErrorTypes.MEDIA_ERROR, 'bufferAppendError');
		expect(hls?.calls.slice(-1)).toEqual(['recoverMediaError']);
		expect(snap().state).toBe('reconnecting');
		hls?.error(ErrorTypes.MEDIA_ERROR, 'bufferAppendError');
		expect(hls?.calls.slice(-2)).toEqual(['swapAudioCodec', 'recoverMediaError']);
		hls?.error(ErrorTypes.MEDIA_ERROR, 'bufferAppendError');
		expect(snap().state).toBe('failed');
	});

	it('treats media errors far apart as fresh ones', async () => {
		const { hls, snap, startPlaying } = await setup();
		startPlaying();
		hls?.error(ErrorTypes.MEDIA_ERROR, 'bufferAppendError');
		await vi.advanceTimersByTimeAsync(5000);
		hls?.error(ErrorTypes.MEDIA_ERROR, 'bufferAppendError');
		expect(hls?.calls.filter((c) => c === 'swapAudioCodec')).toHaveLength(0);
		expect(snap().state).not.toBe('failed');
	});

	it('fails at once on other fatal errors', async () => {
		const { hls, snap } = await setup();
		hls?.error('otherError', 'internalException');
		expect(snap().state).toBe('failed');
	});

	it('shows reconnecting when playback stalls, and restarts loading if it stays stalled', async () => {
		const { hls, video, snap, startPlaying } = await setup();
		startPlaying();
		await vi.advanceTimersByTimeAsync(2000);
		expect(snap().state).toBe('playing');
		await vi.advanceTimersByTimeAsync(1500);
		expect(snap().state).toBe('reconnecting');
		await vi.advanceTimersByTimeAsync(11_000);
		expect(snap().attempt).toBe(1);
		await vi.advanceTimersByTimeAsync(1000);
		expect(hls?.calls).toContain('startLoad');
		hls?.emit(Events.FRAG_BUFFERED);
		video.advance(1);
		expect(snap().state).toBe('playing');
	});

	it('leaves a stall-only reconnect as soon as playback moves again', async () => {
		const { video, snap, startPlaying } = await setup();
		startPlaying();
		await vi.advanceTimersByTimeAsync(3000);
		expect(snap().state).toBe('reconnecting');
		video.advance(1);
		expect(snap().state).toBe('playing');
	});

	it('does not call a paused player stalled', async () => {
		const { player, snap, startPlaying } = await setup();
		startPlaying();
		player.togglePlay();
		await vi.advanceTimersByTimeAsync(30_000);
		expect(snap().state).toBe('playing');
		expect(snap().paused).toBe(true);
	});

	it('retry() after failure starts a fresh hls.js instance', async () => {
		const { player, hls, snap } = await setup();
		hls?.error('otherError', 'internalException');
		player.retry();
		expect(snap().state).toBe('loading');
		expect(hls?.calls).toContain('destroy');
		expect(FakeHls.instances).toHaveLength(2);
		expect(FakeHls.instances[1]?.calls).toEqual([`loadSource ${SRC}`, 'attachMedia']);
	});

	it('ignores events from a destroyed instance', async () => {
		const { player, hls, snap } = await setup();
		hls?.error('otherError', 'internalException');
		player.retry();
		hls?.error(ErrorTypes.NETWORK_ERROR, 'levelLoadError');
		expect(snap().state).toBe('loading');
	});

	it('seeks to the live edge when drifting more than 3 target durations behind', async () => {
		const { hls, video, snap, startPlaying } = await setup();
		startPlaying();
		hls?.emit(Events.LEVEL_LOADED, { details: { targetduration: 2 } });
		hls!.latency = 10; // 4 s behind the 6 s target: behind, but no jump yet
		video.advance(1);
		await vi.advanceTimersByTimeAsync(1000);
		expect(snap().behindLive).toBe(true);
		expect(video.currentTime).toBe(2);
		hls!.latency = 13; // 7 s > 3 × 2 s
		video.advance(1);
		await vi.advanceTimersByTimeAsync(1000);
		expect(video.currentTime).toBe(54);
	});

	it('does not jump back to live after the viewer seeked back, until "Live"', async () => {
		const { player, hls, video, snap, startPlaying } = await setup();
		startPlaying();
		video.currentTime = 40;
		hls?.emit(Events.LEVEL_LOADED, { details: { targetduration: 2 } });
		player.seekBy(-5);
		expect(video.currentTime).toBe(35);
		hls!.latency = 20;
		video.advance(1);
		await vi.advanceTimersByTimeAsync(1000);
		expect(video.currentTime).toBe(36);
		expect(snap().behindLive).toBe(true);
		player.goLive();
		expect(video.currentTime).toBe(54);
	});

	it('clamps seeking to the seekable window', async () => {
		const { player, video, startPlaying } = await setup();
		startPlaying();
		player.seekBy(-50);
		expect(video.currentTime).toBe(0);
		player.seekBy(500);
		expect(video.currentTime).toBe(60);
	});

	it('toggles mute and reports it', async () => {
		const { player, snap } = await setup();
		expect(snap().muted).toBe(true);
		player.toggleMute();
		expect(snap().muted).toBe(false);
	});

	it('starts with the sound it is given', async () => {
		FakeHls.instances = [];
		const video = new FakeVideo();
		const player = new PlayerController(video, { src: SRC, muted: false, volume: 0.4, loadHls: async () => FakeHls as unknown as HlsModule });
		await player.start();
		expect(video.muted).toBe(false);
		expect(video.volume).toBe(0.4);
		player.setVolume(3);
		expect(player.snapshot().volume).toBe(1);
		player.setVolume(0.25);
		expect(player.snapshot()).toMatchObject({ volume: 0.25, muted: false, autoMuted: false });
	});

	it('mutes itself to start when the browser refuses sound, and says so', async () => {
		FakeHls.instances = [];
		const video = new FakeVideo();
		video.playResult = () =>
			video.muted ? Promise.resolve() : Promise.reject(Object.assign(new Error('no'), { name: 'NotAllowedError' }));
		const player = new PlayerController(video, { src: SRC, muted: false, loadHls: async () => FakeHls as unknown as HlsModule });
		await player.start();
		FakeHls.instances[0]?.emit(Events.MANIFEST_PARSED);
		await vi.advanceTimersByTimeAsync(0);
		expect(player.snapshot()).toMatchObject({ muted: true, autoMuted: true, needsGesture: false });
		player.setMuted(false);
		expect(player.snapshot()).toMatchObject({ muted: false, autoMuted: false });
	});

	it('says when a reconnecting player tries again', async () => {
		const { hls, snap, startPlaying } = await setup();
		startPlaying();
		expect(snap().retryInMs).toBeNull();
		hls?.error(ErrorTypes.NETWORK_ERROR, 'levelLoadError');
		expect(snap().retryInMs).toBe(1000);
		await vi.advanceTimersByTimeAsync(1000);
		hls?.error(ErrorTypes.NETWORK_ERROR, 'levelLoadError');
		expect(snap().retryInMs).toBe(2000);
	});

	it('says when a stalled player restarts loading', async () => {
		const { snap, startPlaying } = await setup();
		startPlaying();
		await vi.advanceTimersByTimeAsync(3000);
		expect(snap().state).toBe('reconnecting');
		// The watchdog restarts loading 10 s after it noticed the stall.
		expect(snap().retryInMs).toBe(10_000);
		await vi.advanceTimersByTimeAsync(4000);
		expect(snap().retryInMs).toBe(6000);
	});

	it('reports no latency before hls.js knows one (never 0)', async () => {
		const { hls, snap, startPlaying } = await setup();
		hls!.latency = 0;
		startPlaying();
		await vi.advanceTimersByTimeAsync(1000);
		expect(snap().stats.latencySeconds).toBeNull();
		hls!.latency = 7.5;
		await vi.advanceTimersByTimeAsync(1000);
		expect(snap().stats.latencySeconds).toBe(7.5);
	});

	it('asks for a click when autoplay is refused', async () => {
		FakeHls.instances = [];
		const video = new FakeVideo();
		video.playResult = () => Promise.reject(Object.assign(new Error('no'), { name: 'NotAllowedError' }));
		let snap: PlayerSnapshot | null = null;
		const player = new PlayerController(video, {
			src: SRC,
			loadHls: async () => FakeHls as unknown as HlsModule,
			onChange: (s) => (snap = s)
		});
		await player.start();
		FakeHls.instances[0]?.emit(Events.MANIFEST_PARSED);
		await vi.advanceTimersByTimeAsync(0);
		expect((snap as unknown as PlayerSnapshot).needsGesture).toBe(true);
	});

	it('destroy() tears down hls.js, timers and listeners', async () => {
		const { player, hls, video } = await setup();
		player.destroy();
		expect(hls?.calls).toContain('destroy');
		expect([...video.listeners.values()].every((set) => set.size === 0)).toBe(true);
		expect(vi.getTimerCount()).toBe(0);
	});
});

describe('helpers', () => {
	it('labels levels by height, else bitrate', () => {
		expect(levelLabel({ height: 1080, bitrate: 5e6 })).toBe('1080p');
		expect(levelLabel({ height: 0, bitrate: 800_000 })).toBe('800 kb/s');
	});

	it('measures the buffer ahead of the playhead', () => {
		expect(bufferAhead(ranges([0, 10], [12, 20]), 14)).toBe(6);
		expect(bufferAhead(ranges([0, 10]), 11)).toBe(0);
	});
});

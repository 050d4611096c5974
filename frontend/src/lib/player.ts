/**
 * One player per tile: drives a `<video>` with hls.js (or the browser's own HLS as a
 * fallback) and turns everything that can go wrong with a live stream into a small, visible
 * state machine:
 *
 * ```text
 *   loading ──playing──▶ playing ──stall / fatal error──▶ reconnecting ──progress──▶ playing
 *      │                                                     │
 *      └────────── fatal error, retries used up ─────────────┴──▶ failed ──retry()──▶ loading
 * ```
 *
 * Network errors are retried with `startLoad()` on an exponential backoff; media errors with
 * `recoverMediaError()`, then `swapAudioCodec()` + `recoverMediaError()`. Only when that is
 * exhausted does the tile show its error card. The controller owns no DOM beyond the video
 * and reports every change through `onChange`, so the Svelte tile stays a thin view and the
 * logic is tested with a fake Hls.
 */

import type { HlsConfig } from 'hls.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff';
import { formatBitrate } from './streams';
import { behindLiveSeconds } from './tile-text';
import { clampVolume } from './viewer-prefs';

export type PlayerState = 'loading' | 'playing' | 'reconnecting' | 'failed';

/** The parts of `<video>` the controller uses (a fake in unit tests). */
export interface VideoLike {
	muted: boolean;
	volume: number;
	readonly paused: boolean;
	currentTime: number;
	readonly buffered: TimeRanges;
	readonly seekable: TimeRanges;
	src: string;
	play(): Promise<void>;
	pause(): void;
	load(): void;
	canPlayType(type: string): string;
	removeAttribute(name: string): void;
	addEventListener(type: string, listener: () => void): void;
	removeEventListener(type: string, listener: () => void): void;
}

/** A level as hls.js lists it. */
export interface HlsLevelLike {
	height: number;
	width: number;
	bitrate: number;
}

/** The parts of an `Hls` instance the controller uses. */
export interface HlsLike {
	on(event: string, listener: (event: string, data: unknown) => void): void;
	loadSource(url: string): void;
	attachMedia(media: VideoLike): void;
	startLoad(startPosition?: number): void;
	stopLoad(): void;
	recoverMediaError(): void;
	swapAudioCodec(): void;
	destroy(): void;
	readonly levels: HlsLevelLike[];
	currentLevel: number;
	readonly autoLevelEnabled: boolean;
	readonly bandwidthEstimate: number;
	readonly latency: number;
	readonly targetLatency: number | null;
	readonly liveSyncPosition: number | null;
}

/** The parts of the `Hls` class (module default export) the controller uses. */
export interface HlsModule {
	new (config: Partial<HlsConfig>): HlsLike;
	isSupported(): boolean;
	readonly Events: {
		readonly MANIFEST_PARSED: string;
		readonly LEVEL_SWITCHED: string;
		readonly LEVEL_LOADED: string;
		readonly FRAG_BUFFERED: string;
		readonly ERROR: string;
	};
	readonly ErrorTypes: { readonly NETWORK_ERROR: string; readonly MEDIA_ERROR: string };
}

/** One entry of the quality menu. */
export interface QualityLevel {
	/** hls.js level index. */
	index: number;
	label: string;
	height: number;
	bitrate: number;
}

/** Numbers for the `i` overlay. */
export interface PlayerStats {
	/** The level actually playing, e.g. "720p · 2.5 Mb/s". */
	level: string;
	/** hls.js bandwidth estimate, bits/s (0 for native playback). */
	bandwidthEstimate: number;
	/** Seconds buffered ahead of the playhead. */
	bufferSeconds: number;
	/** Seconds behind the newest media of the live stream, when known (never a made-up 0). */
	latencySeconds: number | null;
}

/** Everything a tile renders, as one immutable value. */
export interface PlayerSnapshot {
	state: PlayerState;
	engine: 'hls.js' | 'native' | 'none';
	levels: QualityLevel[];
	/** Chosen level index; -1 = Auto. */
	selectedLevel: number;
	/** The level playing now (what Auto picked), -1 when unknown. */
	playingLevel: number;
	muted: boolean;
	/** 0 … 1. */
	volume: number;
	/** The browser refused to autoplay with sound, so the player muted itself to start. */
	autoMuted: boolean;
	paused: boolean;
	/** Retry count of the current outage (0 when healthy). */
	attempt: number;
	maxAttempts: number;
	/** Why the player failed or is reconnecting. */
	error: string | null;
	/** While reconnecting: when loading restarts next (ms from the snapshot), else null. */
	retryInMs: number | null;
	/** More than about a target duration behind the live edge. */
	behindLive: boolean;
	/** Autoplay was refused; a click on play is needed. */
	needsGesture: boolean;
	stats: PlayerStats;
}

export interface PlayerOptions {
	/** The stable master playlist URL, e.g. `/live/st_…/master.m3u8`. */
	src: string;
	onChange?: (snapshot: PlayerSnapshot) => void;
	/**
	 * Start muted (default): browsers autoplay muted video without a gesture. When false and
	 * the browser refuses sound, the player mutes itself to start and says so (`autoMuted`).
	 */
	muted?: boolean;
	/** Starting volume, 0 … 1 (default 1). */
	volume?: number;
	/** Loads hls.js; tests pass a fake. Default: a dynamic import (keeps hls.js out of other pages). */
	loadHls?: () => Promise<HlsModule>;
	backoff?: BackoffOptions;
	/** Playback not advancing this long while it should: show "reconnecting". */
	stallGraceMs?: number;
	/** Still stalled this long: count it as a failed attempt and restart loading. */
	stallRetryMs?: number;
	/** Two media errors closer than this escalate the recovery. */
	mediaErrorWindowMs?: number;
	/** Housekeeping period (stall watchdog, live catch-up, stats). */
	tickMs?: number;
}

/** hls.js settings: fail fast inside hls.js so the controller's visible backoff takes over. */
export const HLS_CONFIG: Partial<HlsConfig> = {
	// Start about 3 segments behind the live edge; the controller handles larger drift.
	liveSyncDurationCount: 3,
	lowLatencyMode: false,
	backBufferLength: 30,
	manifestLoadPolicy: {
		default: {
			maxTimeToFirstByteMs: 8000,
			maxLoadTimeMs: 10_000,
			timeoutRetry: { maxNumRetry: 1, retryDelayMs: 0, maxRetryDelayMs: 0 },
			errorRetry: { maxNumRetry: 1, retryDelayMs: 500, maxRetryDelayMs: 1000 }
		}
	},
	playlistLoadPolicy: {
		default: {
			maxTimeToFirstByteMs: 8000,
			maxLoadTimeMs: 10_000,
			timeoutRetry: { maxNumRetry: 1, retryDelayMs: 0, maxRetryDelayMs: 0 },
			errorRetry: { maxNumRetry: 2, retryDelayMs: 500, maxRetryDelayMs: 2000 }
		}
	},
	fragLoadPolicy: {
		default: {
			maxTimeToFirstByteMs: 8000,
			maxLoadTimeMs: 20_000,
			timeoutRetry: { maxNumRetry: 2, retryDelayMs: 0, maxRetryDelayMs: 0 },
			errorRetry: { maxNumRetry: 2, retryDelayMs: 500, maxRetryDelayMs: 2000 }
		}
	}
};

const defaultLoadHls = async (): Promise<HlsModule> => (await import('hls.js')).default as unknown as HlsModule;

export function levelLabel(level: Pick<HlsLevelLike, 'height' | 'bitrate'>): string {
	if (level.height > 0) return `${level.height}p`;
	return formatBitrate(level.bitrate) || 'unknown';
}

/** Seconds buffered ahead of `time` in `ranges`. */
export function bufferAhead(ranges: TimeRanges, time: number): number {
	for (let i = 0; i < ranges.length; i++) {
		if (ranges.start(i) <= time + 0.1 && time <= ranges.end(i)) return Math.max(0, ranges.end(i) - time);
	}
	return 0;
}

const VIDEO_EVENTS = ['playing', 'pause', 'play', 'volumechange', 'timeupdate', 'error'] as const;

export class PlayerController {
	readonly #video: VideoLike;
	readonly #options: Required<Omit<PlayerOptions, 'onChange'>> & Pick<PlayerOptions, 'onChange'>;
	#Hls: HlsModule | null = null;
	#hls: HlsLike | null = null;
	#engine: PlayerSnapshot['engine'] = 'none';
	#state: PlayerState = 'loading';
	#destroyed = false;
	#started = false;

	#levels: QualityLevel[] = [];
	#selectedLevel = -1;
	#playingLevel = -1;
	#manifestParsed = false;
	#targetDuration = 0;

	#attempt = 0;
	#error: string | null = null;
	#retryTimer: ReturnType<typeof setTimeout> | null = null;
	#retryDueAt = 0;
	#tickTimer: ReturnType<typeof setInterval> | null = null;
	#lastMediaError = Number.NEGATIVE_INFINITY;
	#swappedAt = Number.NEGATIVE_INFINITY;

	/** After a fatal error: new media must arrive before the tile says "playing" again. */
	#awaitingData = false;
	#lastTime = -1;
	#lastProgressAt = 0;
	#stallRetryAt = 0;
	#needsGesture = false;
	#autoMuted = false;
	#autoCatchUp = true;
	#behindLive = false;

	readonly #listeners: Record<(typeof VIDEO_EVENTS)[number], () => void>;

	constructor(video: VideoLike, options: PlayerOptions) {
		this.#video = video;
		this.#options = {
			loadHls: defaultLoadHls,
			backoff: DEFAULT_BACKOFF,
			stallGraceMs: 2500,
			stallRetryMs: 10_000,
			mediaErrorWindowMs: 3000,
			tickMs: 1000,
			muted: true,
			volume: 1,
			...options
		};
		this.#listeners = {
			playing: () => this.#onProgress(),
			timeupdate: () => {
				if (this.#video.currentTime !== this.#lastTime) this.#onProgress();
			},
			pause: () => this.#emit(),
			play: () => this.#emit(),
			volumechange: () => this.#emit(),
			error: () => {
				// hls.js reports media trouble through its own ERROR event; this is for native HLS.
				if (this.#engine === 'native') this.#networkFailure('The browser could not load the stream.');
			}
		};
	}

	get state(): PlayerState {
		return this.#state;
	}

	/** Starts loading and playing (muted unless asked otherwise, so autoplay is allowed). Call once. */
	async start(): Promise<void> {
		if (this.#started) return;
		this.#started = true;
		this.#video.muted = this.#options.muted;
		this.#video.volume = clampVolume(this.#options.volume);
		for (const name of VIDEO_EVENTS) this.#video.addEventListener(name, this.#listeners[name]);
		this.#lastProgressAt = Date.now();
		this.#tickTimer = setInterval(() => this.#tick(), this.#options.tickMs);
		this.#emit();

		let Hls: HlsModule | null = null;
		try {
			Hls = await this.#options.loadHls();
		} catch {
			Hls = null;
		}
		if (this.#destroyed) return;
		// Chromium answers canPlayType('application/vnd.apple.mpegurl') with "maybe" but plays
		// HLS far better through MSE: hls.js first, native only where MSE is missing (iOS).
		if (Hls?.isSupported()) {
			this.#Hls = Hls;
			this.#engine = 'hls.js';
			this.#createHls();
		} else if (this.#video.canPlayType('application/vnd.apple.mpegurl') !== '') {
			this.#engine = 'native';
			this.#loadNative();
		} else {
			this.#fail('This browser cannot play HLS streams (no Media Source Extensions, no native HLS).');
		}
		this.#emit();
	}

	/** After `failed`: start over from scratch (new hls.js instance, fresh retry budget). */
	retry(): void {
		if (this.#destroyed) return;
		this.#clearRetry();
		this.#attempt = 0;
		this.#error = null;
		this.#awaitingData = false;
		this.#lastProgressAt = Date.now();
		this.#setState('loading');
		if (this.#engine === 'hls.js') {
			this.#hls?.destroy();
			this.#hls = null;
			this.#createHls();
		} else if (this.#engine === 'native') {
			this.#loadNative();
		}
	}

	/** Stops everything and lets go of the video. Safe to call twice. */
	destroy(): void {
		if (this.#destroyed) return;
		this.#destroyed = true;
		this.#clearRetry();
		if (this.#tickTimer !== null) clearInterval(this.#tickTimer);
		this.#tickTimer = null;
		for (const name of VIDEO_EVENTS) this.#video.removeEventListener(name, this.#listeners[name]);
		this.#hls?.destroy();
		this.#hls = null;
		if (this.#engine === 'native') {
			this.#video.removeAttribute('src');
			this.#video.load();
		}
	}

	/** -1 = Auto (adaptive), else an hls.js level index. Switches immediately. */
	setLevel(index: number): void {
		if (!this.#hls) return;
		this.#selectedLevel = index;
		this.#hls.currentLevel = index;
		this.#emit();
	}

	togglePlay(): void {
		if (this.#video.paused) {
			this.#play();
		} else {
			// A viewer who pauses a live stream wants to resume where they were.
			this.#autoCatchUp = false;
			this.#video.pause();
		}
	}

	toggleMute(): void {
		this.setMuted(!this.#video.muted);
	}

	setMuted(muted: boolean): void {
		this.#video.muted = muted;
		this.#autoMuted = false;
		this.#emit();
	}

	/** 0 … 1; leaves mute alone (the tile decides whether moving the slider unmutes). */
	setVolume(volume: number): void {
		this.#video.volume = clampVolume(volume);
		this.#emit();
	}

	/** Seeks by `seconds` within what the live window still holds. */
	seekBy(seconds: number): void {
		const video = this.#video;
		const range = video.seekable;
		if (range.length === 0) return;
		const start = range.start(0);
		const end = range.end(range.length - 1);
		const target = Math.min(end, Math.max(start, video.currentTime + seconds));
		video.currentTime = target;
		if (seconds < 0) this.#autoCatchUp = false;
		this.#emit();
	}

	/** Jumps to the live edge (the "Live" button) and resumes automatic catch-up. */
	goLive(): void {
		const position = this.#liveEdge();
		if (position !== null) this.#video.currentTime = position;
		this.#autoCatchUp = true;
		this.#behindLive = false;
		if (this.#video.paused) this.#play();
		this.#emit();
	}

	snapshot(): PlayerSnapshot {
		const playing = this.#levels.find((l) => l.index === this.#playingLevel);
		const hls = this.#hls;
		return {
			state: this.#state,
			engine: this.#engine,
			levels: this.#levels,
			selectedLevel: this.#selectedLevel,
			playingLevel: this.#playingLevel,
			muted: this.#video.muted,
			volume: this.#video.volume,
			autoMuted: this.#autoMuted,
			paused: this.#video.paused,
			attempt: this.#attempt,
			maxAttempts: this.#options.backoff.tries,
			error: this.#error,
			retryInMs: this.#retryIn(),
			behindLive: this.#behindLive,
			needsGesture: this.#needsGesture,
			stats: {
				level: playing ? [playing.label, formatBitrate(playing.bitrate)].filter(Boolean).join(' · ') : '—',
				bandwidthEstimate: hls && Number.isFinite(hls.bandwidthEstimate) ? hls.bandwidthEstimate : 0,
				bufferSeconds: bufferAhead(this.#video.buffered, this.#video.currentTime),
				latencySeconds: this.#latency()
			}
		};
	}

	// --- hls.js -------------------------------------------------------------------------

	#createHls(): void {
		const Hls = this.#Hls;
		if (!Hls) return;
		const hls = new Hls({ ...HLS_CONFIG });
		this.#hls = hls;
		this.#manifestParsed = false;
		hls.on(Hls.Events.MANIFEST_PARSED, () => {
			if (this.#hls !== hls) return;
			this.#manifestParsed = true;
			this.#levels = hls.levels
				.map((level, index) => ({ index, label: levelLabel(level), height: level.height, bitrate: level.bitrate }))
				.sort((a, b) => b.height - a.height || b.bitrate - a.bitrate);
			if (this.#selectedLevel >= this.#levels.length) this.#selectedLevel = -1;
			if (this.#selectedLevel !== -1) hls.currentLevel = this.#selectedLevel;
			this.#play();
			this.#emit();
		});
		hls.on(Hls.Events.LEVEL_SWITCHED, (_event, data) => {
			if (this.#hls !== hls) return;
			this.#playingLevel = (data as { level: number }).level;
			this.#emit();
		});
		hls.on(Hls.Events.LEVEL_LOADED, (_event, data) => {
			if (this.#hls !== hls) return;
			const details = (data as { details?: { targetduration?: number } }).details;
			if (details?.targetduration) this.#targetDuration = details.targetduration;
		});
		hls.on(Hls.Events.FRAG_BUFFERED, () => {
			if (this.#hls !== hls || !this.#awaitingData) return;
			this.#awaitingData = false;
			this.#onProgress();
		});
		hls.on(Hls.Events.ERROR, (_event, data) => {
			if (this.#hls !== hls) return;
			this.#onHlsError(data as { type: string; details: string; fatal: boolean });
		});
		hls.loadSource(this.#options.src);
		hls.attachMedia(this.#video);
	}

	#onHlsError(data: { type: string; details: string; fatal: boolean }): void {
		const Hls = this.#Hls;
		if (!data.fatal || !Hls || this.#state === 'failed') return;
		if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
			this.#networkFailure(`Network error (${data.details}).`);
		} else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
			this.#mediaFailure(data.details);
		} else {
			this.#fail(`Playback error (${data.details}).`);
		}
	}

	/** Retry with backoff: hls.js restarts loading (or re-fetches a manifest it never got). */
	#networkFailure(reason: string): void {
		if (this.#retryTimer !== null) return; // a retry is already scheduled for this outage
		this.#attempt += 1;
		const delay = backoffDelay(this.#attempt, this.#options.backoff);
		if (delay === null) {
			this.#fail(`${reason} Gave up after ${this.#options.backoff.tries} attempts.`);
			return;
		}
		this.#error = reason;
		// The playhead moving through what is still buffered proves nothing; fresh media does.
		this.#awaitingData = this.#engine === 'hls.js';
		this.#retryDueAt = Date.now() + delay;
		this.#retryTimer = setTimeout(() => {
			this.#retryTimer = null;
			if (this.#destroyed || this.#state === 'failed') return;
			this.#stallRetryAt = Date.now();
			if (this.#engine === 'native') {
				this.#loadNative();
			} else if (this.#hls) {
				if (this.#manifestParsed) this.#hls.startLoad();
				else this.#hls.loadSource(this.#options.src);
			}
		}, delay);
		this.#setState('reconnecting');
	}

	/** The usual hls.js ladder: recover, then swap the audio codec and recover, then give up. */
	#mediaFailure(details: string): void {
		const hls = this.#hls;
		if (!hls) return;
		const now = Date.now();
		const window = this.#options.mediaErrorWindowMs;
		this.#error = `Media error (${details}).`;
		if (now - this.#lastMediaError > window) {
			this.#lastMediaError = now;
			this.#setState('reconnecting');
			hls.recoverMediaError();
		} else if (now - this.#swappedAt > window) {
			this.#swappedAt = now;
			this.#lastMediaError = now;
			this.#setState('reconnecting');
			hls.swapAudioCodec();
			hls.recoverMediaError();
		} else {
			this.#fail(`Media error (${details}); recovery did not help.`);
		}
	}

	// --- native HLS (Safari/iOS) ---------------------------------------------------------

	#loadNative(): void {
		this.#video.src = this.#options.src;
		this.#video.load();
		this.#play();
	}

	// --- shared ----------------------------------------------------------------------------

	#play(): void {
		this.#video.play().then(
			() => {
				if (this.#needsGesture) {
					this.#needsGesture = false;
					this.#emit();
				}
			},
			(err: unknown) => {
				// AbortError: a new load interrupted play(); the next load plays again.
				if (!(err instanceof Error) || err.name !== 'NotAllowedError' || this.#destroyed) return;
				if (!this.#video.muted) {
					// No sound without a gesture here: start muted, and let the tile offer sound.
					this.#video.muted = true;
					this.#autoMuted = true;
					this.#play();
				} else {
					this.#needsGesture = true;
				}
				this.#emit();
			}
		);
	}

	#onProgress(): void {
		this.#lastTime = this.#video.currentTime;
		this.#lastProgressAt = Date.now();
		if (this.#video.paused || this.#destroyed) return;
		// Media still buffered keeps playing during an outage; after a fatal error hls.js has
		// stopped loading, so the pending restart must happen anyway and the tile keeps
		// saying "reconnecting" until it has.
		if (this.#retryTimer !== null || this.#awaitingData) return;
		if (this.#state === 'loading' || this.#state === 'reconnecting') {
			this.#attempt = 0;
			this.#error = null;
			this.#needsGesture = false;
			this.#setState('playing');
		}
	}

	#tick(): void {
		if (this.#destroyed) return;
		const now = Date.now();
		const video = this.#video;
		const stalledFor = now - this.#lastProgressAt;
		if (!video.paused && this.#state === 'playing' && stalledFor > this.#options.stallGraceMs) {
			this.#error = 'The stream stopped delivering video.';
			this.#stallRetryAt = now;
			this.#setState('reconnecting');
		} else if (
			this.#state === 'reconnecting' &&
			this.#retryTimer === null &&
			now - Math.max(this.#lastProgressAt, this.#stallRetryAt) > this.#options.stallRetryMs
		) {
			// Stalled without hls.js raising a fatal error (e.g. a playlist that stopped
			// growing): count an attempt and reload, so a dead feed ends in `failed`.
			this.#networkFailure('The stream stopped delivering video.');
		}
		this.#catchUp();
		this.#emit();
	}

	#latency(): number | null {
		const range = this.#video.seekable;
		const native = this.#engine === 'native' && range.length > 0;
		return behindLiveSeconds({
			latency: this.#hls ? this.#hls.latency : null,
			seekableEnd: native ? range.end(range.length - 1) : null,
			currentTime: this.#video.currentTime
		});
	}

	/** Milliseconds until loading restarts while reconnecting; null otherwise. */
	#retryIn(): number | null {
		if (this.#state !== 'reconnecting') return null;
		const now = Date.now();
		if (this.#retryTimer !== null) return Math.max(0, this.#retryDueAt - now);
		// A stall without an error: the watchdog restarts loading after stallRetryMs.
		return Math.max(0, Math.max(this.#lastProgressAt, this.#stallRetryAt) + this.#options.stallRetryMs - now);
	}

	#liveEdge(): number | null {
		const sync = this.#hls?.liveSyncPosition;
		if (typeof sync === 'number' && Number.isFinite(sync)) return sync;
		const range = this.#video.seekable;
		if (range.length === 0) return null;
		const td = this.#targetDuration || 2;
		return Math.max(range.start(0), range.end(range.length - 1) - 3 * td);
	}

	/** Seeks back to the live edge when playback drifted more than 3 target durations behind it. */
	#catchUp(): void {
		const latency = this.#latency();
		if (latency === null) return;
		const td = this.#targetDuration || 2;
		const target = this.#hls?.targetLatency ?? 3 * td;
		const drift = latency - target;
		this.#behindLive = drift > td + 0.5;
		if (this.#autoCatchUp && this.#state === 'playing' && !this.#video.paused && drift > 3 * td) {
			const edge = this.#liveEdge();
			if (edge !== null && edge > this.#video.currentTime) {
				this.#video.currentTime = edge;
				this.#behindLive = false;
			}
		}
	}

	#fail(message: string): void {
		this.#clearRetry();
		this.#error = message;
		this.#hls?.stopLoad();
		this.#setState('failed');
	}

	#clearRetry(): void {
		if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
		this.#retryTimer = null;
	}

	#setState(state: PlayerState): void {
		this.#state = state;
		this.#emit();
	}

	#emit(): void {
		if (!this.#destroyed) this.#options.onChange?.(this.snapshot());
	}

	// --- multi-view wall: audio and sync -------------------------------------------------

	/** Program date-time (ms since the epoch) of the frame on screen; null when unknown. */
	playingDate(): number | null {
		const date = (this.#hls as (HlsLike & { playingDate?: Date | null }) | null)?.playingDate;
		return date instanceof Date && Number.isFinite(date.getTime()) ? date.getTime() : null;
	}

	/** Moves the playhead by `seconds` for the wall's sync (does not stop live catch-up). */
	syncSeekBy(seconds: number): void {
		const range = this.#video.seekable;
		if (range.length === 0 || !Number.isFinite(seconds)) return;
		const target = this.#video.currentTime + seconds;
		this.#video.currentTime = Math.min(range.end(range.length - 1), Math.max(range.start(0), target));
	}

	/** Playback speed for the wall's small sync corrections (1 = normal). */
	setPlaybackRate(rate: number): void {
		const video = this.#video as VideoLike & { playbackRate: number };
		if (Number.isFinite(rate) && rate > 0 && video.playbackRate !== rate) video.playbackRate = rate;
	}
}

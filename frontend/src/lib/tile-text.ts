/**
 * What a player tile says about its playback, as pure functions of the controller's snapshot:
 * the live indicator and play button on the bar (never "playing" while nothing plays), how far
 * behind live the picture is, what a reconnecting tile will do next, and quality labels that
 * name the level actually playing rather than the one asked for.
 */

import type { PlayerState } from './player';

/** What the bar's live indicator shows; also `data-live` on it, for tests and styling. */
export type LiveTone = 'live' | 'behind' | 'paused' | 'loading' | 'reconnecting' | 'failed';

export interface BarStatus {
	tone: LiveTone;
	/** Text of the live indicator. */
	label: string;
	/** Playback really runs: the play button shows pause (❚❚). */
	playing: boolean;
	/** The play button does something (it cannot start a stream that is loading or down). */
	canToggle: boolean;
}

/** The bar for a player in `state`: only a picture that plays is shown as playing. */
export function barStatus({ state, paused, behindLive }: { state: PlayerState; paused: boolean; behindLive: boolean }): BarStatus {
	switch (state) {
		case 'loading':
			return { tone: 'loading', label: 'Loading', playing: false, canToggle: false };
		case 'reconnecting':
			return { tone: 'reconnecting', label: 'Reconnecting', playing: false, canToggle: false };
		case 'failed':
			return { tone: 'failed', label: 'Offline', playing: false, canToggle: false };
		case 'playing':
			if (paused) return { tone: 'paused', label: 'Live', playing: false, canToggle: true };
			return { tone: behindLive ? 'behind' : 'live', label: 'Live', playing: true, canToggle: true };
	}
}

/**
 * Seconds between the playhead and the newest media of the live stream: hls.js' `latency`
 * when it knows it (it answers 0 before the first playlist), else the end of the seekable
 * range (native HLS). `null` when unknown — never a made-up 0.
 */
export function behindLiveSeconds({
	latency,
	seekableEnd,
	currentTime
}: {
	latency: number | null | undefined;
	seekableEnd: number | null;
	currentTime: number;
}): number | null {
	if (typeof latency === 'number' && Number.isFinite(latency) && latency > 0) return latency;
	if (seekableEnd !== null && Number.isFinite(seekableEnd) && seekableEnd > 0 && currentTime > 0) {
		return Math.max(0, seekableEnd - currentTime);
	}
	return null;
}

/** "8 s behind live"; "at the live edge" under half a second; `null` when unknown. */
export function formatBehindLive(seconds: number | null): string | null {
	if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return null;
	if (seconds < 0.5) return 'at the live edge';
	return `${Math.round(seconds)} s behind live`;
}

/** "1.2 s" for the stats overlay; `null` for an unknown or zero value (shown as nothing). */
export function formatSeconds(seconds: number | null): string | null {
	if (seconds === null || !Number.isFinite(seconds) || seconds <= 0) return null;
	return `${seconds.toFixed(1)} s`;
}

/** Who moves the viewer on when a tile's source stays down. */
export type Fallback =
	/** The page counts down to this stream (a pinned stream with somewhere to go). */
	| { kind: 'switch'; to: string }
	/** The server moves the session URL to another source itself. */
	| { kind: 'session' }
	/** Nobody: the tile retries once the stream is listed live again. */
	| { kind: 'none' };

/** The reconnecting tile's explanation: what happened, what it does now, what comes after. */
export function reconnectingText({
	reason,
	retryInMs,
	attempt,
	maxAttempts,
	fallback
}: {
	reason: string | null;
	retryInMs: number | null;
	attempt: number;
	maxAttempts: number;
	fallback: Fallback;
}): { happened: string; now: string; then: string } {
	const seconds = retryInMs === null ? null : Math.ceil(retryInMs / 1000);
	const count = attempt > 0 ? ` (attempt ${attempt} of ${maxAttempts})` : '';
	const now = seconds !== null && seconds > 0 ? `Trying again in ${seconds} s${count}.` : `Trying again now${count}…`;
	let then: string;
	if (fallback.kind === 'switch') then = `If it does not come back, this player switches to ${fallback.to}.`;
	else if (fallback.kind === 'session') then = 'If this source stays down, pitwall switches the session to another one.';
	else then = 'If it does not come back, it retries on its own once the stream is live again.';
	return { happened: reason ?? 'The picture stopped.', now, then };
}

/** The Auto entry of the quality menu: "Auto (720p)" with the level Auto is playing. */
export function autoQualityLabel(playingLabel: string | null): string {
	return playingLabel ? `Auto (${playingLabel})` : 'Auto';
}

/**
 * A level in the quality menu. The chosen level reads "360p (switching…)" until hls.js says it
 * plays (`LEVEL_SWITCHED`), so the menu never claims a level that is not on screen.
 */
export function levelOptionLabel(
	level: { index: number; label: string },
	{ selected, playing, bitrate }: { selected: number; playing: number; bitrate: string }
): string {
	const name = bitrate ? `${level.label} · ${bitrate}` : level.label;
	return level.index === selected && playing !== -1 && playing !== selected ? `${name} (switching…)` : name;
}

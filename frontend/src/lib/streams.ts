/** Pure helpers for the stream picker and the multi-view: wording, URLs and grid layout. */

import type { Stream } from './types';

/** Tiles one multi-view holds at most (the 3 × 2 grid). */
export const MAX_TILES = 6;

/** "2.5 Mb/s", "800 kb/s"; empty for an unknown bitrate. */
export function formatBitrate(bps: number | null | undefined): string {
	if (bps === null || bps === undefined || !Number.isFinite(bps) || bps <= 0) return '';
	if (bps >= 1_000_000) return `${(bps / 1_000_000).toFixed(bps >= 10_000_000 ? 0 : 1)} Mb/s`;
	return `${Math.round(bps / 1000)} kb/s`;
}

/** "720p" from "1280x720"; the raw text when it is not `WxH`; empty when unknown. */
export function formatResolution(resolution: string | null | undefined): string {
	if (!resolution) return '';
	const m = /^(\d+)x(\d+)$/.exec(resolution);
	return m ? `${m[2]}p` : resolution;
}

/** "Demo TV · Main feed": the site (plugin name, else the source id) and the label. */
export function streamTitle(stream: Pick<Stream, 'site' | 'source' | 'label'>): string {
	return `${stream.site ?? stream.source} · ${stream.label}`;
}

/** The session URL: one ladder that fails over between the session's streams on the server. */
export function sessionPlaylistUrl(sessionId: string): string {
	return `/live/session/${encodeURIComponent(sessionId)}/master.m3u8`;
}

/** Stream ids from a `?streams=a,b` value: trimmed, de-duplicated, at most {@link MAX_TILES}. */
export function parseStreamIds(value: string | null | undefined): string[] {
	const ids: string[] = [];
	for (const raw of (value ?? '').split(',')) {
		const id = raw.trim();
		if (id && !ids.includes(id)) ids.push(id);
	}
	return ids.slice(0, MAX_TILES);
}

/** The multi-view URL for `ids` (`/watch` when empty). Commas stay readable. */
export function watchUrl(ids: string[]): string {
	return ids.length === 0 ? '/watch' : `/watch?streams=${ids.map(encodeURIComponent).join(',')}`;
}

/** `ids` plus `id` at the end (no duplicate; the oldest tile drops out beyond {@link MAX_TILES}). */
export function withStream(ids: string[], id: string): string[] {
	const next = [...ids.filter((x) => x !== id), id];
	return next.slice(Math.max(0, next.length - MAX_TILES));
}

/** `ids` without `id`. */
export function withoutStream(ids: string[], id: string): string[] {
	return ids.filter((x) => x !== id);
}

/** Grid columns for `n` tiles: 1 → 1, 2 → 2, 3–4 → 2 (2 × 2), 5–6 → 3 (3 × 2). */
export function gridColumns(n: number): number {
	if (n <= 1) return 1;
	if (n <= 4) return 2;
	return 3;
}

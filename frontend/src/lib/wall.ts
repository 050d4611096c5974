/**
 * The multi-view wall as data: which feeds it shows (by role and driver, so a saved or shared
 * wall means "main + two onboards" in any session, not last weekend's stream ids), how they are
 * laid out (1, 2, 2×2, 1 big + 3 small, 3×3) and how big the 16:9 tiles can be so the whole
 * wall fits the space it has — width and height. Pure: the watch page does the DOM.
 */

import type { Stream } from './types';

/** Tiles one wall holds at most (3 × 3). */
export const MAX_WALL_TILES = 9;

export type WallLayout = 'auto' | '1' | '2' | '2x2' | '1+3' | '3x3';

/** The layouts in the picker, in order, with their labels. */
export const LAYOUTS: { id: WallLayout; label: string; title: string }[] = [
	{ id: 'auto', label: 'Auto', title: 'Grid from the number of tiles' },
	{ id: '1', label: '1', title: 'One tile' },
	{ id: '2', label: '2', title: 'Two side by side' },
	{ id: '2x2', label: '2×2', title: 'Two by two' },
	{ id: '1+3', label: '1+3', title: 'One big, three small' },
	{ id: '3x3', label: '3×3', title: 'Three by three' }
];

export function parseLayout(value: string | null | undefined): WallLayout {
	return LAYOUTS.some((l) => l.id === value) ? (value as WallLayout) : 'auto';
}

/** The concrete layout `auto` stands for with `count` tiles. */
export function effectiveLayout(layout: WallLayout, count: number): Exclude<WallLayout, 'auto'> {
	if (layout !== 'auto') return layout;
	if (count <= 1) return '1';
	if (count === 2) return '2';
	if (count <= 4) return '2x2';
	return '3x3';
}

/** How many tiles a layout shows. */
export function capacity(layout: Exclude<WallLayout, 'auto'>): number {
	return { '1': 1, '2': 2, '2x2': 4, '1+3': 4, '3x3': 9 }[layout];
}

// --- slots by role / driver -------------------------------------------------------------------

/** What a tile shows, independent of a session: a role ("main", "onboard", …) and maybe a driver. */
export interface WallSpec {
	role: string;
	driver: string | null;
}

/** `onboard:VER` → `{ role: 'onboard', driver: 'VER' }`; empty or malformed parts are dropped. */
export function parseSpec(token: string): WallSpec | null {
	const [rawRole, rawDriver] = token.trim().split(':', 2);
	const role = (rawRole ?? '').trim().toLowerCase();
	if (!/^[a-z0-9_-]+$/.test(role)) return null;
	const driver = (rawDriver ?? '').trim();
	return { role, driver: driver && /^[\p{L}\p{N} ._-]+$/u.test(driver) ? driver : null };
}

export function formatSpec(spec: WallSpec): string {
	return spec.driver ? `${spec.role}:${spec.driver}` : spec.role;
}

/** Specs from a `?wall=main,onboard:VER,onboard` value, at most {@link MAX_WALL_TILES}. */
export function parseWall(value: string | null | undefined): WallSpec[] {
	return (value ?? '')
		.split(',')
		.map(parseSpec)
		.filter((s): s is WallSpec => s !== null)
		.slice(0, MAX_WALL_TILES);
}

export function formatWall(specs: WallSpec[]): string {
	return specs.map(formatSpec).join(',');
}

/** The spec a stream fulfils: its role (default "main") and driver. */
export function specOf(stream: Pick<Stream, 'role' | 'driver'>): WallSpec {
	return { role: (stream.role || 'main').toLowerCase(), driver: stream.driver?.trim() || null };
}

function fulfils(stream: Stream, spec: WallSpec): boolean {
	const have = specOf(stream);
	if (have.role !== spec.role) return false;
	return spec.driver === null || have.driver?.toLowerCase() === spec.driver.toLowerCase();
}

/**
 * Picks a stream for every spec from `streams` (best first, as the server ranks them): a slot
 * keeps its `hints[i]` while that stream is listed and not dead (so a wall does not reshuffle
 * on every refresh, and a failed-over tile stays where it moved); otherwise the best-ranked
 * usable stream with the spec's role (and driver, when given) that no other slot shows. A spec
 * nothing fulfils resolves to null.
 */
export function resolveWall(specs: WallSpec[], streams: Stream[], hints: (string | null | undefined)[] = []): (string | null)[] {
	const usable = streams.filter((s) => s.status !== 'dead');
	const taken = new Set<string>();
	const out: (string | null)[] = specs.map((_, i) => {
		const hint = hints[i];
		if (hint && !taken.has(hint) && usable.some((s) => s.id === hint)) {
			taken.add(hint);
			return hint;
		}
		return null;
	});
	specs.forEach((spec, i) => {
		if (out[i] !== null) return;
		const pick = usable.find((s) => !taken.has(s.id) && fulfils(s, spec));
		if (pick) {
			taken.add(pick.id);
			out[i] = pick.id;
		}
	});
	return out;
}

/** `/watch?wall=…&layout=…`: a wall by role and driver, meaningful in any session. */
export function wallUrl(specs: WallSpec[], layout: WallLayout): string {
	const params = [`wall=${specs.map((s) => encodeURIComponent(formatSpec(s)).replace(/%3A/g, ':')).join(',')}`];
	if (layout !== 'auto') params.push(`layout=${encodeURIComponent(layout)}`);
	return `/watch?${params.join('&')}`;
}

/** `/watch?streams=…&layout=…`: these exact streams (this session only). */
export function streamsUrl(ids: string[], layout: WallLayout): string {
	const params = [`streams=${ids.map(encodeURIComponent).join(',')}`];
	if (layout !== 'auto') params.push(`layout=${encodeURIComponent(layout)}`);
	return `/watch?${params.join('&')}`;
}

/** Stream ids from `?streams=a,b`: trimmed, de-duplicated, at most {@link MAX_WALL_TILES}. */
export function parseIds(value: string | null | undefined): string[] {
	const ids: string[] = [];
	for (const raw of (value ?? '').split(',')) {
		const id = raw.trim();
		if (id && !ids.includes(id)) ids.push(id);
	}
	return ids.slice(0, MAX_WALL_TILES);
}

/** `items` with the entries at `a` and `b` exchanged (a copy; out-of-range indices change nothing). */
export function swap<T>(items: T[], a: number, b: number): T[] {
	const next = [...items];
	if (a === b || a < 0 || b < 0 || a >= next.length || b >= next.length) return next;
	[next[a], next[b]] = [next[b] as T, next[a] as T];
	return next;
}

// --- sizing -------------------------------------------------------------------------------------

/** Where a slot sits in the CSS grid (1-based lines). */
export interface Placement {
	column: number;
	row: number;
	rowSpan: number;
	columnSpan: number;
}

/** The grid for a layout: track sizes in px and each slot's place. */
export interface WallGeometry {
	/** One column (phone): tiles stacked at full width, the page scrolls. */
	stacked: boolean;
	columns: number[];
	/** Width and height the tiles take together. */
	width: number;
	height: number;
	slots: Placement[];
}

export interface WallSpace {
	/** Width available to the wall. */
	width: number;
	/** Height available before the page would scroll. */
	height: number;
	/** Gap between tiles. */
	gap: number;
	/** Height of a tile that is not picture: its control bar, the wall's tile header. */
	chrome: number;
	/** The same for the small tiles of "1+3" (their control bars may wrap); default `chrome`. */
	smallChrome?: number;
	/** Below this width: one column. */
	stackBelow?: number;
}

const RATIO = 9 / 16;

/**
 * Sizes 16:9 tiles for `layout` so the wall fits `space` in both directions: each tile is as
 * wide as the width allows, unless the rows would then be taller than the height allows. "1+3"
 * is one big tile over a row of three small ones. Below
 * `stackBelow` px the tiles stack in one column at full width (a phone scrolls instead).
 */
export function fitWall(layout: Exclude<WallLayout, 'auto'>, space: WallSpace): WallGeometry {
	const { width, gap, chrome } = space;
	const height = Math.max(space.height, 120);
	const n = capacity(layout);
	if (width < (space.stackBelow ?? 640)) {
		const w = Math.floor(width);
		const h = w * RATIO + chrome;
		return {
			stacked: true,
			columns: [w],
			width: w,
			height: Math.round(n * h + (n - 1) * gap),
			slots: Array.from({ length: n }, (_, i) => ({ column: 1, row: i + 1, rowSpan: 1, columnSpan: 1 }))
		};
	}
	if (layout === '1+3') {
		// One big tile over a row of three small ones, as wide as the row. Small width s:
		// big width B = 3s + 2·gap; height = B·r + chrome + gap + s·r + cs ≤ height. The small
		// tiles' chrome counts once (their control bars wrap when narrow), so a measured `cs`
		// feeds back only weakly and the sizing settles.
		const cs = space.smallChrome ?? chrome;
		const byWidth = (width - 2 * gap) / 3;
		const byHeight = ((height - chrome - cs - gap) / RATIO - 2 * gap) / 4;
		const s = Math.max(40, Math.floor(Math.min(byWidth, byHeight)));
		const big = 3 * s + 2 * gap;
		return {
			stacked: false,
			columns: [s, s, s],
			width: big,
			height: Math.ceil(big * RATIO + chrome + gap + s * RATIO + cs),
			slots: [{ column: 1, row: 1, rowSpan: 1, columnSpan: 3 }, ...[1, 2, 3].map((column) => ({ column, row: 2, rowSpan: 1, columnSpan: 1 }))]
		};
	}
	const cols = { '1': 1, '2': 2, '2x2': 2, '3x3': 3 }[layout];
	const rows = Math.ceil(n / cols);
	const byWidth = (width - (cols - 1) * gap) / cols;
	const byHeight = ((height - (rows - 1) * gap) / rows - chrome) / RATIO;
	const w = Math.max(40, Math.floor(Math.min(byWidth, byHeight)));
	return {
		stacked: false,
		columns: Array(cols).fill(w),
		width: cols * w + (cols - 1) * gap,
		height: Math.ceil(rows * (w * RATIO + chrome) + (rows - 1) * gap),
		slots: Array.from({ length: n }, (_, i) => ({ column: (i % cols) + 1, row: Math.floor(i / cols) + 1, rowSpan: 1, columnSpan: 1 }))
	};
}

// @ts-check
/**
 * The glue between an extractor object and the component's exports: `info()` as is,
 * `extract(session, settings)` with settings wrapped in {@link Settings}, candidates normalised
 * to the WIT record (headers as pairs, `expiresAt` a `bigint`), and every thrown error turned
 * into an `extract-error` (an {@link ExtractError} keeps its step; anything else is `other`).
 * The build's entry module calls {@link exportExtractor}; the replay harness calls the same
 * wrapper, so tests see what the host sees.
 * @module
 */

import { ExtractError, Step } from './errors.js';
import { setHost } from './host.js';

/** The `settings` table of a `[[source]]`, as handed to the extractor. */
export class Settings {
  /** @param {[string, string][] | Record<string, string>} [pairs] */
  constructor(pairs = []) {
    /** @type {[string, string][]} */
    this.pairs = Array.isArray(pairs) ? pairs.map(([k, v]) => [k, v]) : Object.entries(pairs);
  }

  /**
   * The value of `key`, trimmed, if set and not blank; else `null`.
   * @param {string} key
   */
  get(key) {
    const value = this.pairs.find(([k]) => k === key)?.[1].trim();
    return value ? value : null;
  }

  /**
   * The value of `key`, or throws an {@link ExtractError} at step `other` naming the setting.
   * @param {string} key
   */
  require(key) {
    const value = this.get(key);
    if (value === null) throw new ExtractError(Step.Other, `missing setting \`${key}\``);
    return value;
  }
}

/**
 * @typedef {object} Extractor
 * @property {() => import('./types.js').PluginInfo} info Who the plugin is; must not fetch.
 * @property {(session: import('./types.js').SessionRef, settings: Settings) =>
 *   import('./types.js').StreamCandidate[] | Promise<import('./types.js').StreamCandidate[]>} extract
 */

/**
 * Declares an extractor (identity function, for types and readability).
 * @template {Extractor} T
 * @param {T} extractor
 * @returns {T}
 */
export function defineExtractor(extractor) {
  return extractor;
}

/**
 * @param {import('./types.js').StreamCandidate} c
 * @returns {{url: string, label: string, headers: [string, string][], expiresAt: bigint | undefined}}
 */
function candidate(c) {
  const headers = Array.isArray(c.headers) ? c.headers : Object.entries(c.headers ?? {});
  const expires = c.expiresAt ?? undefined;
  return {
    url: String(c.url),
    label: String(c.label ?? ''),
    headers: headers.map(([k, v]) => [String(k), String(v)]),
    expiresAt: expires === undefined ? undefined : BigInt(expires),
  };
}

/**
 * A thrown value as the WIT `extract-error` payload.
 * @param {unknown} e
 */
export function toExtractError(e) {
  if (e instanceof ExtractError) return new ExtractError(e.step, e.detail);
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new ExtractError(Step.Other, `uncaught ${what}`);
}

/**
 * The `info` and `extract` exports for `extractor`.
 * @param {Extractor} extractor
 */
export function exportExtractor(extractor) {
  return {
    info: () => {
      const i = extractor.info();
      return { id: i.id, name: i.name, version: i.version, allowedHosts: [...i.allowedHosts] };
    },
    /**
     * @param {import('./types.js').SessionRef} session
     * @param {[string, string][]} settings
     */
    extract: (session, settings) => {
      const fail = (/** @type {unknown} */ e) => {
        throw toExtractError(e);
      };
      try {
        const found = extractor.extract(session, new Settings(settings));
        if (found && typeof (/** @type {any} */ (found).then) === 'function') {
          return /** @type {Promise<any>} */ (found).then((list) => list.map(candidate), fail);
        }
        return /** @type {import('./types.js').StreamCandidate[]} */ (found).map(candidate);
      } catch (e) {
        return fail(e);
      }
    },
  };
}

export { setHost };

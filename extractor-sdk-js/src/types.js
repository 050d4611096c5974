// @ts-check
/**
 * The WIT types as JavaScript sees them (ComponentizeJS's mapping of `wit/extractor.wit`):
 * records are objects with camelCase fields, `list<u8>` is a `Uint8Array`, `u64` is a `bigint`,
 * `option<T>` is `T | undefined`, enums are their kebab-case names.
 * @module
 */

/** @typedef {'trace' | 'debug' | 'info' | 'warn' | 'error'} Level */
/** @typedef {'request' | 'token-parse' | 'url-extraction' | 'not-live' | 'other'} StepName */
/** @typedef {[string, string]} Header */
/**
 * @typedef {object} Request
 * @property {string} method
 * @property {string} url
 * @property {Header[]} headers
 * @property {Uint8Array} [body]
 */
/**
 * @typedef {object} Response
 * @property {number} status
 * @property {string} finalUrl
 * @property {Header[]} headers
 * @property {Uint8Array} body
 */
/**
 * @typedef {object} PluginInfo
 * @property {string} id Stable id `[[source]] extractor = "…"` refers to.
 * @property {string} name Human name of the site.
 * @property {string} version Semver of the plugin.
 * @property {string[]} allowedHosts Hosts `fetch` may reach; `*.example.com` matches subdomains.
 */
/**
 * @typedef {object} SessionRef
 * @property {string} id
 * @property {string} kind
 * @property {number} season
 * @property {number} round
 * @property {string} eventName
 * @property {bigint} [start]
 */
/**
 * @typedef {object} StreamCandidate
 * @property {string} url Absolute URL of an HLS playlist.
 * @property {string} label
 * @property {Header[] | Record<string, string>} [headers] Sent upstream by the relay only.
 * @property {number | bigint} [expiresAt] Unix seconds UTC.
 */
/**
 * @typedef {{tag: 'host-not-allowed' | 'address-blocked' | 'invalid-url' | 'transport', val: string}
 *   | {tag: 'timeout', val?: undefined} | {tag: 'too-large', val: bigint | number}} FetchErrorPayload
 */
export {};

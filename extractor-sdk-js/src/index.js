// @ts-check
/**
 * pitwall extractor SDK for JavaScript: write a site extractor as one object with `info()` and
 * `extract(session, settings)`, test it in Node against recorded exchanges
 * (`@pitwall/extractor-sdk/replay`), and build it to a WebAssembly component
 * (`pitwall-extractor-build`). Mirrors the Rust SDK (`extractor-sdk/`): the same helpers, the
 * same error steps and details, the same finders (checked by the shared vectors), the same
 * fixture format.
 *
 * ```js
 * import { defineExtractor, http, find, error, Step } from '@pitwall/extractor-sdk';
 * export default defineExtractor({
 *   info: () => ({ id: 'my-site', name: 'My Site', version: '0.1.0', allowedHosts: ['my-site.example'] }),
 *   extract(session, settings) {
 *     const page = http.get(settings.require('page')).ensureSuccess();
 *     const url = find.m3u8Urls(page.text())[0];
 *     if (!url) throw error(Step.UrlExtraction, 'no playlist on the page');
 *     return [{ url, label: 'Main feed', headers: { Referer: page.finalUrl } }];
 *   },
 * });
 * ```
 * @module
 */

import { host } from './host.js';

export * as http from './http.js';
export * as find from './find.js';
export * as codec from './codec.js';
export * as url from './url.js';
export { ExtractError, FetchError, Step, error, describe } from './errors.js';
export { Settings, defineExtractor } from './component.js';

/** The WIT API version this SDK builds against (the WIT package version). */
export const API_VERSION = '0.1.0';

/**
 * Writes a log line through the host (tagged with the plugin and the call); stderr in Node.
 * @param {import('./types.js').Level} level
 * @param {string} message
 */
export function log(level, message) {
  host().log(level, String(message));
}

/** Current time in Unix milliseconds UTC, from the host's clock (a `number`). */
export function nowMillis() {
  return Number(host().now());
}

/**
 * Whether `url` is an absolute `http://` or `https://` URL with a host (same rule as Rust).
 * @param {string} url
 */
export function isHttpUrl(url) {
  const rest = url.startsWith('https://') ? url.slice(8) : url.startsWith('http://') ? url.slice(7) : null;
  return rest !== null && rest !== '' && !rest.startsWith('/') && !/\s/.test(rest);
}

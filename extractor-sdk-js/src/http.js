// @ts-check
/**
 * HTTP through the host's `fetch`, the only way a guest reaches the network. The host enforces
 * the plugin's declared hosts, the SSRF guard, timeouts and the body cap, follows redirects and
 * keeps one cookie jar per call. Calls are synchronous (the host import is). In Node tests the
 * same functions answer from the active replay.
 * @module
 */

import { ExtractError, FetchError, Step, describe, error } from './errors.js';
import { host } from './host.js';
import { utf8 } from './codec.js';
import { redact } from './url.js';

/** A current desktop browser's `User-Agent`, for sites and CDNs that refuse anything else. */
export const BROWSER_USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

/** @typedef {import('./types.js').Header} Header */
/** @typedef {Header[] | Record<string, string>} Headers Pairs, or an object of name → value. */

/**
 * @param {Headers | undefined} headers
 * @returns {Header[]}
 */
function pairs(headers) {
  if (!headers) return [];
  const list = Array.isArray(headers) ? headers : Object.entries(headers);
  return list.map(([k, v]) => [String(k), String(v)]);
}

/** What came back, after the host followed redirects, with the Rust SDK's `ResponseExt`. */
export class Response {
  /** @param {import('./types.js').Response} raw */
  constructor(raw) {
    /** Final HTTP status. */
    this.status = raw.status;
    /** URL after redirects; resolve relative links against this. */
    this.finalUrl = raw.finalUrl;
    /** @type {Header[]} lower-case names */
    this.headers = raw.headers;
    /** Decoded body. */
    this.body = raw.body instanceof Uint8Array ? raw.body : new Uint8Array(raw.body ?? []);
  }

  /** The body as text (invalid UTF-8 replaced by U+FFFD). */
  text() {
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(this.body);
  }

  /**
   * The first value of header `name` (case-insensitive), or `null`.
   * @param {string} name
   */
  header(name) {
    const n = name.toLowerCase();
    return this.headers.find(([k]) => k.toLowerCase() === n)?.[1] ?? null;
  }

  /**
   * Every value of header `name` (case-insensitive), e.g. all `set-cookie` lines.
   * @param {string} name
   */
  headersNamed(name) {
    const n = name.toLowerCase();
    return this.headers.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
  }

  /** Whether the status is 2xx. */
  isSuccess() {
    return this.status >= 200 && this.status < 300;
  }

  /**
   * The response itself if the status is 2xx, else throws an {@link ExtractError} at step
   * `request` naming the URL (query redacted), the status and the start of the body.
   */
  ensureSuccess() {
    if (this.isSuccess()) return this;
    const snippet = [...this.text().split(/\s+/).filter(Boolean).join(' ')].slice(0, 160).join('');
    let detail = `${redact(this.finalUrl)} answered ${this.status}`;
    if (snippet) detail += `: ${snippet}`;
    throw error(Step.Request, detail);
  }

  /**
   * The body parsed as JSON, or throws an {@link ExtractError} at `step` (the step depends on
   * what the JSON was for, e.g. `token-parse` for a token API).
   * @param {import('./types.js').StepName} step
   * @returns {any}
   */
  json(step) {
    const text = utf8(this.body);
    try {
      if (text === null) throw new Error('not UTF-8');
      return JSON.parse(text);
    } catch (e) {
      throw error(step, `${redact(this.finalUrl)} answered invalid JSON: ${/** @type {Error} */ (e).message}`);
    }
  }
}

/**
 * A request with `method`, `url`, extra `headers` and an optional `body`.
 * @param {string} method
 * @param {string} url
 * @param {Headers} [headers]
 * @param {Uint8Array | string} [body]
 * @returns {import('./types.js').Request}
 */
export function request(method, url, headers, body) {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  return { method, url, headers: pairs(headers), body: bytes };
}

/**
 * Sends `request` and returns the host's answer as is; a refused or failed fetch throws a
 * {@link FetchError}.
 * @param {import('./types.js').Request} req
 * @returns {Response}
 */
export function fetch(req) {
  try {
    return new Response(host().fetch(req));
  } catch (e) {
    const payload = /** @type {any} */ (e)?.payload;
    if (payload && typeof payload.tag === 'string') throw new FetchError(payload);
    throw e;
  }
}

/**
 * Sends `request`; a refused or failed fetch becomes an {@link ExtractError} at step `request`
 * naming the method, the URL (query redacted) and the host's reason. Any status is returned.
 * @param {import('./types.js').Request} req
 */
export function send(req) {
  try {
    return fetch(req);
  } catch (e) {
    if (e instanceof FetchError) {
      throw error(Step.Request, `${req.method} ${redact(req.url)}: ${describe(/** @type {any} */ (e))}`);
    }
    throw e;
  }
}

/**
 * `GET url` with extra headers.
 * @param {string} url
 * @param {Headers} [headers]
 */
export function get(url, headers) {
  return send(request('GET', url, headers));
}

/**
 * `POST url` with `body` as JSON; adds `Content-Type: application/json` unless given.
 * @param {string} url
 * @param {Headers | undefined} headers
 * @param {unknown} body
 */
export function postJson(url, headers, body) {
  let json;
  try {
    json = JSON.stringify(body);
  } catch (e) {
    throw error(Step.Other, `cannot encode the JSON body for ${redact(url)}: ${/** @type {Error} */ (e).message}`);
  }
  return send(withContentType(request('POST', url, headers, json), 'application/json'));
}

/**
 * `POST url` with `fields` as an `application/x-www-form-urlencoded` body; adds that
 * `Content-Type` unless given.
 * @param {string} url
 * @param {Headers | undefined} headers
 * @param {Header[] | Record<string, string>} fields
 */
export function postForm(url, headers, fields) {
  const body = new URLSearchParams(pairs(fields)).toString();
  return send(withContentType(request('POST', url, headers, body), 'application/x-www-form-urlencoded'));
}

/**
 * @param {import('./types.js').Request} req
 * @param {string} contentType
 */
function withContentType(req, contentType) {
  if (!req.headers.some(([k]) => k.toLowerCase() === 'content-type')) {
    req.headers.push(['Content-Type', contentType]);
  }
  return req;
}

export { ExtractError, FetchError };

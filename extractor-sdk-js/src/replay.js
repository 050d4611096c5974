// @ts-check
/**
 * Replay harness: run an extractor in Node (`node --test`) against HTTP exchanges recorded in a
 * fixture file, with no network and no host. The fixture format and the matching rules are the
 * Rust harness's (`extractor-sdk/src/replay.rs`), so one fixture serves both SDKs:
 *
 * - a JSON array of `{"note"?, "request": {method, url, headers?}, "response": {status,
 *   headers?, body? | body_base64?, final_url?}}`; unknown fields are refused;
 * - a request matches by method (case-insensitive) and exact URL, then by the recorded request
 *   headers as a required subset (names case-insensitive, values exact; for `cookie` every
 *   recorded `name=value` pair must be present); the first unused match wins, then the first;
 * - one cookie jar per {@link Replay#run}: `set-cookie` (its `Path` honoured, `Max-Age=0`
 *   deleting) becomes a `cookie` header on later requests to the same host;
 * - an unmatched request is a `transport` fetch error "no recorded exchange for GET url" (plus
 *   the differing header); {@link Replay#unused} lists exchanges never asked for.
 *
 * ```js
 * import { test } from 'node:test';
 * import { Replay } from '@pitwall/extractor-sdk/replay';
 * import mySite from '../src/extractor.js';
 * test('finds the main feed', async () => {
 *   const replay = Replay.fromFile('fixtures/watch-main.json');
 *   const found = await replay.extract(mySite, { page: 'http://…' });
 *   assert.deepEqual(replay.unused(), []);
 * });
 * ```
 * @module
 */

import { readFileSync } from 'node:fs';
import { base64Decode } from './codec.js';
import { exportExtractor } from './component.js';
import { setHost } from './host.js';

/** Why a fixture could not be loaded. */
export class ReplayError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'ReplayError';
  }
}

/**
 * @typedef {object} Exchange
 * @property {string} method
 * @property {string} url
 * @property {[string, string][]} required
 * @property {import('./types.js').Response} response
 */
/** @typedef {{host: string, path: string, name: string, value: string}} Cookie */

/**
 * @param {unknown} value
 * @param {string[]} allowed
 * @param {string} what
 */
function onlyKeys(value, allowed, what) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${what} is not an object`);
  const unknown = Object.keys(value).find((k) => !allowed.includes(k));
  if (unknown) throw new Error(`unknown field \`${unknown}\` in ${what}, expected one of ${allowed.join(', ')}`);
  return /** @type {Record<string, any>} */ (value);
}

/**
 * @param {unknown} file
 * @returns {Exchange}
 */
function exchange(file) {
  const f = onlyKeys(file, ['note', 'request', 'response'], 'exchange');
  const req = onlyKeys(f.request, ['method', 'url', 'headers'], '`request`');
  const res = onlyKeys(f.response, ['status', 'headers', 'body', 'body_base64', 'final_url'], '`response`');
  if (typeof req.method !== 'string' || typeof req.url !== 'string') throw new Error('`request` needs `method` and `url`');
  if (!Number.isInteger(res.status)) throw new Error('`response.status` is not a number');
  let body;
  if (res.body !== undefined && res.body_base64 !== undefined) throw new Error('give `body` or `body_base64`, not both');
  if (res.body_base64 !== undefined) {
    body = base64Decode(String(res.body_base64));
    if (body === null) throw new Error('`body_base64` is not base64');
  } else {
    body = new TextEncoder().encode(res.body ?? '');
  }
  /** @type {[string, string][]} */
  const headers = [];
  for (const [name, values] of Object.entries(res.headers ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (const v of Array.isArray(values) ? values : [values]) headers.push([name.toLowerCase(), String(v)]);
  }
  return {
    method: req.method.toUpperCase(),
    url: req.url,
    required: Object.entries(req.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
    response: { status: res.status, finalUrl: res.final_url ?? req.url, headers, body },
  };
}

/** Recorded HTTP exchanges that answer the SDK's `http` calls made inside {@link Replay#run}. */
export class Replay {
  /** @param {Exchange[]} exchanges */
  constructor(exchanges) {
    /** @type {Exchange[]} */
    this.exchanges = exchanges;
    /** @type {boolean[]} */
    this.used = exchanges.map(() => false);
    /** @type {Cookie[]} */
    this.jar = [];
    /** @type {import('./types.js').Request[]} */
    this.seen = [];
  }

  /**
   * Loads a fixture file (relative paths from the current directory, which `npm test` sets to
   * the package root).
   * @param {string} path
   */
  static fromFile(path) {
    let text;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new ReplayError(`cannot read fixture ${path}: ${/** @type {Error} */ (e).message}`);
    }
    try {
      return Replay.fromJson(text);
    } catch (e) {
      throw new ReplayError(`fixture ${path}: ${/** @type {Error} */ (e).message}`);
    }
  }

  /**
   * Parses fixture text (a JSON array of exchanges).
   * @param {string} text
   */
  static fromJson(text) {
    let files;
    try {
      files = JSON.parse(text);
    } catch (e) {
      throw new ReplayError(`not a list of exchanges: ${/** @type {Error} */ (e).message}`);
    }
    if (!Array.isArray(files)) throw new ReplayError('not a list of exchanges: not a JSON array');
    return new Replay(
      files.map((f, i) => {
        try {
          return exchange(f);
        } catch (e) {
          throw new ReplayError(`exchange ${i}: ${/** @type {Error} */ (e).message}`);
        }
      }),
    );
  }

  /**
   * Runs `f` with the SDK's `http` answered from this replay, with a fresh cookie jar, as one
   * host call. Runs must not overlap (node:test runs a file's tests one at a time).
   * @template T
   * @param {() => T | Promise<T>} f
   * @returns {Promise<T>}
   */
  async run(f) {
    this.jar = [];
    const previous = setHost({
      fetch: (req) => this.#fetch(req),
      log: (level, message) => process.stderr.write(`[${level}] ${message}\n`),
      now: () => BigInt(Date.now()),
    });
    try {
      return await f();
    } finally {
      setHost(previous);
    }
  }

  /**
   * Runs `extractor.extract` inside {@link Replay#run} through the same wrapper as the
   * component: settings wrapped, candidates normalised (`expiresAt` a `bigint`), and any thrown
   * error an `ExtractError` (non-SDK errors at step `other`).
   * @param {import('./component.js').Extractor} extractor
   * @param {[string, string][] | Record<string, string>} [settings]
   * @param {import('./types.js').SessionRef} [sessionRef]
   */
  extract(extractor, settings = [], sessionRef = session()) {
    const pairs = Array.isArray(settings) ? settings : Object.entries(settings);
    return this.run(() => exportExtractor(extractor).extract(sessionRef, pairs));
  }

  /** `METHOD url` of every recorded exchange no request has matched yet. */
  unused() {
    return this.exchanges.filter((_, i) => !this.used[i]).map((e) => `${e.method} ${e.url}`);
  }

  /** Every request made so far, as sent (the jar's `cookie` header included). */
  requests() {
    return this.seen.map((r) => ({ ...r, headers: r.headers.map(([k, v]) => [k, v]) }));
  }

  /**
   * @param {import('./types.js').Request} request
   * @returns {import('./types.js').Response}
   */
  #fetch(request) {
    /** @param {string} tag @param {string} val */
    const refuse = (tag, val) => {
      const e = new Error(val);
      /** @type {any} */ (e).payload = { tag, val };
      return e;
    };
    let url;
    try {
      url = new URL(request.url);
    } catch (e) {
      throw refuse('invalid-url', `${request.url}: ${/** @type {Error} */ (e).message}`);
    }
    const host = url.hostname.toLowerCase();
    const sent = { ...request, headers: request.headers.map(([k, v]) => /** @type {[string, string]} */ ([k, v])) };
    const cookies = this.jar
      .filter((c) => c.host === host && url.pathname.startsWith(c.path))
      .map((c) => `${c.name}=${c.value}`);
    if (cookies.length) sent.headers.push(['cookie', cookies.join('; ')]);
    this.seen.push(sent);

    const method = request.method.toUpperCase();
    const sameUrl = this.exchanges.flatMap((e, i) => (e.method === method && e.url === request.url ? [i] : []));
    const matching = sameUrl.filter((i) => missingHeader(this.exchanges[i], sent) === null);
    const index = matching.find((i) => !this.used[i]) ?? matching[0];
    if (index === undefined) {
      let why = `no recorded exchange for ${method} ${request.url}`;
      const difference = sameUrl.length ? missingHeader(this.exchanges[sameUrl[0]], sent) : null;
      if (difference !== null) why += ` with these headers (${difference})`;
      throw refuse('transport', why);
    }
    this.used[index] = true;
    const response = this.exchanges[index].response;
    for (const [k, v] of response.headers) {
      if (k === 'set-cookie') storeCookie(this.jar, host, v);
    }
    return { ...response, headers: response.headers.map(([k, v]) => [k, v]), body: response.body.slice() };
  }
}

/**
 * The first required header `sent` lacks, described; `null` if all are there.
 * @param {Exchange} exchange
 * @param {import('./types.js').Request} sent
 */
function missingHeader(exchange, sent) {
  for (const [name, want] of exchange.required) {
    const have = sent.headers.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v);
    let ok;
    if (name === 'cookie') {
      const pairs = have.flatMap((v) => v.split(';')).map((p) => p.trim());
      ok = want.split(';').map((p) => p.trim()).filter(Boolean).every((p) => pairs.includes(p));
    } else {
      ok = have.includes(want);
    }
    if (!ok) {
      return have.length === 0
        ? `missing ${name}: ${want}`
        : `${name} is ${JSON.stringify(have.join(', '))}, recorded ${JSON.stringify(want)}`;
    }
  }
  return null;
}

/**
 * @param {Cookie[]} jar
 * @param {string} host
 * @param {string} line
 */
export function storeCookie(jar, host, line) {
  const [first, ...attributes] = line.split(';');
  const eq = first.indexOf('=');
  if (eq < 0) return;
  const name = first.slice(0, eq).trim();
  const value = first.slice(eq + 1).trim();
  let path = '/';
  let remove = false;
  for (const attribute of attributes) {
    const at = attribute.indexOf('=');
    const key = (at < 0 ? attribute : attribute.slice(0, at)).trim().toLowerCase();
    const val = at < 0 ? '' : attribute.slice(at + 1).trim();
    if (key === 'path' && val.startsWith('/')) path = val;
    if (key === 'max-age') remove = /^[-+]?\d+$/.test(val) && Number(val) <= 0;
  }
  const keep = jar.filter((c) => !(c.host === host && c.path === path && c.name === name));
  jar.splice(0, jar.length, ...keep);
  if (!remove) jar.push({ host, path, name, value });
}

/**
 * A plausible session to pass to `extract` in tests: the demo season's live race.
 * @returns {import('./types.js').SessionRef}
 */
export function session() {
  return { id: '9999-01-race', kind: 'race', season: 9999, round: 1, eventName: 'Demo Grand Prix', start: undefined };
}

// @ts-check
/**
 * The host's imports (`fetch`, `log`, `now` of `pitwall:extractor/host`), reached through one
 * seam: inside a component the build's entry module installs the real imports with
 * {@link setHost}; in Node tests the replay harness installs its own for the length of a run,
 * and outside a run logs go to stderr, the clock is the system's, and fetches fail.
 * @module
 */

/**
 * @typedef {object} Host
 * @property {(request: import('./types.js').Request) => import('./types.js').Response} fetch
 *   Throws an error whose `payload` is the WIT `fetch-error` (`{tag, val}`) when refused.
 * @property {(level: import('./types.js').Level, message: string) => void} log
 * @property {() => bigint} now Unix milliseconds UTC.
 */

/** @type {Host} */
const native = {
  fetch(request) {
    const e = new Error('no host');
    /** @type {any} */ (e).payload = {
      tag: 'transport',
      val: `no replay active for ${request.method} ${request.url} (in Node, fetches are answered inside Replay.run)`,
    };
    throw e;
  },
  log(level, message) {
    process.stderr.write(`[${level}] ${message}\n`);
  },
  now() {
    return BigInt(Date.now());
  },
};

/** @type {Host} */
let current = native;

/**
 * Installs `host` as the host every helper talks to; returns the one it replaces.
 * @param {Host | null} host `null` restores the Node stand-ins.
 * @returns {Host}
 */
export function setHost(host) {
  const previous = current;
  current = host ?? native;
  return previous;
}

/** The host helpers talk to now. @returns {Host} */
export function host() {
  return current;
}

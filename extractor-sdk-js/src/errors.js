// @ts-check
/**
 * Errors: {@link ExtractError} is what `extract` fails with (a step and a detail, the WIT
 * `extract-error`); {@link FetchError} is a refused or failed host `fetch`.
 * @module
 */

/** The steps of an extraction, as the WIT `step` enum names them. */
export const Step = Object.freeze({
  /** A request failed or answered an unexpected status. */
  Request: 'request',
  /** A token, cookie or CSRF value could not be read. */
  TokenParse: 'token-parse',
  /** No playlist URL could be found or decoded. */
  UrlExtraction: 'url-extraction',
  /** The site says nothing is live right now. */
  NotLive: 'not-live',
  /** Anything else (bad settings, …). */
  Other: 'other',
});

const STEPS = new Set(Object.values(Step));

/** An extraction failure: which step, and what happened. Throw it from `extract`. */
export class ExtractError extends Error {
  /**
   * @param {import('./types.js').StepName} step
   * @param {string} detail
   */
  constructor(step, detail) {
    if (!STEPS.has(step)) throw new TypeError(`not a step: ${JSON.stringify(step)}`);
    super(`${step}: ${detail}`);
    this.name = 'ExtractError';
    /** @type {import('./types.js').StepName} */
    this.step = step;
    this.detail = String(detail);
    // ComponentizeJS turns a thrown error's `payload` into the `err` of a `result`.
    this.payload = { step, detail: this.detail };
  }
}

/**
 * An {@link ExtractError} for `step`.
 * @param {import('./types.js').StepName} step
 * @param {string} detail
 */
export function error(step, detail) {
  return new ExtractError(step, detail);
}

/** A refused or failed host `fetch` (the WIT `fetch-error`). */
export class FetchError extends Error {
  /** @param {import('./types.js').FetchErrorPayload} payload */
  constructor(payload) {
    super(describe(payload));
    this.name = 'FetchError';
    /** @type {string} */
    this.tag = payload.tag;
    this.val = payload.val;
  }
}

/**
 * One readable line for a refused or failed fetch, worded like the Rust SDK's.
 * @param {import('./types.js').FetchErrorPayload} e
 */
export function describe(e) {
  switch (e.tag) {
    case 'host-not-allowed':
      return `host not allowed: ${e.val}`;
    case 'address-blocked':
      return `address blocked: ${e.val}`;
    case 'invalid-url':
      return `invalid URL: ${e.val}`;
    case 'timeout':
      return 'timed out';
    case 'too-large':
      return `body larger than the host's cap of ${e.val} bytes`;
    case 'transport':
      return `transport: ${e.val}`;
    default:
      return `fetch failed: ${JSON.stringify(e)}`;
  }
}

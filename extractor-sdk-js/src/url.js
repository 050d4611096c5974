// @ts-check
/** URLs: resolve links against the page's final URL, name an origin, redact queries. @module */

/**
 * Resolves `relative` against `base` as a browser does; `null` if `base` is not absolute or the
 * result is not http(s).
 * @param {string} base
 * @param {string} relative
 * @returns {string | null}
 */
export function join(base, relative) {
  try {
    const joined = new URL(relative.trim(), new URL(base));
    return joined.protocol === 'http:' || joined.protocol === 'https:' ? joined.href : null;
  } catch {
    return null;
  }
}

/**
 * `scheme://host[:port]` of `url` (what a browser sends as `Origin`), if it is absolute.
 * @param {string} url
 * @returns {string | null}
 */
export function origin(url) {
  try {
    const parsed = new URL(url);
    return parsed.host ? parsed.origin : null;
  } catch {
    return null;
  }
}

/**
 * The host name of `url`, lower-case, without port.
 * @param {string} url
 * @returns {string | null}
 */
export function host(url) {
  try {
    return new URL(url).hostname.toLowerCase() || null;
  } catch {
    return null;
  }
}

/**
 * `url` with the query reduced to `?…`, for error details and logs (tokens live in queries).
 * @param {string} url
 */
export function redact(url) {
  const at = url.indexOf('?');
  return at < 0 ? url : `${url.slice(0, at)}?…`;
}

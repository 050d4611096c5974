// @ts-check
/**
 * `demo-site` extractor in JavaScript: Demo TV, the testbed's browser-only streaming site. A
 * port of the Rust `extractors/demo-site`, step for step and error for error:
 *
 * 1. `GET settings.page` (a watch page); the host keeps the session cookie. Non-2xx or fetch
 *    failure: `request`.
 * 2. Read the CSRF token from `<meta name="csrf-token">`. Missing: `token-parse`.
 * 3. `POST` the page's token API with `{"feed": …}`, the cookie (added by the host),
 *    `X-CSRF-Token`, the watch page as `Referer`. Non-2xx: `request`; not JSON: `token-parse`.
 * 4. Decode `player` (`var _0x4f2a = "<reversed base64 of the URL>"`). Missing or undecodable:
 *    `url-extraction`.
 *
 * Settings: `page` (required), `label` (optional; default `Demo TV <feed>`).
 */

import { Step, codec, defineExtractor, error, find, http, isHttpUrl, url } from '@pitwall/extractor-sdk';

/** Name of the JS variable the token API hides the playlist URL in. */
const PLAYER_VAR = '_0x4f2a';
/** Where the token API lives when the page does not say. */
const DEFAULT_TOKEN_API = '/demo-tv/api/token';

/**
 * The CSRF token of a watch page.
 * @param {string} html
 * @param {string} page
 */
export function csrfToken(html, page) {
  const token = find.metaContent(html, 'csrf-token');
  if (!token) throw error(Step.TokenParse, `no CSRF token (<meta name="csrf-token">) in ${url.redact(page)}`);
  return token;
}

/**
 * The channel a watch page plays: the player's `data-channel`, else the URL's last segment.
 * @param {string} html
 * @param {string} page
 */
export function feedName(html, page) {
  const fromPlayer = find.attrValues(html, 'video', 'data-channel')[0];
  if (fromPlayer) return fromPlayer;
  const last = page.split(/[?#]/)[0].split('/').pop();
  if (last && !last.includes(':')) return last;
  throw error(Step.Other, `cannot tell which channel ${url.redact(page)} plays`);
}

/**
 * The token API the page's script calls (`fetch('…/api/token'`), absolute.
 * @param {string} html
 * @param {string} page
 */
export function tokenApiUrl(html, page) {
  let path = find.between(html, "fetch('", "'") ?? find.between(html, 'fetch("', '"');
  if (!path || !path.includes('token')) path = DEFAULT_TOKEN_API;
  const api = url.join(page, path);
  if (!api) throw error(Step.Other, `bad token API path ${JSON.stringify(path)}`);
  return api;
}

/**
 * The playlist URL and its expiry from the token API's answer.
 * @param {any} answer
 * @returns {{playlist: string, expiresAt: number | undefined}}
 */
export function playlistFromAnswer(answer) {
  const player = answer?.player;
  if (typeof player !== 'string') {
    throw error(Step.UrlExtraction, 'token API answer has no `player` (the obfuscated playlist URL)');
  }
  const blob = find.jsStringVar(player, PLAYER_VAR) ?? find.between(player, '"', '"');
  if (blob === null) throw error(Step.UrlExtraction, '`player` assigns no string');
  const playlist = codec.base64DecodeStr(codec.reverse(blob));
  if (playlist === null || !isHttpUrl(playlist)) {
    throw error(Step.UrlExtraction, '`player` string is not a reversed base64 http(s) URL');
  }
  const expires = answer.expires_at;
  return { playlist, expiresAt: Number.isInteger(expires) && expires >= 0 ? expires : undefined };
}

export default defineExtractor({
  info: () => ({
    id: 'demo-site',
    name: 'Demo TV',
    version: '0.1.0',
    allowedHosts: ['tv.demo.invalid', '*.demo.invalid', '127.0.0.1', 'localhost'],
  }),

  extract(_session, settings) {
    const pageUrl = settings.require('page');
    if (!isHttpUrl(pageUrl)) {
      throw error(Step.Other, `setting \`page\` is not an http(s) URL: ${JSON.stringify(pageUrl)}`);
    }
    const ua = http.BROWSER_USER_AGENT;
    const page = http.get(pageUrl, { 'User-Agent': ua, Accept: 'text/html' }).ensureSuccess();
    const watchUrl = page.finalUrl;
    const html = page.text();
    const csrf = csrfToken(html, watchUrl);
    const feed = feedName(html, watchUrl);
    const api = tokenApiUrl(html, watchUrl);
    const answer = http
      .postJson(
        api,
        [
          ['User-Agent', ua],
          ['Accept', 'application/json'],
          ['X-CSRF-Token', csrf],
          ['Referer', watchUrl],
          ['Origin', url.origin(watchUrl) ?? ''],
        ],
        { feed },
      )
      .ensureSuccess()
      .json(Step.TokenParse);
    const { playlist, expiresAt } = playlistFromAnswer(answer);
    return [
      {
        url: playlist,
        label: settings.get('label') ?? `Demo TV ${feed}`,
        headers: [['Referer', watchUrl], ['User-Agent', ua]],
        expiresAt,
      },
    ];
  },
});

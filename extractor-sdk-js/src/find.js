// @ts-check
/**
 * Finders: pull values out of HTML, JavaScript and JSON text without a browser, mirroring the
 * Rust SDK's `find` module (same patterns, same answers: `extractor-sdk/vectors/find.json` runs
 * against both). Forgiving regular expressions over text, not a DOM; every finder returns
 * unescaped values and never throws: "not found" is `null` or an empty array, so the caller
 * decides which step failed.
 *
 * Not ported yet from Rust: `playlist_refs` and its helpers (`unpack`, `players`, `decode`).
 * @module
 */

import { base64DecodeStr } from './codec.js';

// regex-lite's `\s` is ASCII whitespace; JavaScript's is Unicode. Spell it out to match.
const S = '[\\t\\n\\v\\f\\r ]';

/** @param {string} text */
function escapeRegex(text) {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

const ATTRIBUTE = new RegExp(
  `([A-Za-z_:][-A-Za-z0-9_:.]*)${S}*=${S}*(?:"([^"]*)"|'([^']*)'|([^\\t\\n\\v\\f\\r "'=<>\`]+))`,
  'g',
);
const M3U8_URL = new RegExp(
  `https?://[^\\t\\n\\v\\f\\r "'<>\\\\\`]+?\\.m3u8\\b(?:\\?[^\\t\\n\\v\\f\\r "'<>\\\\\`)]*)?`,
  'gi',
);
const M3U8_REF = new RegExp(`["']([^"'\\t\\n\\v\\f\\r <>\\\\]*?\\.m3u8(?:\\?[^"'\\t\\n\\v\\f\\r <>\\\\]*)?)["']`, 'gi');
const ATOB = new RegExp(`\\batob\\(${S}*(?:"([^"\\\\]*)"|'([^'\\\\]*)')${S}*\\)`, 'g');
const FETCH_CALL = new RegExp(
  `\\bfetch\\(${S}*(?:"((?:[^"\\\\\\n]|\\\\.)+)"|'((?:[^'\\\\\\n]|\\\\.)+)'|\`([^\`$\\\\]+)\`)`,
  'g',
);
const QUOTED_BASE64 = /["']([A-Za-z0-9+/_-]{16,}={0,2})["']/g;
const JSON_LD = new RegExp(
  `<script\\b[^>]*\\btype${S}*=${S}*["']?application/ld\\+json["']?[^>]*>(.*?)</script${S}*>`,
  'gis',
);

/**
 * Start tags `<tag …>` in `html` (case-insensitive), as text.
 * @param {string} html
 * @param {string} tag
 */
function startTags(html, tag) {
  const pattern = new RegExp(`<${escapeRegex(tag)}\\b(?:[^>"']|"[^"]*"|'[^']*')*>`, 'gi');
  return [...html.matchAll(pattern)].map((m) => m[0]);
}

/**
 * The attributes of one start tag: lower-case names, HTML-unescaped values.
 * @param {string} tag
 * @returns {[string, string][]}
 */
function attributes(tag) {
  // Skip the tag name itself so `<meta` is not read as an attribute.
  const body = tag.replace(/^<+/, '').replace(/^[A-Za-z0-9]+/, '');
  return [...body.matchAll(ATTRIBUTE)].map((c) => [
    c[1].toLowerCase(),
    htmlUnescape(c[2] ?? c[3] ?? c[4] ?? ''),
  ]);
}

/**
 * The `content` of the first `<meta>` whose `name`, `property` or `itemprop` is `name`
 * (case-insensitive).
 * @param {string} html
 * @param {string} name
 * @returns {string | null}
 */
export function metaContent(html, name) {
  const wanted = name.toLowerCase();
  for (const tag of startTags(html, 'meta')) {
    const attrs = attributes(tag);
    const named = attrs.some(
      ([k, v]) => (k === 'name' || k === 'property' || k === 'itemprop') && v.toLowerCase() === wanted,
    );
    if (!named) continue;
    const content = attrs.find(([k]) => k === 'content');
    if (content) return content[1];
  }
  return null;
}

/**
 * Every non-blank value of `attr` on `<tag>` elements, in document order, HTML-unescaped and
 * trimmed: `attrValues(html, 'source', 'src')`.
 * @param {string} html
 * @param {string} tag
 * @param {string} attr
 * @returns {string[]}
 */
export function attrValues(html, tag, attr) {
  const wanted = attr.toLowerCase();
  const out = [];
  for (const t of startTags(html, tag)) {
    const found = attributes(t).find(([k]) => k === wanted);
    const value = found?.[1].trim();
    if (value) out.push(value);
  }
  return out;
}

/**
 * Absolute http(s) URLs ending in `.m3u8` (with an optional query) anywhere in `text`; `\/`,
 * `\u002F`, `\u0026` and `&amp;` are unescaped first; duplicates dropped.
 * @param {string} text
 * @returns {string[]}
 */
export function m3u8Urls(text) {
  return dedup([...unescapeUrlText(text).matchAll(M3U8_URL)].map((m) => m[0]));
}

/**
 * Every quoted string ending in `.m3u8`, absolute or relative; resolve with `url.join`.
 * @param {string} text
 * @returns {string[]}
 */
export function m3u8Refs(text) {
  const refs = [...unescapeUrlText(text).matchAll(M3U8_REF)].map((c) => c[1]);
  return dedup(refs.filter((s) => !s.startsWith('.m3u8')));
}

/**
 * The value of the string assigned by `var|let|const name = "…"` (or `'…'`), JS escapes undone.
 * @param {string} js
 * @param {string} name
 * @returns {string | null}
 */
export function jsStringVar(js, name) {
  const pattern = new RegExp(
    `\\b(?:var|let|const)${S}+${escapeRegex(name)}${S}*=${S}*(?:"((?:[^"\\\\\\n]|\\\\.)*)"|'((?:[^'\\\\\\n]|\\\\.)*)')`,
  );
  const c = pattern.exec(js);
  return c ? jsUnescape(c[1] ?? c[2] ?? '') : null;
}

/**
 * The decoded arguments of every `atob("…")` that is base64 of UTF-8 text, in order.
 * @param {string} js
 * @returns {string[]}
 */
export function atobStrings(js) {
  const out = [];
  for (const c of js.matchAll(ATOB)) {
    const decoded = base64DecodeStr(c[1] ?? c[2] ?? '');
    if (decoded !== null) out.push(decoded);
  }
  return out;
}

/**
 * The literal URL arguments of every `fetch("…")` call (as written, often relative).
 * @param {string} js
 * @returns {string[]}
 */
export function fetchUrls(js) {
  return dedup([...js.matchAll(FETCH_CALL)].map((c) => jsUnescape(c[1] ?? c[2] ?? c[3])));
}

// Rust's `char::is_control() && !char::is_whitespace()`.
const CONTROL = /[\u0000-\u0008\u000e-\u001f\u007f-\u0084\u0086-\u009f]/;

/**
 * Quoted string literals of 16+ base64 characters that decode to printable UTF-8, decoded.
 * @param {string} text
 * @returns {string[]}
 */
export function base64Strings(text) {
  const decoded = [...text.matchAll(QUOTED_BASE64)].map((c) => base64DecodeStr(c[1]));
  return dedup(/** @type {string[]} */ (decoded.filter((s) => s !== null && !CONTROL.test(s))));
}

/**
 * Every `<script type="application/ld+json">` block that parses as JSON, in order.
 * @param {string} html
 * @returns {unknown[]}
 */
export function jsonLd(html) {
  const out = [];
  for (const c of html.matchAll(JSON_LD)) {
    try {
      out.push(JSON.parse(c[1].trim()));
    } catch {
      // not JSON: skipped, like the Rust finder
    }
  }
  return out;
}

/**
 * The string values of every `key` at any depth of `value`.
 * @param {unknown} value
 * @param {string} key
 * @returns {string[]}
 */
export function jsonKeyStrings(value, key) {
  /** @type {string[]} */
  const found = [];
  walkJson(value, (k, v) => {
    if (k === key && typeof v === 'string') found.push(v);
  });
  return found;
}

/**
 * Every string at any depth of `value`, in document order.
 * @param {unknown} value
 * @returns {string[]}
 */
export function jsonStrings(value) {
  /** @type {string[]} */
  const found = [];
  walkJson(value, (_, v) => {
    if (typeof v === 'string') found.push(v);
  });
  return found;
}

/**
 * @param {unknown} value
 * @param {(key: string | null, value: unknown) => void} visit
 */
function walkJson(value, visit) {
  if (Array.isArray(value)) {
    for (const v of value) {
      visit(null, v);
      walkJson(v, visit);
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      visit(k, v);
      walkJson(v, visit);
    }
  }
}

/**
 * The `href` of the document's first `<base>`, as written.
 * @param {string} html
 * @returns {string | null}
 */
export function baseHref(html) {
  return attrValues(html, 'base', 'href')[0] ?? null;
}

/**
 * The text between the first `start` and the next `end` after it.
 * @param {string} text
 * @param {string} start
 * @param {string} end
 * @returns {string | null}
 */
export function between(text, start, end) {
  const at = text.indexOf(start);
  if (at < 0) return null;
  const from = at + start.length;
  const to = text.indexOf(end, from);
  return to < 0 ? null : text.slice(from, to);
}

/** @type {Record<string, string>} */
const NAMED = {
  amp: '&', quot: '"', apos: "'", lt: '<', gt: '>', nbsp: '\u00a0', sol: '/', colon: ':',
  period: '.', quest: '?', equals: '=', num: '#', percnt: '%', plus: '+', comma: ',', semi: ';',
  lowbar: '_', hyphen: '-', dash: '-', excl: '!', commat: '@', tilde: '~', lpar: '(', rpar: ')',
};

/**
 * The character a reference's name (between `&` and `;`) stands for, or `null`.
 * @param {string} name
 */
function reference(name) {
  if (Object.hasOwn(NAMED, name)) return NAMED[name];
  let code;
  const hex = /^#[xX](\+?[0-9A-Fa-f]+)$/.exec(name);
  const dec = /^#(\+?[0-9]+)$/.exec(name);
  if (hex) code = parseInt(hex[1], 16);
  else if (dec) code = parseInt(dec[1], 10);
  else return null;
  // Rust: a u32, then a Unicode scalar value (no surrogates).
  if (!(code <= 0x10ffff) || (code >= 0xd800 && code <= 0xdfff)) return null;
  return String.fromCodePoint(code);
}

/**
 * Undoes HTML character references (`&amp;`, `&#39;`, `&#x2F;`, and the named ones
 * obfuscators use for URL punctuation: `&sol;`, `&colon;`, …). Unknown ones are kept.
 * @param {string} text
 */
export function htmlUnescape(text) {
  if (!text.includes('&')) return text;
  let out = '';
  let rest = text;
  for (let at = rest.indexOf('&'); at >= 0; at = rest.indexOf('&')) {
    out += rest.slice(0, at);
    rest = rest.slice(at);
    const end = rest.indexOf(';');
    // Rust measures `end` in UTF-8 bytes; names are ASCII, so only the limit needs care.
    const decoded = end >= 0 && utf8Length(rest.slice(0, end)) <= 10 ? reference(rest.slice(1, end)) : null;
    if (decoded !== null) {
      out += decoded;
      rest = rest.slice(end + 1);
    } else {
      out += '&';
      rest = rest.slice(1);
    }
  }
  return out + rest;
}

/** @param {string} text */
function utf8Length(text) {
  return new TextEncoder().encode(text).length;
}

/**
 * Undoes JavaScript string escapes (`\"`, `\\`, `\/`, `\n`, `\xHH`, `\uHHHH`, `\u{H…}`).
 * @param {string} text
 */
export function jsUnescape(text) {
  const chars = [...text];
  let out = '';
  /** @param {string} digits */
  const fromHex = (digits) => {
    if (!/^\+?[0-9A-Fa-f]+$/.test(digits)) return '';
    const code = parseInt(digits, 16);
    return code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : '';
  };
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = chars[++i];
    if (e === undefined) break;
    const simple = /** @type {Record<string, string>} */ ({
      n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', 0: '\0',
    })[e];
    if (simple !== undefined) {
      out += simple;
    } else if (e === 'x') {
      out += fromHex(chars.slice(i + 1, i + 3).join(''));
      i += Math.min(2, chars.length - i - 1);
    } else if (e === 'u' && chars[i + 1] === '{') {
      const close = chars.indexOf('}', i + 2);
      const inner = chars.slice(i + 2, close < 0 ? chars.length : close).join('');
      out += fromHex(inner);
      i += utf8Length(inner) + 2;
    } else if (e === 'u') {
      out += fromHex(chars.slice(i + 1, i + 5).join(''));
      i += Math.min(4, chars.length - i - 1);
    } else {
      out += e;
    }
  }
  return out;
}

/** @param {string} text */
function unescapeUrlText(text) {
  return text
    .replaceAll('\\/', '/')
    .replaceAll('\\u002F', '/')
    .replaceAll('\\u002f', '/')
    .replaceAll('\\u0026', '&')
    .replaceAll('&amp;', '&');
}

/**
 * @param {string[]} items
 * @returns {string[]}
 */
function dedup(items) {
  return [...new Set(items)];
}

// @ts-check
/**
 * Undoing the obfuscation sites use to hide playlist URLs: base64 in any flavour (standard or
 * URL-safe alphabet, padded or not) and string reversal. Same answers as the Rust SDK's `codec`.
 * @module
 */

const STANDARD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Decodes base64 in the standard (`+/`) or URL-safe (`-_`) alphabet, with or without `=`
 * padding, ignoring surrounding whitespace. `null` if it is not base64 (bad characters, bad
 * length, wrong padding, or non-zero trailing bits, as Rust's `base64` crate rules).
 * @param {string} text
 * @returns {Uint8Array | null}
 */
export function base64Decode(text) {
  text = text.trim();
  if (!text) return null;
  const alphabet = /[-_]/.test(text) ? URL_SAFE : STANDARD;
  const pad = /=*$/.exec(text)?.[0].length ?? 0;
  const body = text.slice(0, text.length - pad);
  if (body.length % 4 === 1 || pad > 2 || (pad > 0 && (body.length + pad) % 4 !== 0)) return null;
  const out = new Uint8Array(Math.floor((body.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let n = 0;
  for (const c of body) {
    const v = alphabet.indexOf(c);
    if (v < 0) return null;
    value = (value << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (value >> bits) & 0xff;
    }
  }
  if ((value & ((1 << bits) - 1)) !== 0) return null; // non-canonical trailing bits
  return out.subarray(0, n);
}

/**
 * {@link base64Decode} then strict UTF-8: what `atob()` of a URL gives back. `null` if either
 * step fails.
 * @param {string} text
 * @returns {string | null}
 */
export function base64DecodeStr(text) {
  const bytes = base64Decode(text);
  return bytes === null ? null : utf8(bytes);
}

/**
 * `bytes` as UTF-8 text, or `null` if they are not valid UTF-8.
 * @param {Uint8Array} bytes
 */
export function utf8(bytes) {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return null;
  }
}

/**
 * `text` with its characters (code points) in reverse order.
 * @param {string} text
 */
export function reverse(text) {
  return [...text].reverse().join('');
}

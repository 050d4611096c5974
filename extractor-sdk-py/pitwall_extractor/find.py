"""Finders: pull values out of HTML, JavaScript and JSON text without a browser.

The same finders as the Rust SDK's ``find`` module, with the same answers (the shared vectors in
``extractor-sdk/vectors/find.json`` check both): regular expressions over text, not a DOM, since
real pages are rarely valid. Every finder returns unescaped values (HTML entities in attributes,
``\\/`` and ``\\uXXXX`` in JS/JSON strings) and never raises: "not found" is ``None`` or an empty
list, so the caller decides which step failed. Patterns are ASCII-only (``re.ASCII``), like the
Rust ``regex-lite`` ones; JSON objects are walked in sorted key order, like ``serde_json``.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any, Callable, Iterable, Optional

from . import codec

_FLAGS = re.ASCII

_ATTRIBUTE = re.compile(
    r"""([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""", _FLAGS
)
_M3U8_URL = re.compile(r"""https?://[^\s"'<>\\`]+?\.m3u8\b(?:\?[^\s"'<>\\`)]*)?""", _FLAGS | re.I)
_M3U8_REF = re.compile(r"""["']([^"'\s<>\\]*?\.m3u8(?:\?[^"'\s<>\\]*)?)["']""", _FLAGS | re.I)
_ATOB = re.compile(r"""\batob\(\s*(?:"([^"\\]*)"|'([^'\\]*)')\s*\)""", _FLAGS)
_FETCH_CALL = re.compile(
    r"""\bfetch\(\s*(?:"((?:[^"\\\n]|\\.)+)"|'((?:[^'\\\n]|\\.)+)'|`([^`$\\]+)`)""", _FLAGS
)
_QUOTED_BASE64 = re.compile(r"""["']([A-Za-z0-9+/_-]{16,}={0,2})["']""", _FLAGS)
_JSON_LD = re.compile(
    r"""<script\b[^>]*\btype\s*=\s*["']?application/ld\+json["']?[^>]*>(.*?)</script\s*>""",
    _FLAGS | re.I | re.S,
)

_NAMED = {
    "amp": "&", "quot": '"', "apos": "'", "lt": "<", "gt": ">", "nbsp": "\u00a0", "sol": "/",
    "colon": ":", "period": ".", "quest": "?", "equals": "=", "num": "#", "percnt": "%",
    "plus": "+", "comma": ",", "semi": ";", "lowbar": "_", "hyphen": "-", "dash": "-",
    "excl": "!", "commat": "@", "tilde": "~", "lpar": "(", "rpar": ")",
}
_HEX = re.compile(r"\+?[0-9A-Fa-f]+", _FLAGS)
_DEC = re.compile(r"\+?[0-9]+", _FLAGS)


@functools.lru_cache(maxsize=64)
def _start_tag_pattern(tag: str) -> re.Pattern[str]:
    return re.compile(rf"""<{re.escape(tag)}\b(?:[^>"']|"[^"]*"|'[^']*')*>""", _FLAGS | re.I)


def _start_tags(html: str, tag: str) -> list[str]:
    return [m.group(0) for m in _start_tag_pattern(tag).finditer(html)]


def _attributes(tag: str) -> list[tuple[str, str]]:
    """The attributes of one start tag: lower-case names, HTML-unescaped values."""
    body = tag.lstrip("<")
    # Skip the tag name itself so `<meta` is not read as an attribute.
    i = 0
    while i < len(body) and body[i].isascii() and body[i].isalnum():
        i += 1
    found = []
    for m in _ATTRIBUTE.finditer(body[i:]):
        value = next((g for g in m.group(2, 3, 4) if g is not None), "")
        found.append((m.group(1).lower(), html_unescape(value)))
    return found


def meta_content(html: str, name: str) -> Optional[str]:
    """The ``content`` of the first ``<meta>`` whose ``name``, ``property`` or ``itemprop`` is
    ``name`` (case-insensitive), e.g. ``meta_content(html, "csrf-token")``."""
    for tag in _start_tags(html, "meta"):
        attrs = _attributes(tag)
        if any(k in ("name", "property", "itemprop") and _ascii_eq(v, name) for k, v in attrs):
            content = next((v for k, v in attrs if k == "content"), None)
            if content is not None:
                return content
    return None


def attr_values(html: str, tag: str, attr: str) -> list[str]:
    """Every non-blank value of ``attr`` on ``<tag>`` elements, in document order,
    HTML-unescaped and trimmed: ``attr_values(html, "iframe", "src")``."""
    attr = attr.lower()
    values = []
    for t in _start_tags(html, tag):
        value = next((v for k, v in _attributes(t) if k == attr), None)
        if value is not None and value.strip():
            values.append(value.strip())
    return values


def m3u8_urls(text: str) -> list[str]:
    """Absolute http(s) URLs ending in ``.m3u8`` (with an optional query) anywhere in ``text``;
    ``\\/``, ``\\u002F``, ``\\u0026`` and ``&amp;`` undone first; duplicates dropped."""
    return _dedup(m.group(0) for m in _M3U8_URL.finditer(_unescape_url_text(text)))


def m3u8_refs(text: str) -> list[str]:
    """Every quoted string ending in ``.m3u8`` (with an optional query), absolute or relative;
    resolve them with :func:`pitwall_extractor.url.join`."""
    refs = (m.group(1) for m in _M3U8_REF.finditer(_unescape_url_text(text)))
    return _dedup(r for r in refs if not r.startswith(".m3u8"))


def js_string_var(js: str, name: str) -> Optional[str]:
    """The value of the string assigned by ``var|let|const name = "…"`` (or ``'…'``) in ``js``,
    with JS escapes undone."""
    pattern = (
        rf"""\b(?:var|let|const)\s+{re.escape(name)}\s*=\s*"""
        r"""(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')"""
    )
    m = re.search(pattern, js, _FLAGS)
    return js_unescape(_quoted(m)) if m else None


def atob_strings(js: str) -> list[str]:
    """The decoded arguments of every ``atob("…")`` in ``js`` that is base64 of UTF-8 text."""
    decoded = (codec.base64_decode_str(_quoted(m)) for m in _ATOB.finditer(js))
    return [d for d in decoded if d is not None]


def fetch_urls(js: str) -> list[str]:
    """The literal URL arguments of every ``fetch("…")`` call in ``js`` (as written, often
    relative): the JSON APIs a page's script asks for its stream."""
    urls = (next(g for g in m.group(1, 2, 3) if g is not None) for m in _FETCH_CALL.finditer(js))
    return _dedup(js_unescape(u) for u in urls)


def base64_strings(text: str) -> list[str]:
    """Quoted string literals of 16+ base64 characters that decode to printable UTF-8, decoded."""
    decoded = (codec.base64_decode_str(m.group(1)) for m in _QUOTED_BASE64.finditer(text))
    return _dedup(d for d in decoded if d is not None and not any(_control(c) for c in d))


def json_ld(html: str) -> list[Any]:
    """Every ``<script type="application/ld+json">`` block of ``html`` that parses as JSON."""
    blocks = []
    for m in _JSON_LD.finditer(html):
        value = parse_json(m.group(1).strip())
        if value is not _INVALID:
            blocks.append(value)
    return blocks


def json_key_strings(value: Any, key: str) -> list[str]:
    """The string values of every ``key`` at any depth of ``value`` (objects inside arrays too)."""
    found: list[str] = []
    _walk_json(value, lambda k, v: found.append(v) if k == key and isinstance(v, str) else None)
    return found


def json_strings(value: Any) -> list[str]:
    """Every string at any depth of ``value``."""
    found: list[str] = []
    _walk_json(value, lambda _, v: found.append(v) if isinstance(v, str) else None)
    return found


def base_href(html: str) -> Optional[str]:
    """The ``href`` of the document's first ``<base>``, as written."""
    values = attr_values(html, "base", "href")
    return values[0] if values else None


def between(text: str, start: str, end: str) -> Optional[str]:
    """The text between the first ``start`` and the next ``end`` after it."""
    at = text.find(start)
    if at < 0:
        return None
    at += len(start)
    stop = text.find(end, at)
    return None if stop < 0 else text[at:stop]


def is_hls_playlist(body: bytes) -> bool:
    """Whether ``body`` is an HLS playlist: ``#EXTM3U`` after an optional BOM and whitespace."""
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    return body.lstrip(b" \t\n\r\x0c").startswith(b"#EXTM3U")


def html_unescape(text: str) -> str:
    """Undoes the HTML character references found in attribute values and page text (``&amp;``,
    ``&#39;``, ``&#x2F;``, and the named ones obfuscators use: ``&sol;``, ``&colon;``,
    ``&period;``, ``&quest;``, ``&equals;``, …). Unknown references are kept as written."""
    if "&" not in text:
        return text
    out = []
    rest = text
    while True:
        at = rest.find("&")
        if at < 0:
            break
        out.append(rest[:at])
        rest = rest[at:]
        decoded = _reference(rest)
        if decoded is None:
            out.append("&")
            rest = rest[1:]
        else:
            out.append(decoded[0])
            rest = rest[decoded[1]:]
    out.append(rest)
    return "".join(out)


def _reference(rest: str) -> Optional[tuple[str, int]]:
    """The character ``rest`` (starting at ``&``) names and how much of ``rest`` it used."""
    end = rest.find(";")
    # Within 10 bytes of the `&`, as the Rust finder counts.
    if end < 0 or len(rest[:end].encode()) > 10:
        return None
    name = rest[1:end]
    if name in _NAMED:
        return _NAMED[name], end + 1
    if name[:2] in ("#x", "#X"):
        digits, base = name[2:], 16
        ok = _HEX.fullmatch(digits)
    elif name[:1] == "#":
        digits, base = name[1:], 10
        ok = _DEC.fullmatch(digits)
    else:
        return None
    if not ok:
        return None
    code = int(digits, base)
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), end + 1


def js_unescape(text: str) -> str:
    """Undoes JavaScript string escapes (``\\"``, ``\\\\``, ``\\/``, ``\\n``, ``\\xHH``,
    ``\\uHHHH``, ``\\u{H…}``)."""
    if "\\" not in text:
        return text
    out = []
    i, n = 0, len(text)
    simple = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
    while i < n:
        c = text[i]
        i += 1
        if c != "\\":
            out.append(c)
            continue
        if i >= n:
            break
        e = text[i]
        i += 1
        if e in simple:
            out.append(simple[e])
        elif e == "x":
            out.append(_hex_char(text[i:i + 2]))
            i += len(text[i:i + 2])
        elif e == "u" and text.startswith("{", i):
            inner = text[i + 1:].split("}", 1)[0]
            i += len(inner) + 2
            out.append(_hex_char(inner))
        elif e == "u":
            out.append(_hex_char(text[i:i + 4]))
            i += len(text[i:i + 4])
        else:
            out.append(e)
    return "".join(out)


def _hex_char(digits: str) -> str:
    """The character of hex ``digits`` (as Rust's ``u32::from_str_radix`` reads them), or ''."""
    if not _HEX.fullmatch(digits):
        return ""
    code = int(digits, 16)
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return ""
    return chr(code)


_INVALID = object()


def parse_json(text: str) -> Any:
    """``text`` parsed as JSON like ``serde_json`` (no ``NaN``/``Infinity``), else a sentinel
    that is not valid JSON (compare with ``is``); use :func:`json_or_none` for ``None``."""
    try:
        return json.loads(text, parse_constant=_refuse)
    except (ValueError, RecursionError):
        return _INVALID


def json_or_none(text: str) -> Any:
    """``text`` parsed as JSON, or ``None`` if it is not JSON (JSON ``null`` is ``None`` too)."""
    value = parse_json(text)
    return None if value is _INVALID else value


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _walk_json(value: Any, visit: Callable[[Optional[str], Any], None]) -> None:
    if isinstance(value, dict):
        for k in sorted(value):
            visit(k, value[k])
            _walk_json(value[k], visit)
    elif isinstance(value, list):
        for v in value:
            visit(None, v)
            _walk_json(v, visit)


def _quoted(m: re.Match[str]) -> str:
    return m.group(1) if m.group(1) is not None else (m.group(2) or "")


def _unescape_url_text(text: str) -> str:
    return (
        text.replace("\\/", "/")
        .replace("\\u002F", "/")
        .replace("\\u002f", "/")
        .replace("\\u0026", "&")
        .replace("&amp;", "&")
    )


def _control(c: str) -> bool:
    # Rust's char::is_control (general category Cc) minus whitespace.
    code = ord(c)
    return (code < 0x20 or 0x7F <= code <= 0x9F) and not c.isspace()


def _ascii_eq(a: str, b: str) -> bool:
    return len(a) == len(b) and all(
        x == y or (x.isascii() and y.isascii() and x.lower() == y.lower()) for x, y in zip(a, b)
    )


def _dedup(items: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen

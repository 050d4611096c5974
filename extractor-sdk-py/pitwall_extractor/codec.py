"""Undoing the obfuscation sites use to hide playlist URLs: base64 in any flavour (standard or
URL-safe alphabet, padded or not) and string reversal. Same answers as the Rust SDK's ``codec``:
strict about the alphabet and the unused bits of the last symbol, indifferent about padding.
"""

from __future__ import annotations

import base64 as _base64
from typing import Optional

_STANDARD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_URL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_VALUES = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_VALUES.update({"-": 62, "_": 63})


def base64_decode(text: str) -> Optional[bytes]:
    """Decodes base64 in the standard (``+/``) or URL-safe (``-_``) alphabet, with or without
    ``=`` padding, ignoring surrounding whitespace. ``None`` if it is not base64."""
    text = text.strip()
    if not text:
        return None
    url_safe = "-" in text or "_" in text
    alphabet = _URL_SAFE if url_safe else _STANDARD
    body = text.rstrip("=")
    padding = len(text) - len(body)
    if not all(c in alphabet for c in body):
        return None
    rest = len(body) % 4
    # At most the canonical padding; fewer (or none) is fine.
    if rest == 1 or padding > {0: 0, 2: 2, 3: 1}[rest]:
        return None
    # The unused low bits of the last symbol must be zero, as the Rust decoder demands.
    if rest == 2 and _VALUES[body[-1]] & 0x0F:
        return None
    if rest == 3 and _VALUES[body[-1]] & 0x03:
        return None
    padded = body + "=" * ((4 - rest) % 4)
    if url_safe:
        return _base64.urlsafe_b64decode(padded)
    return _base64.b64decode(padded, validate=True)


def base64_decode_str(text: str) -> Optional[str]:
    """:func:`base64_decode` then UTF-8: what ``atob()`` of a URL gives back. ``None`` if either
    step fails."""
    data = base64_decode(text)
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def reverse(text: str) -> str:
    """``text`` with its characters in reverse order (JS ``s.split('').reverse().join('')``)."""
    return text[::-1]

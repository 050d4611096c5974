"""URLs: resolve links found in a page against the page's final URL, name a URL's origin, and
keep tokens out of messages."""

from __future__ import annotations

import urllib.parse
from typing import Optional


def join(base: str, relative: str) -> Optional[str]:
    """Resolves ``relative`` against ``base`` as a browser does. ``None`` if ``base`` is not an
    absolute http(s) URL or the result is not http(s) (``javascript:``, ``data:`` links)."""
    parts = urllib.parse.urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    joined = urllib.parse.urljoin(base, relative.strip())
    if urllib.parse.urlsplit(joined).scheme not in ("http", "https"):
        return None
    return joined


def origin(url: str) -> Optional[str]:
    """``scheme://host[:port]`` of ``url`` (what a browser sends as ``Origin``), if absolute.
    Default ports are left out, as browsers do."""
    parts = urllib.parse.urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def host(url: str) -> Optional[str]:
    """The host name of ``url``, lower-case, without port."""
    return urllib.parse.urlsplit(url).hostname or None


def redact(url: str) -> str:
    """``url`` with the query reduced to ``?…``, for error details and logs: CDN tokens and
    signatures usually live in the query and must not be shown in full."""
    head, sep, _ = url.partition("?")
    return f"{head}?…" if sep else url

"""``demo-site`` extractor in Python: Demo TV, the testbed's browser-only streaming site; a port of
the Rust ``extractors/demo-site`` with the same plugin id, flow, errors and fixtures.

Flow (each step fails with its own :class:`Step`):

1. ``GET settings.page`` (a watch page); the host keeps the session cookie it sets.
   Non-2xx or fetch failure: ``request``.
2. Read the CSRF token from ``<meta name="csrf-token">``. Missing: ``token-parse``.
3. ``POST`` the page's token API (``/demo-tv/api/token``) with ``{"feed": …}``, the cookie (added
   by the host), ``X-CSRF-Token`` and the watch page as ``Referer``. Non-2xx: ``request``; not
   JSON: ``token-parse``.
4. Decode ``player`` (``var _0x4f2a = "<reversed base64 of the URL>"``). Missing or undecodable:
   ``url-extraction``.

Settings: ``page`` (required), ``label`` (optional; default ``Demo TV <feed>``).
"""

from __future__ import annotations

from typing import Any, Optional

from pitwall_extractor import (
    Extractor,
    PluginInfo,
    SessionRef,
    Settings,
    Step,
    StreamCandidate,
    codec,
    error,
    export,
    find,
    http,
    is_http_url,
    url,
)

VERSION = "0.1.0"
PLAYER_VAR = "_0x4f2a"
"""Name of the JS variable the token API hides the playlist URL in."""
DEFAULT_TOKEN_API = "/demo-tv/api/token"
"""Where the token API lives when the page does not say."""


class DemoSite(Extractor):
    """The Demo TV extractor."""

    def info(self) -> PluginInfo:
        return PluginInfo(
            id="demo-site",
            name="Demo TV",
            version=VERSION,
            allowed_hosts=["tv.demo.invalid", "*.demo.invalid", "127.0.0.1", "localhost"],
        )

    def extract(self, session: SessionRef, settings: Settings) -> list[StreamCandidate]:
        page_url = settings.require("page")
        if not is_http_url(page_url):
            raise error(Step.OTHER, f"setting `page` is not an http(s) URL: {page_url!r}")
        ua = http.BROWSER_USER_AGENT
        page = http.get(page_url, [("User-Agent", ua), ("Accept", "text/html")]).ensure_success()
        watch_url = page.final_url
        html = page.text()
        csrf = csrf_token(html, watch_url)
        feed = feed_name(html, watch_url)
        api = token_api_url(html, watch_url)
        answer = http.post_json(
            api,
            [
                ("User-Agent", ua),
                ("Accept", "application/json"),
                ("X-CSRF-Token", csrf),
                ("Referer", watch_url),
                ("Origin", url.origin(watch_url) or ""),
            ],
            {"feed": feed},
        ).ensure_success().json(Step.TOKEN_PARSE)
        playlist, expires_at = playlist_from_answer(answer)
        return [
            StreamCandidate(
                url=playlist,
                label=settings.get("label") or f"Demo TV {feed}",
                headers=[("Referer", watch_url), ("User-Agent", ua)],
                expires_at=expires_at,
            )
        ]


def csrf_token(html: str, page: str) -> str:
    """The CSRF token of a watch page."""
    token = find.meta_content(html, "csrf-token")
    if not token:
        raise error(Step.TOKEN_PARSE, f'no CSRF token (<meta name="csrf-token">) in {url.redact(page)}')
    return token


def feed_name(html: str, page: str) -> str:
    """The channel a watch page plays: the player's ``data-channel``, else the URL's last segment."""
    from_player = find.attr_values(html, "video", "data-channel")
    if from_player:
        return from_player[0]
    last = page.split("?")[0].split("#")[0].rsplit("/", 1)[-1]
    if last and ":" not in last:
        return last
    raise error(Step.OTHER, f"cannot tell which channel {url.redact(page)} plays")


def token_api_url(html: str, page: str) -> str:
    """The token API the page's script calls (``fetch('…/api/token'``), absolute."""
    path = find.between(html, "fetch('", "'") or find.between(html, 'fetch("', '"')
    if path is None or "token" not in path:
        path = DEFAULT_TOKEN_API
    joined = url.join(page, path)
    if joined is None:
        raise error(Step.OTHER, f"bad token API path {path!r}")
    return joined


def playlist_from_answer(answer: Any) -> tuple[str, Optional[int]]:
    """The playlist URL and its expiry from the token API's answer."""
    player = answer.get("player") if isinstance(answer, dict) else None
    if not isinstance(player, str):
        raise error(Step.URL_EXTRACTION, "token API answer has no `player` (the obfuscated playlist URL)")
    blob = find.js_string_var(player, PLAYER_VAR)
    if blob is None:
        blob = find.between(player, '"', '"')
    if blob is None:
        raise error(Step.URL_EXTRACTION, "`player` assigns no string")
    decoded = codec.base64_decode_str(codec.reverse(blob))
    if decoded is None or not is_http_url(decoded):
        raise error(Step.URL_EXTRACTION, "`player` string is not a reversed base64 http(s) URL")
    expires = answer.get("expires_at")
    valid = isinstance(expires, int) and not isinstance(expires, bool) and 0 <= expires < 2**64
    return decoded, expires if valid else None


WitWorld = export(DemoSite)
"""What the component exports (componentize-py looks for ``WitWorld`` in this module)."""

"""pitwall extractor SDK for Python: write a site extractor as one class, export it with
:func:`export`, and build it into a WebAssembly component with ``componentize-py``.

The same code runs in two places:

- in the component (CPython inside the sandbox, built by ``componentize-py --stub-wasi``), where
  :mod:`pitwall_extractor.http` goes through the host's ``fetch`` and logs and the clock are the
  host's;
- natively under pytest, where :mod:`pitwall_extractor.replay` answers every request from a
  recorded fixture (the format of the Rust SDK's ``replay`` module) and nothing reaches the
  network.

Modules, one per concern, mirroring the Rust SDK (``extractor-sdk/``):

- :mod:`~pitwall_extractor.http`: ``get``, ``post_json``, ``post_form``, ``send``, ``fetch`` and
  :class:`~pitwall_extractor.http.Response` (``text()``, ``header()``, ``ensure_success()``,
  ``json(step)``);
- :mod:`~pitwall_extractor.find`: values out of HTML, JavaScript and JSON (meta tags, attributes,
  ``.m3u8`` URLs, JS string variables, ``atob()`` arguments, base64, JSON-LD, text between
  markers, HTML and JS unescaping); the same results as the Rust finders, checked by the shared
  vectors in ``extractor-sdk/vectors/find.json``;
- :mod:`~pitwall_extractor.codec`: base64 in any flavour, string reversal;
- :mod:`~pitwall_extractor.url`: resolve links, origin, host, redact tokens from messages;
- :mod:`~pitwall_extractor.runtime`: log lines and the clock;
- :mod:`~pitwall_extractor.replay` (native only): run ``extract`` against recorded exchanges.
"""

from __future__ import annotations

import enum
import sys
from dataclasses import dataclass, field
from typing import Iterable, Optional

API_VERSION = "0.1.0"
"""The WIT API version this SDK builds against (``pitwall:extractor@0.1.0``)."""

IN_COMPONENT = sys.platform == "wasi"
"""Whether this is running inside the WebAssembly component (else natively, e.g. under pytest)."""


class Step(enum.Enum):
    """The step of the extraction that failed (the WIT ``step`` enum)."""

    REQUEST = "request"
    """A request failed or answered an unexpected status."""
    TOKEN_PARSE = "token-parse"
    """A token, cookie or CSRF value could not be read."""
    URL_EXTRACTION = "url-extraction"
    """No playlist URL could be found or decoded."""
    NOT_LIVE = "not-live"
    """The site says nothing is live right now."""
    OTHER = "other"
    """Anything else (bad settings, ...)."""


class Level(enum.Enum):
    """Log levels for :func:`pitwall_extractor.runtime.log`."""

    TRACE = "trace"
    DEBUG = "debug"
    INFO = "info"
    WARN = "warn"
    ERROR = "error"


class ExtractError(Exception):
    """An extraction failure: which :class:`Step`, and what happened. Raise it from ``extract``."""

    def __init__(self, step: Step, detail: str):
        super().__init__(f"{step.value}: {detail}")
        self.step = step
        self.detail = detail


def error(step: Step, detail: str) -> ExtractError:
    """An :class:`ExtractError` at ``step``: ``raise error(Step.TOKEN_PARSE, "no CSRF token")``."""
    return ExtractError(step, detail)


@dataclass
class PluginInfo:
    """What the plugin says about itself (``info()``)."""

    id: str
    """Stable id that ``[[source]] extractor = "..."`` refers to, e.g. ``demo-site``."""
    name: str
    """Human name of the site."""
    version: str
    """The plugin's own version (semver)."""
    allowed_hosts: list[str] = field(default_factory=list)
    """Host names ``fetch`` may reach; ``*.example.com`` matches subdomains."""


@dataclass
class SessionRef:
    """The session streams are wanted for."""

    id: str
    kind: str
    season: int
    round: int
    event_name: str
    start: Optional[int] = None


@dataclass
class StreamCandidate:
    """One playable stream the extractor found."""

    url: str
    """Absolute URL of an HLS playlist (master or media)."""
    label: str
    """Human label, e.g. ``Main feed``."""
    headers: list[tuple[str, str]] = field(default_factory=list)
    """Headers the relay must send upstream (Referer, User-Agent, Cookie, ...)."""
    expires_at: Optional[int] = None
    """When the URL's token expires, Unix seconds UTC, if known."""


class Settings:
    """The ``settings`` table of a ``[[source]]``, as handed to the extractor."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()):
        self.pairs = [(str(k), str(v)) for k, v in pairs]

    @classmethod
    def of(cls, **values: str) -> "Settings":
        """Settings from keyword arguments, handy in tests: ``Settings.of(page=url)``."""
        return cls(values.items())

    def get(self, key: str) -> Optional[str]:
        """The value of ``key``, trimmed, if set and not blank."""
        for k, v in self.pairs:
            if k == key:
                v = v.strip()
                return v or None
        return None

    def require(self, key: str) -> str:
        """The value of ``key``, or an :class:`ExtractError` at step ``other`` naming it."""
        value = self.get(key)
        if value is None:
            raise error(Step.OTHER, f"missing setting `{key}`")
        return value

    def __repr__(self) -> str:
        return f"Settings({self.pairs!r})"


def is_http_url(url: str) -> bool:
    """Whether ``url`` is an absolute ``http://`` or ``https://`` URL with a host."""
    for scheme in ("https://", "http://"):
        if url.startswith(scheme):
            rest = url[len(scheme):]
            return bool(rest) and not rest.startswith("/") and not any(c.isspace() for c in rest)
    return False


class Extractor:
    """A site extractor: subclass it, implement both methods, and :func:`export` the class.

    ``extract`` returns a list of :class:`StreamCandidate` or raises :class:`ExtractError`; any
    other exception becomes an error at step ``other`` naming it, rather than a trap.
    """

    def info(self) -> PluginInfo:
        """Who the plugin is and which hosts it may fetch from. Must not fetch."""
        raise NotImplementedError

    def extract(self, session: SessionRef, settings: Settings) -> list[StreamCandidate]:
        """Finds playable stream candidates for ``session``, configured by ``settings``."""
        raise NotImplementedError


def export(extractor: type) -> type:
    """The component's ``WitWorld`` class for an :class:`Extractor` subclass.

    End the extractor's module with ``WitWorld = export(MySite)`` and build with
    ``componentize-py ... componentize my_site``. Natively it returns an equivalent adapter that
    speaks the SDK's own types, so the module imports under pytest too.
    """
    from . import _component

    return _component.world_class(extractor)


__all__ = [
    "API_VERSION",
    "IN_COMPONENT",
    "ExtractError",
    "Extractor",
    "Level",
    "PluginInfo",
    "SessionRef",
    "Settings",
    "Step",
    "StreamCandidate",
    "error",
    "export",
    "is_http_url",
]

"""Replay harness (native only): run an extractor under pytest against HTTP exchanges recorded in
a fixture file, with no network and no host. The fixture format and the matching rules are the
Rust SDK's (``extractor-sdk/src/replay.rs``), so one recording serves extractors in any language::

    from pitwall_extractor import Settings
    from pitwall_extractor.replay import Replay, session

    def test_finds_the_main_feed():
        replay = Replay.from_file("fixtures/watch-main.json")
        found = replay.run(lambda: MySite().extract(session(), Settings.of(page=WATCH)))
        assert len(found) == 1
        assert replay.unused() == []

While :meth:`Replay.run` runs, :mod:`pitwall_extractor.http` answers from the fixture. A fixture
is a JSON array of exchanges ``{"note"?, "request": {"method", "url", "headers"?}, "response":
{"status", "headers"?, "body" | "body_base64"?, "final_url"?}}``:

- A request matches an exchange by method (case-insensitive) and exact URL, then by the recorded
  request ``headers``, which are the *required subset*: names case-insensitive, values exact,
  except ``cookie``, where every recorded ``name=value`` pair must be present.
- Among matches the first not yet used wins; once all are used, the first is replayed again.
- Response ``headers`` map names to a string or a list of strings; ``final_url`` defaults to the
  request URL.
- Like the host, each :meth:`Replay.run` is one call with one cookie jar: ``set-cookie`` (its
  ``Path`` honoured, ``Max-Age=0`` deleting) becomes a ``cookie`` header on later requests to the
  same host.
- A request no exchange matches fails with ``FetchError("transport", "no recorded exchange for
  GET url")`` (plus which required header differed, when the URL was recorded), which
  :func:`pitwall_extractor.http.get` and friends turn into an error at step ``request``;
  :meth:`Replay.unused` lists exchanges never asked for.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from dataclasses import dataclass, field
from typing import Callable, Optional, TypeVar

from . import SessionRef, codec
from ._host import FetchError
from .http import Request

T = TypeVar("T")


class ReplayError(Exception):
    """Why a fixture could not be loaded."""


@dataclass
class _Exchange:
    method: str
    url: str
    required: list[tuple[str, str]]
    status: int
    final_url: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class _Cookie:
    host: str
    path: str
    name: str
    value: str


@dataclass
class _State:
    exchanges: list[_Exchange]
    used: list[bool]
    jar: list[_Cookie] = field(default_factory=list)
    seen: list[Request] = field(default_factory=list)


_active: Optional[_State] = None


class Replay:
    """Recorded HTTP exchanges that answer :mod:`pitwall_extractor.http` inside :meth:`run`."""

    def __init__(self, exchanges: list[_Exchange]):
        self._state = _State(exchanges, [False] * len(exchanges))

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "Replay":
        """Loads a fixture file (relative paths: from the current directory)."""
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise ReplayError(f"cannot read fixture {os.fspath(path)}: {e}") from None
        try:
            return cls.from_json(text)
        except ReplayError as e:
            raise ReplayError(f"fixture {os.fspath(path)}: {e}") from None

    @classmethod
    def from_json(cls, text: str) -> "Replay":
        """Parses fixture text (a JSON array of exchanges)."""
        try:
            items = json.loads(text)
        except ValueError as e:
            raise ReplayError(f"not a list of exchanges: {e}") from None
        if not isinstance(items, list):
            raise ReplayError("not a list of exchanges: the fixture must be a JSON array")
        exchanges = []
        for i, item in enumerate(items):
            try:
                exchanges.append(_exchange(item))
            except KeyError as e:
                raise ReplayError(f"exchange {i}: missing field `{e.args[0]}`") from None
            except (ValueError, TypeError) as e:
                raise ReplayError(f"exchange {i}: {e}") from None
        return cls(exchanges)

    def run(self, f: Callable[[], T]) -> T:
        """Runs ``f`` (typically ``lambda: MySite().extract(session(), settings)``) with
        :mod:`pitwall_extractor.http` answered from this replay, with a fresh cookie jar, as one
        host call. Returns what ``f`` returns; exceptions pass through."""
        global _active
        self._state.jar.clear()
        previous, _active = _active, self._state
        try:
            return f()
        finally:
            _active = previous

    def unused(self) -> list[str]:
        """``METHOD url`` of every recorded exchange no request has matched yet."""
        s = self._state
        return [f"{e.method} {e.url}" for e, used in zip(s.exchanges, s.used) if not used]

    def requests(self) -> list[Request]:
        """Every request made so far, as sent (the jar's ``cookie`` header included)."""
        return list(self._state.seen)

    def __repr__(self) -> str:
        return f"Replay(exchanges={len(self._state.exchanges)}, requests={len(self._state.seen)})"


def session() -> SessionRef:
    """A plausible session to pass to ``extract`` in tests: the demo season's live race."""
    return SessionRef(id="9999-01-race", kind="race", season=9999, round=1, event_name="Demo Grand Prix")


_EXCHANGE_KEYS = {"note", "request", "response"}
_REQUEST_KEYS = {"method", "url", "headers"}
_RESPONSE_KEYS = {"status", "headers", "body", "body_base64", "final_url"}


def _only(obj: object, allowed: set[str], what: str) -> dict:
    if not isinstance(obj, dict):
        raise ValueError(f"`{what}` must be an object")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise ValueError(f"unknown field `{unknown[0]}` in `{what}`")
    return obj


def _mapping(obj: object, what: str) -> dict:
    if not isinstance(obj, dict):
        raise ValueError(f"`{what}` must be an object")
    return obj


def _string(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"`{what}` must be a string")
    return value


def _exchange(item: object) -> _Exchange:
    item = _only(item, _EXCHANGE_KEYS, "exchange")
    request = _only(item["request"], _REQUEST_KEYS, "request")
    response = _only(item["response"], _RESPONSE_KEYS, "response")
    status = response["status"]
    if not isinstance(status, int) or isinstance(status, bool) or not 0 <= status <= 65535:
        raise ValueError("`status` must be a number 0..65535")
    body, body_base64 = response.get("body"), response.get("body_base64")
    if body is not None and body_base64 is not None:
        raise ValueError("give `body` or `body_base64`, not both")
    if body is not None:
        data = _string(body, "body").encode()
    elif body_base64 is not None:
        data = codec.base64_decode(_string(body_base64, "body_base64"))
        if data is None:
            raise ValueError("`body_base64` is not base64")
    else:
        data = b""
    headers: list[tuple[str, str]] = []
    # Sorted by name like the Rust harness (a BTreeMap), so both answer headers in one order.
    for name, values in sorted(_mapping(response.get("headers", {}), "response headers").items()):
        values = [values] if isinstance(values, str) else values
        if not isinstance(values, list):
            raise ValueError(f"header `{name}` must be a string or a list of strings")
        headers.extend((name.lower(), _string(v, name)) for v in values)
    url = _string(request["url"], "url")
    required = _mapping(request.get("headers", {}), "request headers")
    return _Exchange(
        method=_string(request["method"], "method").upper(),
        url=url,
        required=[(k.lower(), _string(v, k)) for k, v in sorted(required.items())],
        status=status,
        final_url=_string(response.get("final_url") or url, "final_url"),
        headers=headers,
        body=data,
    )


def fetch(
    method: str, url: str, headers: list[tuple[str, str]], body: Optional[bytes]
) -> tuple[int, str, list[tuple[str, str]], bytes]:
    """What :func:`pitwall_extractor.http.fetch` does natively."""
    state = _active
    if state is None:
        raise FetchError(
            "transport",
            f"no replay active for {method} {url} (native runs answer fetches from replay.Replay.run)",
        )
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError("invalid-url", f"{url}: not an absolute http(s) URL")
    host = parts.hostname.lower()
    path = parts.path or "/"
    sent = Request(method, url, list(headers), body)
    cookies = [f"{c.name}={c.value}" for c in state.jar if c.host == host and path.startswith(c.path)]
    if cookies:
        sent.headers.append(("cookie", "; ".join(cookies)))
    state.seen.append(sent)

    method = method.upper()
    same_url = [i for i, e in enumerate(state.exchanges) if e.method == method and e.url == url]
    matching = [i for i in same_url if _missing_header(state.exchanges[i], sent) is None]
    index = next((i for i in matching if not state.used[i]), matching[0] if matching else None)
    if index is None:
        why = f"no recorded exchange for {method} {url}"
        if same_url:
            difference = _missing_header(state.exchanges[same_url[0]], sent)
            if difference is not None:
                why += f" with these headers ({difference})"
        raise FetchError("transport", why)
    state.used[index] = True
    e = state.exchanges[index]
    for name, line in e.headers:
        if name == "set-cookie":
            _store_cookie(state.jar, host, line)
    return e.status, e.final_url, list(e.headers), e.body


def _missing_header(exchange: _Exchange, sent: Request) -> Optional[str]:
    """The first required header ``sent`` lacks, described; ``None`` if all are there."""
    for name, want in exchange.required:
        have = [v for k, v in sent.headers if k.lower() == name]
        if name == "cookie":
            pairs = [p.strip() for v in have for p in v.split(";")]
            ok = all(p.strip() in pairs for p in want.split(";") if p.strip())
        else:
            ok = want in have
        if not ok:
            if not have:
                return f"missing {name}: {want}"
            return f"{name} is {json.dumps(', '.join(have))}, recorded {json.dumps(want)}"
    return None


def _store_cookie(jar: list[_Cookie], host: str, line: str) -> None:
    first, *attributes = line.split(";")
    if "=" not in first:
        return
    name, value = (s.strip() for s in first.split("=", 1))
    path, delete = "/", False
    for attribute in attributes:
        key, _, val = attribute.partition("=")
        key, val = key.strip().lower(), val.strip()
        if key == "path" and val.startswith("/"):
            path = val
        elif key == "max-age":
            try:
                delete = int(val) <= 0
            except ValueError:
                delete = False
    jar[:] = [c for c in jar if not (c.host == host and c.path == path and c.name == name)]
    if not delete:
        jar.append(_Cookie(host, path, name, value))

"""HTTP through the host's ``fetch``, the only way a guest reaches the network.

In the component every request goes to the host, which enforces the plugin's declared hosts, the
SSRF guard, timeouts and the body cap, follows redirects itself and keeps one cookie jar per call.
Natively (pytest) the same functions answer from the active :class:`~pitwall_extractor.replay.Replay`.

Errors name their step like the Rust SDK's: a refused or failed fetch is an
:class:`~pitwall_extractor.ExtractError` at step ``request``, so is a non-2xx answer passed
through :meth:`Response.ensure_success`; :meth:`Response.json` fails at the step you name
(``token-parse`` for a token API).
"""

from __future__ import annotations

import json as _json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Sequence

from . import ExtractError, Step, _host, error
from ._host import FetchError
from .url import redact

BROWSER_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
"""A current desktop browser's ``User-Agent``, for sites and CDNs that refuse anything else."""

Headers = Sequence[tuple[str, str]]


@dataclass
class Request:
    """An HTTP request for the host to make."""

    method: str
    url: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: Optional[bytes] = None


@dataclass
class Response:
    """What came back, after the host followed redirects."""

    status: int
    final_url: str
    headers: list[tuple[str, str]]
    body: bytes

    def text(self) -> str:
        """The body as text (invalid UTF-8 replaced by U+FFFD)."""
        return self.body.decode("utf-8", errors="replace")

    def header(self, name: str) -> Optional[str]:
        """The first value of header ``name`` (case-insensitive)."""
        values = self.headers_named(name)
        return values[0] if values else None

    def headers_named(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive), e.g. all ``set-cookie`` lines."""
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def is_success(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status < 300

    def ensure_success(self) -> "Response":
        """The response itself if the status is 2xx, else an :class:`ExtractError` at step
        ``request`` naming the URL (query redacted), the status and the start of the body."""
        if self.is_success():
            return self
        snippet = " ".join(self.text().split())[:160]
        detail = f"{redact(self.final_url)} answered {self.status}"
        if snippet:
            detail += f": {snippet}"
        raise error(Step.REQUEST, detail)

    def json(self, step: Step) -> Any:
        """The body parsed as JSON, or an :class:`ExtractError` at ``step`` naming the URL and the
        parse error (the step depends on what the JSON was for)."""
        try:
            return _json.loads(self.body.decode("utf-8"), parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError) as e:
            raise error(step, f"{redact(self.final_url)} answered invalid JSON: {e}") from None


def _no_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; the Rust SDK refuses them too.
    raise ValueError(f"{name} is not JSON")


def describe(e: FetchError) -> str:
    """One readable line for a refused or failed fetch."""
    return {
        "host-not-allowed": f"host not allowed: {e.value}",
        "address-blocked": f"address blocked: {e.value}",
        "invalid-url": f"invalid URL: {e.value}",
        "timeout": "timed out",
        "too-large": f"body larger than the host's cap of {e.value} bytes",
    }.get(e.kind, f"transport: {e.value}")


def request(method: str, url: str, headers: Headers = (), body: Optional[bytes] = None) -> Request:
    """A request with ``method``, ``url``, extra ``headers`` and an optional ``body``."""
    return Request(method, url, [(str(k), str(v)) for k, v in headers], body)


def fetch(req: Request) -> Response:
    """Sends ``req`` and returns the transport result as is; raises :class:`FetchError` when the
    host refuses or fails it (natively: when no recorded exchange matches)."""
    status, final_url, headers, body = _host.fetch(req.method, req.url, req.headers, req.body)
    return Response(status, final_url, headers, body)


def send(req: Request) -> Response:
    """Sends ``req``; a refused or failed fetch becomes an :class:`ExtractError` at step
    ``request`` naming the method, the URL (query redacted) and the reason. Any status is
    returned as is: use :meth:`Response.ensure_success`."""
    try:
        return fetch(req)
    except FetchError as e:
        raise error(Step.REQUEST, f"{req.method} {redact(req.url)}: {describe(e)}") from None


def get(url: str, headers: Headers = ()) -> Response:
    """``GET url`` with extra headers."""
    return send(request("GET", url, headers))


def post_json(url: str, headers: Headers, body: Any) -> Response:
    """``POST url`` with ``body`` serialised as compact JSON; adds ``Content-Type:
    application/json`` unless ``headers`` has one."""
    try:
        data = _json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise error(Step.OTHER, f"cannot encode the JSON body for {redact(url)}: {e}") from None
    return send(_with_content_type(request("POST", url, headers, data.encode()), "application/json"))


def post_form(url: str, headers: Headers, fields: Iterable[tuple[str, str]]) -> Response:
    """``POST url`` with ``fields`` as an ``application/x-www-form-urlencoded`` body; adds that
    ``Content-Type`` unless ``headers`` has one."""
    body = urllib.parse.urlencode(list(fields)).encode()
    return send(
        _with_content_type(request("POST", url, headers, body), "application/x-www-form-urlencoded")
    )


def _with_content_type(req: Request, content_type: str) -> Request:
    if not any(k.lower() == "content-type" for k, _ in req.headers):
        req.headers.append(("Content-Type", content_type))
    return req


__all__ = [
    "BROWSER_USER_AGENT",
    "ExtractError",
    "FetchError",
    "Request",
    "Response",
    "describe",
    "fetch",
    "get",
    "post_form",
    "post_json",
    "request",
    "send",
]

"""The glue between an :class:`~pitwall_extractor.Extractor` and the component's exports: the
``WitWorld`` class componentize-py looks for, converting the SDK's types to the generated WIT
bindings and back. Natively the same adapter speaks the SDK's own types, so tests exercise the
error handling the component gets.

Every ``extract`` failure becomes a WIT ``extract-error``: an :class:`~pitwall_extractor.ExtractError`
keeps its step, any other exception (a bug in the extractor) is reported at step ``other`` with its
type and message instead of trapping the instance, since a component built with ``--stub-wasi``
has no stderr to print a traceback to.
"""

from __future__ import annotations

import time

from . import IN_COMPONENT, ExtractError, PluginInfo, SessionRef, Settings, Step, StreamCandidate, _host

if IN_COMPONENT:
    import wit_world
    from componentize_py_types import Err
    from wit_world.imports import types as wit

    _STEPS = {
        Step.REQUEST: wit.Step.REQUEST,
        Step.TOKEN_PARSE: wit.Step.TOKEN_PARSE,
        Step.URL_EXTRACTION: wit.Step.URL_EXTRACTION,
        Step.NOT_LIVE: wit.Step.NOT_LIVE,
        Step.OTHER: wit.Step.OTHER,
    }
    # There is no WASI clock in the sandbox: `time.time()` reads the host's instead of trapping.
    time.time = lambda: _host.now_millis() / 1000
    time.time_ns = lambda: _host.now_millis() * 1_000_000


def _checked(found: object) -> list[StreamCandidate]:
    """``found`` if it lowers to WIT as is; else an error naming the field, rather than a trap."""
    if not isinstance(found, list):
        raise ExtractError(Step.OTHER, f"extract() must return a list of StreamCandidate, not {type(found).__name__}")
    for i, c in enumerate(found):
        if not isinstance(c, StreamCandidate):
            raise ExtractError(Step.OTHER, f"candidate {i} is a {type(c).__name__}, not a StreamCandidate")
        if not isinstance(c.url, str) or not isinstance(c.label, str):
            raise ExtractError(Step.OTHER, f"candidate {i}: `url` and `label` must be strings")
        if not isinstance(c.headers, (list, tuple)) or not all(
            isinstance(h, (list, tuple)) and len(h) == 2 and all(isinstance(x, str) for x in h) for h in c.headers
        ):
            raise ExtractError(Step.OTHER, f"candidate {i}: `headers` must be (name, value) string pairs")
        e = c.expires_at
        if e is not None and (not isinstance(e, int) or isinstance(e, bool) or not 0 <= e < 2**64):
            raise ExtractError(Step.OTHER, f"candidate {i}: `expires_at` must be Unix seconds (int) or None, not {e!r}")
    return found


def _run_extract(extractor: type, session: SessionRef, pairs: list[tuple[str, str]]) -> list[StreamCandidate]:
    try:
        return _checked(extractor().extract(session, Settings(pairs)))
    except ExtractError:
        raise
    except Exception as e:  # noqa: BLE001 - a bug in the extractor, reported rather than trapped
        # The innermost frame, read without `traceback` (which opens source files: the
        # component has none, and a file access there traps).
        tb, where = e.__traceback__, ""
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None:
            where = f" at {tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}"
        raise ExtractError(Step.OTHER, f"uncaught {type(e).__name__}{where}: {e}") from e


def world_class(extractor: type) -> type:
    """The ``WitWorld`` class exporting ``extractor`` (see :func:`pitwall_extractor.export`)."""
    if not IN_COMPONENT:

        class NativeWorld:
            """What the component exports, in the SDK's types (for tests)."""

            def info(self) -> PluginInfo:
                return extractor().info()

            def extract(self, session: SessionRef, settings: list[tuple[str, str]]) -> list[StreamCandidate]:
                return _run_extract(extractor, session, settings)

        return NativeWorld

    class WitWorld(wit_world.WitWorld):
        def info(self) -> "wit.PluginInfo":
            i = extractor().info()
            return wit.PluginInfo(id=i.id, name=i.name, version=i.version, allowed_hosts=list(i.allowed_hosts))

        def extract(self, session: "wit.SessionRef", settings: list[tuple[str, str]]) -> list["wit.StreamCandidate"]:
            ours = SessionRef(
                id=session.id,
                kind=session.kind,
                season=session.season,
                round=session.round,
                event_name=session.event_name,
                start=session.start,
            )
            try:
                found = _run_extract(extractor, ours, settings)
            except ExtractError as e:
                raise Err(wit.ExtractError(step=_STEPS[e.step], detail=e.detail)) from None
            return [
                wit.StreamCandidate(
                    url=c.url, label=c.label, headers=[(k, v) for k, v in c.headers], expires_at=c.expires_at
                )
                for c in found
            ]

    return WitWorld

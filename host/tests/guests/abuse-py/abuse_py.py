"""A hostile extractor in Python, built by ``extractor-sdk-py/run.sh build`` with the same
componentize-py and SDK as real Python plugins, for ``host/tests/python_guests.rs``.
``settings.mode`` picks the abuse, as in the Rust abuse guest (``../abuse/src/lib.rs``):

- ``ok``: one candidate;
- ``panic``: an uncaught exception (the SDK reports it at step ``other``);
- ``loop``: spin forever;
- ``bomb``: allocate 1 MiB blocks until the memory cap;
- ``sleep``: ``time.sleep(settings.secs)`` (default 120): WASI is stubbed out, so this traps at
  once instead of waiting;
- ``many``: ``settings.count`` candidates (default 100,000);
- ``logs``: ``settings.count`` log lines tagged ``settings.tag`` (default 1,000,000);
- ``fetch``: GET ``settings.url``;
- ``host``: GET a host it did not declare;
- ``socket``: a TCP connection of its own to ``settings.addr`` (``host:port``): the component
  imports no WASI sockets, so this traps;
- ``clock``: the host's clock through the SDK and ``time.time()`` (which the SDK points at it).

``info()`` has modes too, picked without a setting: tests patch the bytes of :data:`INFO_MODE`
in the built ``.wasm`` (same length; the string lives in the interpreter's heap snapshot) to
``spin``; the plugin id then becomes ``abuse-py-info-<mode>``.
"""

from __future__ import annotations

import socket
import time

from pitwall_extractor import Extractor, Level, PluginInfo, StreamCandidate, error, export, http, runtime
from pitwall_extractor import Step


INFO_MODE = "pitwall-abuse-info-mode:ok______"
"""What ``info()`` does; patched in the ``.wasm`` by tests (24 bytes of marker, 8 of mode)."""


def candidate(url: str, label: str) -> StreamCandidate:
    return StreamCandidate(url=url, label=label)


class Abuse(Extractor):
    def info(self) -> PluginInfo:
        mode = INFO_MODE[24:].rstrip("_")
        if mode == "spin":
            while True:
                pass
        plugin = "abuse-py" if mode == "ok" else f"abuse-py-info-{mode}"
        return PluginInfo(
            id=plugin, name="Abuse test (Python)", version="0.1.0", allowed_hosts=["127.0.0.1", "localhost"]
        )

    def extract(self, session, settings):
        def number(key: str, default: int) -> int:
            value = settings.get(key)
            return int(value) if value and value.isdigit() else default

        mode = settings.get("mode") or "ok"
        if mode == "ok":
            return [candidate(f"https://cdn.example/{session.id}.m3u8", "ok")]
        if mode == "panic":
            raise RuntimeError("abuse: deliberate exception")
        if mode == "loop":
            n = 0
            while True:
                n += 1
        if mode == "bomb":
            hoard = []
            while True:
                hoard.append(bytearray(b"\x01" * (1 << 20)))
        if mode == "sleep":
            time.sleep(number("secs", 120))
            raise error(Step.OTHER, "woke up after sleeping")
        if mode == "many":
            return [candidate(f"https://cdn.example/{i}.m3u8", "x") for i in range(number("count", 100_000))]
        if mode == "logs":
            tag = settings.get("tag") or "-"
            for i in range(number("count", 1_000_000)):
                runtime.log(Level.INFO, f"abuse flood line {tag} {i}")
            return [candidate("https://cdn.example/logged.m3u8", "logged")]
        if mode == "fetch":
            url = settings.require("url")
            response = http.get(url)
            return [candidate(url, f"{len(response.body)} bytes, status {response.status}")]
        if mode == "host":
            http.get("https://not-declared.example/")
            raise error(Step.OTHER, "fetch to an undeclared host succeeded")
        if mode == "socket":
            host, _, port = settings.require("addr").rpartition(":")
            socket.create_connection((host, int(port)), timeout=1).close()
            raise error(Step.OTHER, "connected through a socket of its own")
        if mode == "clock":
            host_ms, time_s = runtime.now_millis(), time.time()
            return [candidate("https://cdn.example/clock.m3u8", f"{host_ms} {int(time_s * 1000)}")]
        raise error(Step.OTHER, f"unknown mode {mode!r}")


WitWorld = export(Abuse)

"""The host's log and clock, with native stand-ins so code that logs or reads the time also runs
under pytest: logs go to stderr, the clock is the system's.

In the component there is no WASI clock (it is built with ``--stub-wasi``): read the time with
:func:`now_millis`, not ``time.time()``.
"""

from __future__ import annotations

from . import Level, _host


def log(level: Level, message: str) -> None:
    """Writes a log line through the host, which tags it with the plugin and the call."""
    _host.log(level, message)


def now_millis() -> int:
    """Current time in Unix milliseconds UTC (the host's clock in the component)."""
    return _host.now_millis()

"""Bounds in front of the application: connections and the time a connection may take to send a request.

uvicorn has no timeout for a request head that arrives slowly (its keep-alive timer restarts on every
byte) and no bound on open connections: 1,100 slow-header connections made the assistant unreachable
(with the usual 1,024 open-file limit, accept() failed and asyncio logged each failure, 41 MB in 8 s).
`guarded_h11(...)` is uvicorn's h11 protocol with

- a head timeout: a connection must send a complete request head within `header_timeout_s` of opening
  (or of its previous response, on keep-alive), else it is closed;
- a connection cap: over `max_connections`, the connection that has waited longest for a head is
  closed (never one whose request is being answered);
- one throttled summary line for all of that instead of a line per socket (`ThrottledLog`, which also
  thins uvicorn's and asyncio's per-socket warnings).
"""
from __future__ import annotations

import logging
import resource
import threading
import time
from collections import OrderedDict

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger('caexpo_assistant.guard')
REPORT_EVERY_S = 10.0


def default_max_connections() -> int:
    """Half the process's open-file limit (the rest is for the database, logs and accept() itself), 16..4096."""
    try:
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        soft = 1024
    if soft == resource.RLIM_INFINITY:
        soft = 8192
    return max(16, min(4096, soft // 2))


class ThrottledLog(logging.Filter):
    """Lets a given message through at most once per `every_s` seconds; the next one that passes says how
    many were held back. Keyed by the message template, so one flood costs one line per period."""

    def __init__(self, every_s: float = REPORT_EVERY_S):
        super().__init__()
        self.every_s = every_s
        self._last: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = f'{record.name}:{record.msg}'[:200]
        now = time.monotonic()
        with self._lock:
            last, held = self._last.get(key, (-1e18, 0))
            if now - last < self.every_s:
                self._last[key] = (last, held + 1)
                return False
            if len(self._last) > 1000:
                self._last.clear()
            self._last[key] = (now, 0)
        if held:
            record.msg = f'{record.msg} ({held} more like this in the last {now - last:.0f} s)'
        return True


_THROTTLE = ThrottledLog()


def throttle_server_logs() -> None:
    """Install the throttle on the loggers that write one line per bad socket (idempotent)."""
    for name in ('uvicorn.error', 'asyncio'):
        logger = logging.getLogger(name)
        if _THROTTLE not in logger.filters:
            logger.addFilter(_THROTTLE)


class _GuardState:
    """Shared by every connection of one server: who is waiting for a head (oldest first), and counts."""

    def __init__(self, max_connections: int, header_timeout_s: float):
        self.max_connections, self.header_timeout_s = max_connections, header_timeout_s
        self.waiting: OrderedDict[int, GuardedH11Protocol] = OrderedDict()
        self.timed_out = self.evicted = 0
        self._reported = (0, 0)
        self._last_report = -1e18

    def report(self) -> None:
        now = time.monotonic()
        if now - self._last_report < REPORT_EVERY_S:
            return
        timed_out, evicted = self.timed_out - self._reported[0], self.evicted - self._reported[1]
        self._reported, self._last_report = (self.timed_out, self.evicted), now
        log.warning('closed %d connections that sent no complete request within %.1f s and %d over the '
                    '%d-connection limit (totals %d and %d; one line per %.0f s)', timed_out,
                    self.header_timeout_s, evicted, self.max_connections, self.timed_out, self.evicted,
                    REPORT_EVERY_S)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a request-head timeout and a connection cap (see the module doc)."""
    guard: _GuardState  # set on the subclass guarded_h11() makes

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer = None
        self._await_head()
        guard = self.guard
        if len(self.connections) > guard.max_connections and guard.waiting:
            _key, oldest = next(iter(guard.waiting.items()))
            guard.evicted += 1
            oldest._drop()
            guard.report()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if id(self) in self.guard.waiting and self.conn.their_state is not h11.IDLE:
            self._head_received()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._await_head()  # keep-alive: the next head has the same time limit

    def connection_lost(self, exc) -> None:
        self._head_received()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        self._head_received()
        self.guard.waiting[id(self)] = self
        self._head_timer = self.loop.call_later(self.guard.header_timeout_s, self._head_timeout)

    def _head_received(self) -> None:
        self.guard.waiting.pop(id(self), None)
        timer, self._head_timer = getattr(self, '_head_timer', None), None
        if timer is not None:
            timer.cancel()

    def _head_timeout(self) -> None:
        self._head_timer = None
        if id(self) in self.guard.waiting:
            self.guard.timed_out += 1
            self._drop()
            self.guard.report()

    def _drop(self) -> None:
        self._head_received()
        if not self.transport.is_closing():
            self.transport.abort()


def guarded_h11(max_connections: int, header_timeout_s: float) -> type[GuardedH11Protocol]:
    """A protocol class for uvicorn.Config(http=...) with its own (per-server) bounds."""
    if max_connections < 1 or header_timeout_s <= 0:
        raise ValueError('max_connections must be >= 1 and header_timeout_s > 0')
    return type('GuardedH11', (GuardedH11Protocol,), {'guard': _GuardState(max_connections, header_timeout_s)})

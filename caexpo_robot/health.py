"""What every node reports about itself, without ROS: counters, refused inputs, the last problem.

`CaexpoNode` (nodes/common.py) holds one `NodeHealth` and publishes it on /diagnostics; the decode
path for typed messages (`receive`) and the containment of callback exceptions (`contain`) live here
so they are unit-tested without rclpy.
"""
from __future__ import annotations

import collections
import functools
import threading
import time
import traceback
from typing import Any, Callable, TypeVar

from caexpo_robot import messages
from caexpo_robot.messages import Message

M = TypeVar('M', bound=Message)
# Diagnostics go out every second: a problem's text is cut so a 100 kB payload is never echoed.
MAX_PROBLEM_CHARS = 300
# The first exception of a kind is logged with its traceback, cut to its innermost frames (a
# RecursionError's traceback has a thousand identical ones).
TRACEBACK_FRAMES = 12


class NodeHealth:
    def __init__(self, clock: Callable[[], float] = time.monotonic, log_every_s: float = 5.0) -> None:
        self.counters: collections.Counter[str] = collections.Counter()
        self.last_problem = ''
        self._clock = clock
        self._log_every_s = log_every_s
        self._last_logged: dict[str, float] = {}
        self._lock = threading.Lock()

    def count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counters[key] += n

    def drop(self, key: str, reason: str) -> bool:
        """Count a refused input under `dropped_<key>` and keep the reason (cut) as the last problem.
        True when it should be logged: the first of its kind, then at most once per `log_every_s`."""
        return self.problem(f'dropped_{key}', f'{key}: {reason}', log_key=key)

    def problem(self, counter: str, text: str, n: int = 1, log_key: str | None = None) -> bool:
        """Count `n` under `counter` and keep `text` (cut) as the last problem; True when it should be
        logged: the first of `log_key` (default: the counter), then at most once per `log_every_s`."""
        log_key = counter if log_key is None else log_key
        now = self._clock()
        with self._lock:
            self.counters[counter] += n
            self.last_problem = text[:MAX_PROBLEM_CHARS]
            last = self._last_logged.get(log_key)
            if last is not None and now - last < self._log_every_s:
                return False
            self._last_logged[log_key] = now
            return True

    def callback_failed(self, kind: str, exc: BaseException, where: str = '') -> str | None:
        """An exception escaped a callback of `kind` (subscription, timer, guard_condition, service,
        event) `where` (a topic, a callback's name): counted under `callback_errors_<kind>`, kept (cut) as
        the last problem. Returns what to log: the first of each (kind, exception type) with its
        traceback, later ones one line at most once per `log_every_s`; None while throttled."""
        error = f'{type(exc).__name__}: {str(exc)[:MAX_PROBLEM_CHARS]}'
        log_key = f'callback {kind} {type(exc).__qualname__}'
        what = f'{kind} callback{f" ({where})" if where else ""}'
        with self._lock:
            first = log_key not in self._last_logged
        if not self.problem(f'callback_errors_{kind}', f'{what}: {error}', log_key=log_key):
            return None
        if not first:
            return f'{what} raised {error} (again; counted in callback_errors_{kind})'
        frames = ''.join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-TRACEBACK_FRAMES))
        return f'{what} raised {error}; the node carries on (counted in callback_errors_{kind}):\n{frames}'

    def contain(self, kind: str, callback: Callable[..., Any], log: Callable[[str], None] | None = None,
                fallback: Callable[..., Any] | None = None, where: str = '') -> Callable[..., Any]:
        """`callback` wrapped so that no exception escapes it: a failure is `callback_failed` (counted,
        logged once per kind then throttled, the last problem) and the wrapper returns
        `fallback(*args)` (None without one; a service answers its default response).

        The wrapper keeps the callback's signature (`functools.wraps`), so rclpy still sees whether a
        subscription callback takes a MessageInfo or a timer callback a TimerInfo. SystemExit and
        KeyboardInterrupt are not contained: they are how a process is asked to stop."""
        @functools.wraps(callback)
        def contained(*args: Any, **kwargs: Any) -> Any:
            try:
                return callback(*args, **kwargs)
            except Exception as exc:   # noqa: BLE001 - containing every error is the point
                text = self.callback_failed(kind, exc, where or getattr(callback, '__qualname__', ''))
                if text is not None and log is not None:
                    log(text)
                return None if fallback is None else fallback(*args, **kwargs)
        return contained

    def receive(self, model: type[M], data: str | bytes,
                log: Callable[[str], None] | None = None) -> M | None:
        """The payload decoded as `model`, or None after a counted (and throttled-logged) drop."""
        try:
            return messages.decode(model, data)
        except messages.MessageError as exc:
            if self.drop(model.__name__, str(exc)) and log is not None:
                log(f'dropped {model.__name__}: {str(exc)[:MAX_PROBLEM_CHARS]}')
            return None

    def values(self, extra: dict[str, Any] | None = None) -> dict[str, str]:
        """The node's own values, then every counter, then the last problem: all as strings."""
        with self._lock:
            merged = {**(extra or {}), **self.counters}
            if self.last_problem:
                merged['last_problem'] = self.last_problem
        return {str(key): str(value) for key, value in sorted(merged.items(), key=lambda kv: str(kv[0]))}

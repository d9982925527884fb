"""What every node reports about itself, without ROS: counters, refused inputs, the last problem.

`CaexpoNode` (nodes/common.py) holds one `NodeHealth` and publishes it on /diagnostics; the decode
path for typed messages (`receive`) lives here so it is unit-tested without rclpy.
"""
from __future__ import annotations

import collections
import threading
import time
from typing import Any, Callable, TypeVar

from caexpo_robot import messages
from caexpo_robot.messages import Message

M = TypeVar('M', bound=Message)
# Diagnostics go out every second: a problem's text is cut so a 100 kB payload is never echoed.
MAX_PROBLEM_CHARS = 300


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
        now = self._clock()
        with self._lock:
            self.counters[f'dropped_{key}'] += 1
            self.last_problem = f'{key}: {reason}'[:MAX_PROBLEM_CHARS]
            last = self._last_logged.get(key)
            if last is not None and now - last < self._log_every_s:
                return False
            self._last_logged[key] = now
            return True

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

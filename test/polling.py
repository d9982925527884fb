"""Waiting in tests for what happens asynchronously (a message delivered, a server up, a page updated)."""
from __future__ import annotations

import time
from typing import Callable


def wait_for(predicate: Callable[[], object], what: str, timeout: float = 10.0, every: float = 0.05):
    """Poll `predicate` until it returns something true (returned); AssertionError naming `what` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out after {timeout:g} s waiting for {what}')
        time.sleep(every)

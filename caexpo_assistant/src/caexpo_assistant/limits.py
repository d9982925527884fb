"""Rate limits: a token bucket per caller (robot or staff token) and endpoint group; over it, 429 + Retry-After.

A bucket holds at most `burst` requests and refills at `rate` per second, so a robot may ask a burst of
questions at once and `rate` per second on average. The defaults (server.yaml `rate_limits`) leave a
robot's normal use alone (one turn a second sustained, a visitor every few seconds) while one stolen or
broken robot cannot flood the staff's list or the database. Limits are per server process: a fleet of
N servers behind a balancer allows up to N times as much (the staff-request limit per robot is also
counted in the database, see service.create_staff_request).
"""
from __future__ import annotations

import math
import threading
import time
from typing import Callable, Optional

from pydantic import Field

from caexpo_robot.config_files import ConfigModel


class Limit(ConfigModel):
    rate: float = Field(gt=0, description='requests per second, sustained')
    burst: int = Field(ge=1, description='requests at once (the bucket size)')


class RateLimits(ConfigModel):
    """Per caller and endpoint group (server.yaml `rate_limits`)."""
    turns: Limit = Limit(rate=3, burst=30)              # POST /v1/sessions/{id}/turns
    sessions: Limit = Limit(rate=2, burst=30)           # POST and DELETE /v1/sessions
    meetings: Limit = Limit(rate=1, burst=20)           # POST, GET and DELETE /v1/meetings
    staff_requests: Limit = Limit(rate=0.1, burst=10)   # POST /v1/staff-requests (one per 10 s after a burst)
    reads: Limit = Limit(rate=20, burst=100)            # health, exhibitors, slots, events, directions, staff list


def endpoint_group(method: str, path: str) -> str:
    """The group of a /v1 request (the limiter's second key)."""
    parts = path.strip('/').split('/')[1:]   # after "v1"
    head = parts[0] if parts else ''
    if head == 'sessions':
        return 'turns' if len(parts) >= 3 and parts[2] == 'turns' else 'sessions'
    if head == 'meetings':
        return 'meetings'
    if head == 'staff-requests':
        return 'staff_requests' if method != 'GET' else 'reads'
    return 'reads'


class _Bucket:
    __slots__ = ('tokens', 'updated')

    def __init__(self, tokens: float, updated: float):
        self.tokens, self.updated = tokens, updated


class RateLimiter:
    """Token buckets keyed by (caller, group); `clock` is injectable (tests drive it by hand)."""

    def __init__(self, limits: RateLimits | None = None, clock: Callable[[], float] = time.monotonic):
        self.limits = limits or RateLimits()
        self._clock = clock
        self._buckets: dict[tuple, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, caller: tuple, group: str) -> Optional[float]:
        """None if the request may go on (one token taken), else the seconds until it could (Retry-After)."""
        limit: Limit = getattr(self.limits, group)
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get((caller, group))
            if bucket is None:
                # Callers are the configured principals (bounded), so the table is bounded too.
                bucket = self._buckets[(caller, group)] = _Bucket(float(limit.burst), now)
            bucket.tokens = min(float(limit.burst), bucket.tokens + (now - bucket.updated) * limit.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return (1.0 - bucket.tokens) / limit.rate

    @staticmethod
    def retry_after_header(seconds: float) -> str:
        """Whole seconds, at least 1 (HTTP's Retry-After has no fractions)."""
        return str(max(1, math.ceil(seconds)))

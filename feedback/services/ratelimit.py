"""Sliding-window rate limits in Redis (per end user, per key), answering with a Retry-After.

The window is the classic two-bucket approximation: the count of the current fixed window plus the previous
window's count weighted by how much of it still overlaps the sliding window. One pipelined INCR + EXPIRE and
one GET per check, atomic enough for limits (a burst across a boundary is over-counted, never under-counted).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from redis import Redis


@dataclass(frozen=True)
class Limit:
    """At most `limit` hits per `window` seconds for one bucket name (e.g. `user:3:alice`)."""

    bucket: str
    limit: int
    window: int


@dataclass(frozen=True)
class Decision:
    """The outcome of a check: allowed, or denied with the seconds to wait and the bucket that denied."""

    allowed: bool
    retry_after: int = 0
    bucket: str | None = None
    remaining: int = 0


class RateLimiter:
    """Checks hits against sliding windows stored under `prefix` in Redis."""

    def __init__(self, redis: Redis, prefix: str = "") -> None:
        self.redis = redis
        self.prefix = f"{prefix}ratelimit:"

    def hit(self, limit: Limit, now: float | None = None) -> Decision:
        """Count one hit on `limit` and decide; a denied hit is still counted (a flood stays denied)."""
        if limit.limit <= 0 or limit.window <= 0:
            raise ValueError("a limit needs a positive count and window")
        now = time.time() if now is None else now
        slot = int(now // limit.window)
        key = f"{self.prefix}{limit.bucket}:{slot}"
        pipe = self.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, limit.window * 2 + 1)
        pipe.get(f"{self.prefix}{limit.bucket}:{slot - 1}")
        current, _, previous = pipe.execute()
        elapsed = now - slot * limit.window
        weight = 1.0 - elapsed / limit.window
        estimate = int(current) + int(previous or 0) * weight
        if estimate <= limit.limit:
            return Decision(True, bucket=limit.bucket, remaining=int(limit.limit - estimate))
        return Decision(False, retry_after=self._wait(int(current), int(previous or 0), limit, elapsed),
                        bucket=limit.bucket)

    @staticmethod
    def _wait(current: int, previous: int, limit: Limit, elapsed: float) -> int:
        """Seconds until the estimate drops back under the limit (at least 1)."""
        if current > limit.limit:
            return max(1, math.ceil(limit.window - elapsed))  # only the next window can help
        # current + previous * (1 - t / window) <= limit  =>  t >= window * (1 - (limit - current) / previous)
        needed = limit.window * (1 - (limit.limit - current) / previous) if previous else elapsed
        return max(1, math.ceil(needed - elapsed))

    def check(self, limits: list[Limit], now: float | None = None) -> Decision:
        """Hit every limit; the first denial wins (its Retry-After is the longest wait among denials)."""
        denied = [d for d in (self.hit(limit, now) for limit in limits) if not d.allowed]
        if not denied:
            return Decision(True)
        return max(denied, key=lambda d: d.retry_after)

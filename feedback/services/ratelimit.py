"""Sliding-window rate limits in Redis (per end user, per key), answering with a Retry-After.

The window is the classic two-bucket approximation: the count of the current fixed window plus the previous
window's count weighted by how much of it still overlaps the sliding window. Every limit of a check is counted
by one Lua script (INCR + EXPIRE of the current window, GET of the previous one, per limit) in a single round
trip: atomic, and a third of the CPU of a MULTI/EXEC pipeline per limit. A burst across a window boundary is
over-counted, never under-counted.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from redis import Redis
from redis.commands.core import Script

# KEYS: per limit, its current and previous window; ARGV: per limit, the current window's time to live.
_COUNT_SCRIPT = """
local out = {}
for i = 1, #ARGV do
  local current = redis.call('INCR', KEYS[2 * i - 1])
  redis.call('EXPIRE', KEYS[2 * i - 1], ARGV[i])
  out[2 * i - 1] = current
  out[2 * i] = tonumber(redis.call('GET', KEYS[2 * i]) or '0')
end
return out
"""


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
        self._script = Script(redis, _COUNT_SCRIPT)  # EVALSHA, loading the script once if the server lacks it

    def hit(self, limit: Limit, now: float | None = None) -> Decision:
        """Count one hit on `limit` and decide; a denied hit is still counted (a flood stays denied)."""
        return self._count([limit], now)[0]

    def _count(self, limits: list[Limit], now: float | None) -> list[Decision]:
        """Count one hit on each limit in one round trip and decide each."""
        if any(limit.limit <= 0 or limit.window <= 0 for limit in limits):
            raise ValueError("a limit needs a positive count and window")
        now = time.time() if now is None else now
        slots = [int(now // limit.window) for limit in limits]
        keys: list[str] = []
        for limit, slot in zip(limits, slots, strict=True):
            keys += (f"{self.prefix}{limit.bucket}:{slot}", f"{self.prefix}{limit.bucket}:{slot - 1}")
        counts = self._script(keys=keys, args=[limit.window * 2 + 1 for limit in limits])
        return [self._decide(limit, now - slot * limit.window, int(counts[2 * i]), int(counts[2 * i + 1]))
                for i, (limit, slot) in enumerate(zip(limits, slots, strict=True))]

    def _decide(self, limit: Limit, elapsed: float, current: int, previous: int) -> Decision:
        estimate = current + previous * (1.0 - elapsed / limit.window)
        if estimate <= limit.limit:
            return Decision(True, bucket=limit.bucket, remaining=int(limit.limit - estimate))
        return Decision(False, retry_after=self._wait(current, previous, limit, elapsed), bucket=limit.bucket)

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
        denied = [d for d in self._count(limits, now) if not d.allowed]
        if not denied:
            return Decision(True)
        return max(denied, key=lambda d: d.retry_after)

"""Sliding-window rate limits against a real Redis."""

from __future__ import annotations

import uuid

import pytest
from redis import Redis

from feedback.services.ratelimit import Limit, RateLimiter


@pytest.fixture()
def limiter():
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    prefix = f"test-rl-{uuid.uuid4().hex}:"
    yield RateLimiter(redis, prefix)
    for key in redis.scan_iter(f"{prefix}*"):
        redis.delete(key)
    redis.close()


def test_allows_up_to_the_limit_then_denies_with_retry_after(limiter):
    limit = Limit("user:1:alice", 3, 60)
    decisions = [limiter.hit(limit, now=1000.0) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[2].remaining == 0
    # 1000 is 40 s into the window [960, 1020): the current window alone is over, so wait for the next one.
    assert decisions[3].retry_after == 20
    assert decisions[3].bucket == "user:1:alice"


def test_previous_window_counts_while_it_overlaps(limiter):
    limit = Limit("key:9", 4, 10)
    for _ in range(4):
        assert limiter.hit(limit, now=100.0).allowed  # window [100, 110)
    # 2 s into the next window the previous one still weighs 80 %: 1 + 4 * 0.8 = 4.2 > 4.
    denied = limiter.hit(limit, now=112.0)
    assert not denied.allowed
    assert 1 <= denied.retry_after <= 10
    # Far enough into the window the old hits have slid out.
    assert limiter.hit(limit, now=119.5).allowed


def test_buckets_are_independent_and_check_reports_the_denying_one(limiter):
    user = Limit("user:1:bob", 1, 60)
    key = Limit("key:2", 100, 60)
    assert limiter.check([user, key], now=0.0).allowed
    denied = limiter.check([user, key], now=1.0)
    assert not denied.allowed and denied.bucket == "user:1:bob"
    assert limiter.check([Limit("user:1:carol", 1, 60), key], now=1.0).allowed


def test_invalid_limits_are_rejected(limiter):
    with pytest.raises(ValueError):
        limiter.hit(Limit("x", 0, 60))

"""Removing a test run's Redis key space: keys named with its prefix, the RQ job hashes those keys point to
(RQ names job hashes by job id only, so a prefix scan alone leaves them behind), the run's queues in RQ's
global `rq:queues` set, and the run's workers (listed in its queues' `rq:workers:<queue>` sets) in RQ's global
`rq:workers` set with their hashes: a worker stopped without RQ's own clean-up (a killed `feedback worker`)
otherwise stays listed there after its hash expires."""

from __future__ import annotations

import redis


def delete_key_space(client: redis.Redis, prefix: str) -> int:
    """Delete every key containing `prefix` and the RQ jobs listed in them; returns how many keys went."""
    named = list(client.scan_iter(match=f"*{prefix}*", count=1000))
    job_ids: set[bytes] = set()
    for key in named:
        kind = client.type(key)
        if kind == b"list":
            job_ids.update(client.lrange(key, 0, -1))
        elif kind == b"zset":
            job_ids.update(client.zrange(key, 0, -1))
    for key in client.scan_iter(match="rq:job:*", count=1000):  # jobs no list names any more (finished early)
        origin = client.hget(key, "origin") if client.type(key) == b"hash" else None
        if origin is not None and origin.decode(errors="replace").startswith(prefix):
            job_ids.add(key.decode().removeprefix("rq:job:").encode())
    workers: set[bytes] = set()
    for key in named:
        if key.startswith(b"rq:workers:"):
            workers.update(client.smembers(key))
    if workers:
        client.srem("rq:workers", *workers)
    doomed = named + list(workers) + [f"rq:{kind}:{job_id.decode(errors='replace')}" for job_id in job_ids
                                      for kind in ("job", "results")]
    deleted = 0
    for start in range(0, len(doomed), 500):
        deleted += client.delete(*doomed[start:start + 500])
    queues = [member for member in client.smembers("rq:queues") if prefix.encode() in member]
    if queues:
        client.srem("rq:queues", *queues)
    return deleted

"""The test key-space cleanup removes a run's keys, its RQ jobs and its queues' registration, nothing else."""

from __future__ import annotations

import uuid

import pytest
import redis
from rq import Queue

from tests.conftest import REDIS_URL
from tests.redis_keys import delete_key_space


@pytest.mark.once
def test_removes_keys_jobs_queue_and_worker_registration_of_one_prefix_only():
    client = redis.Redis.from_url(REDIS_URL)
    prefix, other = f"fltest-clean-{uuid.uuid4().hex[:8]}-", f"fltest-keep-{uuid.uuid4().hex[:8]}-"
    worker, other_worker = f"rq:worker:{uuid.uuid4().hex}", f"rq:worker:{uuid.uuid4().hex}"  # RQ's names
    try:
        job = Queue(f"{prefix}default", connection=client).enqueue("builtins.print", "x")
        kept = Queue(f"{other}default", connection=client).enqueue("builtins.print", "y")
        # a worker of this run that was killed: still listed, globally and by its queue
        for name, queue in ((worker, f"{prefix}default"), (other_worker, f"{other}default")):
            client.hset(name, "queues", queue)
            client.sadd("rq:workers", name)
            client.sadd(f"rq:workers:{queue}", name)
        assert client.sismember("rq:queues", f"rq:queue:{prefix}default")
        assert delete_key_space(client, prefix) > 0
        assert list(client.scan_iter(match=f"*{prefix}*")) == []
        assert not client.exists(f"rq:job:{job.id}")
        assert not client.sismember("rq:queues", f"rq:queue:{prefix}default")
        assert not client.sismember("rq:workers", worker) and not client.exists(worker)
        assert client.exists(f"rq:job:{kept.id}") and client.sismember("rq:queues", f"rq:queue:{other}default")
        assert client.sismember("rq:workers", other_worker)
    finally:
        delete_key_space(client, other)
        assert not client.sismember("rq:workers", other_worker)
        client.close()

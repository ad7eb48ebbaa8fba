"""Benchmark: routed items into a real Label Studio, bulk vs one-by-one, and thumbs-down-to-task latency.

    python -m bench.labelstudio.run [--items 10000] [--single 300] [--latency-samples 40] [--db sqlite|postgres]

Starts its own Label Studio (cached template), database and Redis key prefix; everything is measured in one run.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import redis
from rq import Queue, Worker
from sqlalchemy import func, select

from feedback import create_app
from feedback.config import Settings
from feedback.db import get_db
from feedback.models import OutboxItem
from feedback.queue import get_redis, queue_name
from feedback.schemas.interaction import InteractionCreate
from feedback.schemas.routing import ConnectionCreate, RuleCreate
from feedback.services import interactions, keys, migrations, outbox, projects, routing_rules
from feedback.services import labelstudio_connections as connections
from feedback.services.labelstudio_local import start
from feedback.services.outbox_tasks import build_tasks

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN = os.environ.get("FEEDBACK_TEST_PG_ADMIN", "postgresql://127.0.0.1:5432/test")


def _database(kind: str, tmp: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'bench.db'}", None
    name = f"fl_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", name


def _item(n: int, confidence: float) -> InteractionCreate:
    return InteractionCreate(messages=[{"role": "user", "content": f"question {n}: what is {n} + {n}?"}],
                             response=f"It is {2 * n + 1}.", confidence=confidence, model="bench",
                             model_version="v1")


def setup(app, ls_url: str, token: str) -> tuple[int, int, dict[str, str]]:
    """A project with keys, a connection (LS project created) and two rules; returns ids and headers."""
    with app.app_context():
        session = get_db().session()
        project, _admin = projects.create_project(session, f"bench-{uuid.uuid4().hex[:6]}", "bench")
        ingest = keys.create_key(session, project.id, "ingest", ["ingest"])
        conn = connections.create_connection(session, project.id, ConnectionCreate(
            name="bench", url=ls_url, token=token, register_webhook=False), "http://127.0.0.1:9")
        session.flush()
        for name, conditions, priority in (("low-confidence", {"confidence_below": 0.5}, 1),
                                           ("thumbs-down", {"thumbs_down": True}, 2)):
            routing_rules.create_rule(session, project.id, RuleCreate(
                name=name, connection_id=conn.id, priority=priority, conditions=conditions))
        session.commit()
        return project.id, conn.id, {"Authorization": f"Bearer {ingest.secret}"}


def bench_bulk(app, project_id: int, connection_id: int, items: int) -> float:
    """Route `items` low-confidence interactions, then time one delivery pass (bulk import)."""
    with app.app_context():
        session = get_db().session()
        for start_at in range(0, items, 1000):
            interactions.record_interactions(session, project_id, [
                _item(n, 0.1) for n in range(start_at, min(items, start_at + 1000))])
            session.commit()
        t0 = time.perf_counter()
        stats = outbox.deliver_due(session, "bench-bulk", connection_id=connection_id, batch_size=1000)
        elapsed = time.perf_counter() - t0
        delivered = session.scalar(select(func.count()).select_from(OutboxItem).where(
            OutboxItem.connection_id == connection_id, OutboxItem.status == "delivered"))
        assert stats.imported == items and delivered == items, (stats, delivered)
        return elapsed


def bench_single(app, connection_id: int, count: int) -> float:
    """Seconds per task when the same tasks are created one request at a time (into a scratch project)."""
    with app.app_context():
        session = get_db().session()
        conn = session.get(connections.LabelStudioConnection, connection_id)
        client = connections.client_for(conn)
        scratch = client.create_project("bench one-by-one", template="response_review")
        rows = list(session.scalars(select(OutboxItem).where(OutboxItem.connection_id == connection_id)
                                    .order_by(OutboxItem.id).limit(count)))
        tasks = build_tasks(session, rows, conn)
        t0 = time.perf_counter()
        for task in tasks:
            client.import_tasks(scratch, [task])
        per_task = (time.perf_counter() - t0) / len(tasks)
        client.delete_project(scratch)
        return per_task


def bench_latency(app, project_id: int, connection_id: int, headers: dict[str, str], env: dict[str, str],
                  samples: int) -> list[float]:
    """Thumbs-down POST -> task visible in Label Studio, with a `feedback worker` running."""
    worker = subprocess.Popen([sys.executable, "-m", "feedback.cli", "worker", "--queue", "delivery"],
                              env={**os.environ, **env}, cwd=ROOT, stderr=subprocess.STDOUT,
                              stdout=open(Path(env["FEEDBACK_DATA_DIR"]) / "worker.log", "w"))  # noqa: SIM115
    latencies = []
    try:
        client = app.test_client()
        with app.app_context():
            session = get_db().session()
            conn = session.get(connections.LabelStudioConnection, connection_id)
            ls = connections.client_for(conn)
            session.rollback()  # on SQLite an open transaction holds the write lock the worker needs
            deadline = time.monotonic() + 120
            while not Worker.all(queue=Queue(queue_name("delivery"), connection=get_redis())):
                if time.monotonic() > deadline or worker.poll() is not None:
                    raise RuntimeError("the worker did not start")
                time.sleep(0.2)
            for n in range(samples):
                logged = client.post("/api/v1/interactions", headers=headers, json={
                    "messages": [{"role": "user", "content": f"latency {n}"}], "response": "answer",
                    "confidence": 0.9}).get_json()
                t0 = time.perf_counter()
                answer = client.post("/api/v1/feedback", headers=headers,
                                     json={"interaction_id": logged["id"], "score": -1})
                assert answer.status_code == 201, answer.get_json()
                while True:  # our row gets the task id from Label Studio's answer; then confirm it there
                    task_id = session.scalar(select(OutboxItem.ls_task_id).where(
                        OutboxItem.interaction_id == logged["id"]))
                    session.rollback()
                    if task_id is not None and ls._ls.tasks.get(id=str(task_id)).data["fl_interaction_id"] \
                            == logged["id"]:
                        break
                    if time.perf_counter() - t0 > 60:
                        log = (Path(env["FEEDBACK_DATA_DIR"]) / "worker.log").read_text()[-3000:]
                        raise RuntimeError(f"interaction {logged['id']} not delivered within 60 s; worker log:\n{log}")
                    time.sleep(0.05)
                latencies.append(time.perf_counter() - t0)
    finally:
        worker.terminate()
        worker.wait(20)
    return latencies


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=300)
    parser.add_argument("--latency-samples", type=int, default=40)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fl-bench-ls-"))
    url, pg_name = _database(args.db, tmp)
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"flbench-{uuid.uuid4().hex[:8]}-"
    migrations.upgrade(url)
    (tmp / "data").mkdir()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    secret = uuid.uuid4().hex
    settings = Settings(data_dir=tmp / "data", database_url=url, redis_url=redis_url, secret_key=secret,
                        queue_prefix=prefix)
    env = {"DATABASE_URL": url, "REDIS_URL": redis_url, "FEEDBACK_QUEUE_PREFIX": prefix,
           "FEEDBACK_SECRET_KEY": secret, "FEEDBACK_DATA_DIR": str(tmp / "data")}
    server = start(None, tmp / "ls", progress=lambda line: print(f"[labelstudio] {line}", flush=True))
    try:
        app = create_app(settings)
        project_id, connection_id, headers = setup(app, server.url, server.token)
        bulk = bench_bulk(app, project_id, connection_id, args.items)
        per_task = bench_single(app, connection_id, args.single)
        latencies = bench_latency(app, project_id, connection_id, headers, env, args.latency_samples)
    finally:
        server.stop()
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(match=f"*{prefix}*"):
            client.delete(key)
        if pg_name:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    one_by_one = per_task * args.items
    q = statistics.quantiles(latencies, n=20)
    print(f"backend: {args.db}; Label Studio on loopback; {os.cpu_count()} CPUs")
    print(f"bulk delivery of {args.items} routed items (outbox -> import_tasks, 1000/call): {bulk:.2f} s "
          f"({args.items / bulk:.0f} items/s)")
    print(f"one-by-one task creation: {per_task * 1000:.1f} ms/task over {args.single} tasks "
          f"-> {one_by_one:.1f} s for {args.items} (extrapolated)")
    print(f"bulk speed-up: {one_by_one / bulk:.1f}x (target >= 20x)")
    print(f"thumbs-down POST -> task visible in Label Studio, worker running, {len(latencies)} samples: "
          f"p50 {statistics.median(latencies):.3f} s, p95 {q[18]:.3f} s, max {max(latencies):.3f} s (target p95 < 5 s)")


if __name__ == "__main__":
    main()

"""Ingest benchmark: `python bench/ingest/run.py [--db sqlite|postgres]`.

Creates a fresh migrated database with a project, keys and interactions; runs the real app and a no-op Flask
app under the same gunicorn configuration; measures single-feedback throughput against the no-op endpoint in
alternating wrk rounds, batch ingestion in events per second, and open-loop p50/p99 latency at half the
saturating rate. All traffic goes to 127.0.0.1 and every phase is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import uuid
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import redis  # noqa: E402

from bench.ingest import fixtures, report, servers, wrk  # noqa: E402
from bench.ingest.openloop import http_post, run_open_loop  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/0"


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--threads", type=int, default=4, help="per worker (as `feedback serve`)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating no-op/feedback wrk rounds")
    parser.add_argument("--seconds", type=int, default=6, help="length of each wrk round")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--batch-seconds", type=int, default=10)
    parser.add_argument("--batch-connections", type=int, default=2)
    parser.add_argument("--latency-seconds", type=float, default=15.0)
    parser.add_argument("--interactions", type=int, default=2000, help="seeded interactions to post feedback on")
    args = parser.parse_args(argv)
    if not (1 <= args.rounds <= 10 and 1 <= args.seconds <= 60 and 1 <= args.batch_seconds <= 60
            and 1 <= args.latency_seconds <= 120 and 1 <= args.connections <= 256):
        parser.error("rounds 1..10, seconds 1..60, batch-seconds 1..60, latency-seconds 1..120, connections 1..256")
    return args


def _scripts(data: fixtures.BenchData, seed: int) -> tuple[Path, Path, Path]:
    """The no-op, feedback and floor wrk scripts: the same requests, to /noop, /api/v1/feedback and /floor."""
    workdir = data.data_dir.parent
    return (wrk.feedback_script(workdir / f"noop-{seed}.lua", data.credentials, "/noop", seed),
            wrk.feedback_script(workdir / f"feedback-{seed}.lua", data.credentials, "/api/v1/feedback", seed),
            wrk.feedback_script(workdir / f"floor-{seed}.lua", data.credentials, "/floor", seed))


def _single_round(noop: servers.Server, app: servers.Server, floor: servers.Server, data: fixtures.BenchData,
                  seed: int, args: argparse.Namespace, figures: report.Figures) -> None:
    noop_script, app_script, floor_script = _scripts(data, seed)
    noop_run = wrk.run_wrk(noop.base_url + "/noop", noop_script, args.seconds, args.connections)
    app_run = wrk.run_wrk(app.base_url + "/api/v1/feedback", app_script, args.seconds, args.connections)
    floor_run = wrk.run_wrk(floor.base_url + "/floor", floor_script, args.seconds, args.connections)
    figures.rounds.append((noop_run.rate, app_run.rate))
    figures.floor_rates.append(floor_run.rate)
    figures.floor_errors += floor_run.socket_errors + floor_run.status_errors
    figures.noop_errors += noop_run.socket_errors + noop_run.status_errors
    figures.feedback_errors += app_run.socket_errors + app_run.status_errors
    figures.feedback_requests += app_run.requests - app_run.status_errors


def _open_loop(app: servers.Server, data: fixtures.BenchData, rate: float, seconds: float, connections: int,
               figures: report.Figures) -> None:
    creds = data.credentials

    def make_request(i: int) -> bytes:
        cred = creds[(i * 31) % len(creds)]
        if cred.kind == "key":
            body = {"interaction_id": cred.interaction_id, "key": "rating", "score": i % 5 + 1,
                    "end_user_id": f"ol-{i}", "reasons": ["accurate_information"], "comment": "open loop"}
        else:
            body = {"feedback_id": f"ol-{i}", "score": 1 if i % 2 else -1}
        return http_post("127.0.0.1", app.port, "/api/v1/feedback", json.dumps(body).encode(),
                         {"Content-Type": "application/json", "Authorization": cred.authorization})

    # no more connections than the workers hold in all (more would wait in the listen backlog)
    result = run_open_loop("127.0.0.1", app.port, make_request, rate, seconds, max_connections=connections)
    figures.latency_rate = rate
    figures.latency_sent, figures.latency_failed = result.sent, result.failed
    figures.latency_p50_ms, figures.latency_p99_ms = result.percentile(50), result.percentile(99)
    figures.latency_generator_late_ms = result.late_start_ms


def _batch(app: servers.Server, data: fixtures.BenchData, workdir: Path, args: argparse.Namespace,
           figures: report.Figures) -> None:
    before, _ = fixtures.count_rows(data.database_url)
    script = wrk.batch_script(workdir / "batch.lua", data.ingest_keys, 1000, uuid.uuid4().hex[:6])
    run = wrk.run_wrk(app.base_url + "/api/v1/interactions/batch", script, args.batch_seconds,
                      args.batch_connections, timeout_s=60)
    after, _ = fixtures.count_rows(data.database_url)
    figures.batch_requests = run.requests - run.status_errors
    figures.batch_errors = run.socket_errors + run.status_errors
    figures.batch_rows = after - before
    figures.batch_events_per_s = figures.batch_requests * 1000 / run.seconds
    figures.batch_p50_ms, figures.batch_p99_ms = run.p50_ms, run.p99_ms


def _floor_db(data: fixtures.BenchData, workdir: Path) -> str:
    """The floor app writes where the app does: its own SQLite file, or a table in the PostgreSQL bench database."""
    if data.backend == "sqlite":
        return str(workdir / "floor.db")
    return data.database_url.replace("postgresql+psycopg://", "postgresql://")


def main(argv: list[str] | None = None) -> int:
    """Run every phase and print the table; non-zero exit only when requests failed."""
    args = _parse_args(argv)
    # A SIGTERM (e.g. from `timeout`) unwinds normally, so servers stop and the database is dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    config = servers.ServerConfig(args.workers, args.worker_class, args.threads,
                                  worker_connections=-(-args.connections // args.workers))
    prefix = f"flbench-{uuid.uuid4().hex[:8]}-"
    figures = report.Figures()
    with fixtures.bench_database(args.db, args.interactions) as data:
        facts = report.machine_facts(data.database_url, args.db)
        workdir = data.data_dir.parent
        env = {"DATABASE_URL": data.database_url, "FEEDBACK_SECRET_KEY": data.secret_key,
               "FEEDBACK_DATA_DIR": str(data.data_dir), "REDIS_URL": REDIS_URL, "FEEDBACK_QUEUE_PREFIX": prefix,
               # the widget rate limiter still runs on every token post; its limits are raised above bench rates
               "FEEDBACK_WIDGET_RATE_USER": "100000000/60", "FEEDBACK_WIDGET_RATE_KEY": "100000000/60"}
        try:
            with servers.gunicorn("no-op", "bench.ingest.noop_app:create_app()", config, env,
                                  workdir / "noop.log", "/noop") as noop, \
                    servers.gunicorn("app", "feedback:create_app()", config, env, workdir / "app.log",
                                     "/healthz") as app, \
                    servers.gunicorn("floor", "bench.ingest.floor_app:create_app()", config,
                                     {"FLOOR_DB": _floor_db(data, workdir)}, workdir / "floor.log", "/floor") as floor:
                noop_script, app_script, floor_script = _scripts(data, 0)
                wrk.run_wrk(noop.base_url + "/noop", noop_script, 2, args.connections)  # warm-up
                wrk.run_wrk(app.base_url + "/api/v1/feedback", app_script, 2, args.connections)
                wrk.run_wrk(floor.base_url + "/floor", floor_script, 2, args.connections)
                _, warm_rows = fixtures.count_rows(data.database_url)
                for seed in range(1, args.rounds + 1):
                    _single_round(noop, app, floor, data, seed, args, figures)
                figures.feedback_rows = fixtures.count_rows(data.database_url)[1] - warm_rows
                _open_loop(app, data, figures.saturating_rate / 2, args.latency_seconds, args.connections, figures)
                _batch(app, data, workdir, args, figures)
                errors_log = (workdir / "app.log").read_text(errors="replace")
        finally:
            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(match=f"{prefix}*", count=1000):
                client.delete(key)
    print(report.render(facts, config.describe(), figures))
    if "Traceback" in errors_log:
        print("\nthe app logged errors:\n" + errors_log[-3000:])
    failed = (figures.feedback_errors + figures.noop_errors + figures.floor_errors + figures.batch_errors
              + figures.latency_failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

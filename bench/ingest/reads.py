"""Read latency while writes run: `python bench/ingest/reads.py [--baseline DIR]` (SQLite).

Serves the app with gunicorn on a fresh bench database and measures sequential `GET /api/v1/interactions`
requests (one client) idle, while two wrk connections post 1,000-item batches, and while another process holds
1-second write transactions. With `--baseline DIR` (a checkout of another commit, e.g. made with
`git worktree add DIR <commit>`), that checkout is served and measured the same way, alternating with this one,
on the same database: side by side in one run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.ingest import fixtures, servers, wrk  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
HOLDER = """
import sys, time
sys.path.insert(0, {root!r})
from sqlalchemy import text
from feedback.db import make_engine
engine = make_engine({url!r})
end = time.time() + {seconds}
while time.time() < end:
    with engine.begin() as conn:
        conn.execute(text("update projects set name = name"))
        time.sleep(1.0)
    time.sleep(0.05)
"""


def _gets(base: str, key: str, seconds: float) -> list[float]:
    """Sequential GETs for `seconds`; their latencies in ms, sorted."""
    latencies, end = [], time.monotonic() + seconds
    request = urllib.request.Request(base + "/api/v1/interactions?limit=20", headers={"Authorization": f"Bearer {key}"})
    while time.monotonic() < end:
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as answer:
            answer.read()
        latencies.append((time.perf_counter() - started) * 1000)
    return sorted(latencies)


def _line(label: str, phase: str, latencies: list[float]) -> str:
    def q(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]
    return (f"{label:<10}{phase:<30}{len(latencies):>7}{q(50):>10.1f}{q(99):>10.1f}{latencies[-1]:>10.0f}")


def _measure(label: str, root: Path, data: fixtures.BenchData, seconds: float) -> list[str]:
    env = {"DATABASE_URL": data.database_url, "FEEDBACK_SECRET_KEY": data.secret_key,
           "FEEDBACK_DATA_DIR": str(data.data_dir), "REDIS_URL": "redis://127.0.0.1:6379/0",
           "FEEDBACK_QUEUE_PREFIX": f"flreads-{uuid.uuid4().hex[:8]}-", "PYTHONPATH": str(root)}
    config = servers.ServerConfig(2, "gthread", 4)
    workdir = data.data_dir.parent
    key = data.ingest_keys[0]
    here = os.getcwd()
    os.chdir(root)  # `python -m gunicorn` puts the working directory first on the path: serve `root`'s code
    servers.REPO_ROOT = root
    try:
        with servers.gunicorn(label, "feedback:create_app()", config, env, workdir / f"{label}.log",
                              "/healthz") as app:
            lines = [_line(label, "idle", _gets(app.base_url, key, seconds / 2))]
            script = wrk.batch_script(workdir / "reads-batch.lua", data.ingest_keys, 1000, uuid.uuid4().hex[:6])
            lines.append(_during(label, "1,000-item batches (2 conn)", app.base_url, key, seconds, lambda: wrk.run_wrk(
                app.base_url + "/api/v1/interactions/batch", script, int(seconds + 2), 2, timeout_s=60)))
            holder = HOLDER.format(root=str(root), url=data.database_url, seconds=seconds + 2)
            lines.append(_during(label, "1 s write transactions", app.base_url, key, seconds,
                                 lambda: subprocess.run([sys.executable, "-c", holder], check=True)))
            return lines
    finally:
        os.chdir(here)


def _during(label: str, phase: str, base: str, key: str, seconds: float, load: Callable[[], object]) -> str:
    thread = threading.Thread(target=load)
    thread.start()
    time.sleep(1)
    try:
        return _line(label, phase, _gets(base, key, seconds))
    finally:
        thread.join()


def main() -> int:
    """Measure this checkout (and the baseline's, alternating) and print one table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, help="a checkout of another commit to measure side by side")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    targets = [("this", ROOT)] + ([("baseline", args.baseline.resolve())] if args.baseline else [])
    print(f"{'code':<10}{'GET /api/v1/interactions while':<30}{'GETs':>7}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    with fixtures.bench_database("sqlite", 2000) as data:
        for _ in range(args.rounds):
            for label, root in targets:
                for line in _measure(label, root, data, args.seconds):
                    print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

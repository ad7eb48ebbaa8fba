"""In-process cost of the ingest hot path: `python bench/ingest/profile_hot_path.py [--db ...] [--profile]`.

Posts single feedback (key and token), single interactions and a 1,000-item batch through Flask's test client
against a fresh bench database and prints the mean wall time and CPU time per request, next to the bench's no-op
Flask app through the same test client (the floor: what Flask and the test client cost without any work);
`--profile` prints a cProfile profile (CPU time) of the single-feedback posts. No network is used.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.ingest import fixtures, noop_app  # noqa: E402
from feedback import create_app  # noqa: E402


def _feedback_requests(data: fixtures.BenchData, count: int) -> list[tuple[dict, dict]]:
    out = []
    for i in range(count):
        cred = data.credentials[i % len(data.credentials)]
        if cred.kind == "key":
            body = {"interaction_id": cred.interaction_id, "key": "rating", "score": i % 5 + 1,
                    "end_user_id": f"p-{i}", "reasons": ["accurate_information"], "comment": "profile"}
        else:
            body = {"score": 1 if i % 2 else -1, "comment": f"profile {i}"}
        out.append(({"Authorization": cred.authorization}, body))
    return out


def _timed(label: str, client, path: str, requests: list[tuple[dict, dict]], per: int = 1) -> None:
    start, cpu = time.perf_counter(), time.process_time()
    for headers, body in requests:
        answer = client.post(path, data=json.dumps(body), headers=headers, content_type="application/json")
        if answer.status_code >= 300:
            raise RuntimeError(f"{label}: {answer.status_code} {answer.get_data(as_text=True)[:300]}")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"{label:<34}{elapsed / len(requests) * 1e6:>10.0f} us/request{cpu / len(requests) * 1e6:>8.0f} us CPU"
          f"{'' if per == 1 else f'{elapsed / (len(requests) * per) * 1e6:>10.1f} us/item'}")


def main() -> int:
    """Print per-request timings of the ingest endpoints."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with fixtures.bench_database(args.db, interactions_count=max(args.count, 100)) as data:
        os.environ.update(FEEDBACK_DATA_DIR=str(data.data_dir))
        app = create_app(database_url=data.database_url, secret_key=data.secret_key,
                         redis_url="redis://127.0.0.1:6379/0", queue_prefix=f"flprof-{os.getpid()}-",
                         widget_rate_user="1000000/60", widget_rate_key="1000000/60")
        client = app.test_client()
        key = {"Authorization": f"Bearer {data.ingest_keys[0]}"}
        warm = _feedback_requests(data, 50)
        noop = noop_app.create_app().test_client()
        _timed("warm-up no-op", noop, "/noop", warm)
        _timed("warm-up feedback", client, "/api/v1/feedback", warm)
        requests = _feedback_requests(data, args.count)[50:]
        _timed("no-op POST (floor)", noop, "/noop", requests)
        if args.profile:  # deterministic profile in CPU time (the machine is shared: wall time misleads)
            profiler = cProfile.Profile(time.process_time)
            profiler.runcall(_timed, "feedback (profiled)", client, "/api/v1/feedback", requests)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(r"feedback/|flask/app|redis/client", 45)
        else:
            _timed("feedback POST", client, "/api/v1/feedback", requests)
        singles = [(key, {"external_id": f"single-{i}", "response": "ok", "messages": [
            {"role": "user", "content": "hi"}], "confidence": 0.5}) for i in range(args.count // 2)]
        _timed("interaction POST", client, "/api/v1/interactions", singles)
        batch = [(key, {"items": [{"external_id": f"b{n}-{i}", "response": "ok", "model": "m",
                                   "messages": [{"role": "user", "content": f"q {i}"}]} for i in range(1000)]})
                 for n in range(5)]
        _timed("batch POST (1,000 items)", client, "/api/v1/interactions/batch", batch, per=1000)
        app.extensions["feedback.db"].engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How long the dashboard's GROUP BY queries take on a project with many rows, on SQLite and PostgreSQL.

    python bench/dashboard_queries.py --rows 1000000 [--backend sqlite|postgres|both]

Creates a throw-away database (an SQLite file in a temp dir, or a uniquely named PostgreSQL database that is
dropped afterwards), loads ROWS interactions each with one end-user thumbs vote spread over 30 days on three
model versions, builds the daily rollups, then times the dashboard page per range (best of 3) next to a live
30-day GROUP BY over the raw rows, and an incremental refresh after votes change. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from feedback import create_app
from feedback.config import Settings
from feedback.db import get_db, utcnow
from feedback.models import Feedback, Interaction, Project
from feedback.services import dashboard, dashboard_page, dashboard_rollup, migrations, projects
from feedback.services.dashboard_sql import Window

PG_ADMIN = "postgresql://127.0.0.1:5432/test"
REASONS = ["not_factually_correct", "not_helpful", "too_verbose", "didnt_fully_follow_instructions"]


def _rows(project_id: int, n: int, start_id: int):
    rng = random.Random(1)
    now = datetime.now(UTC)
    for i in range(n):
        at = now - timedelta(seconds=rng.uniform(60, 30 * 86400))
        conf = rng.random()
        up = rng.random() < 0.4 + 0.4 * conf
        iid = start_id + i
        yield ({"id": iid, "project_id": project_id, "external_id": f"b{i}", "messages": [], "response": "r",
                "model_version": f"v{i % 3}", "confidence": conf, "metadata": {}, "end_user_id": f"u{i % 5000}",
                "created_at": at},
               {"project_id": project_id, "interaction_id": iid, "feedback_uid": f"f{i}", "revision": 1,
                "key": "helpfulness", "source": "end_user", "score": 1.0 if up else -1.0,
                "reasons": [] if up else [REASONS[i % 4]], "comment": "c" if i % 1000 == 0 else None,
                "metadata": {}, "retracted": False, "created_at": at, "updated_at": at})


def load(app, project_id: int, n: int) -> float:
    """Bulk-load n interactions + feedback; returns seconds."""
    started = time.perf_counter()
    with app.app_context():
        session = get_db().session()
        batch_i, batch_f = [], []
        for inter, fb in _rows(project_id, n, 1):
            batch_i.append(inter)
            batch_f.append(fb)
            if len(batch_i) == 20000:
                session.execute(Interaction.__table__.insert(), batch_i)
                session.execute(Feedback.__table__.insert(), batch_f)
                session.commit()
                batch_i, batch_f = [], []
        if batch_i:
            session.execute(Interaction.__table__.insert(), batch_i)
            session.execute(Feedback.__table__.insert(), batch_f)
            session.commit()
        if session.get_bind().dialect.name == "postgresql":
            session.execute(Interaction.__table__.select().limit(0))
            session.connection().exec_driver_sql("ANALYZE")
            session.commit()
    return time.perf_counter() - started


def best_of(func, repeat: int = 3) -> float:
    """Fastest of `repeat` runs, in milliseconds."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        func()
        times.append((time.perf_counter() - t) * 1000)
    return min(times)


def run(backend: str, n: int) -> None:
    """Load and time one backend."""
    tmp = Path(tempfile.mkdtemp(prefix="fl-bench-"))
    name = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        name = f"fl_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrations.upgrade(url)
        app = create_app(Settings(data_dir=tmp, database_url=url, redis_url=None, secret_key="bench"))
        with app.app_context():
            session = get_db().session()
            project, _ = projects.create_project(session, "bench", "bench")
            session.commit()
            pid = project.id
        seconds = load(app, pid, n)
        print(f"\n{backend}: loaded {n:,} interactions + {n:,} feedback in {seconds:.1f} s")
        with app.app_context():
            session = get_db().session()
            proj = session.get(Project, pid)
            day, week, month = Window.named("24h"), Window.named("7d"), Window.named("30d")
            live_month = Window("30d-live", month.start, month.end, "hour")
            t = time.perf_counter()
            dashboard_rollup.refresh(session, pid)
            print(f"  {'rollup build, first refresh (all days)':<46} {(time.perf_counter() - t) * 1000:9.1f} ms")
            timings = {
                "refresh, nothing changed": lambda: dashboard_rollup.refresh(session, pid),
                "overview page 7d (rollups)": lambda: dashboard_page.overview(session, proj, week),
                "overview page 30d (rollups)": lambda: dashboard_page.overview(session, proj, month),
                "overview page 24h (live, hourly)": lambda: dashboard_page.overview(session, proj, day),
                "live GROUP BY over 30 days (no rollups)": lambda: dashboard.version_series(session, proj, live_month),
                "recent_comments": lambda: dashboard.recent_comments(session, pid),
                "interaction_count 30d": lambda: dashboard.interaction_count(session, pid, month),
            }
            results = {label: best_of(func) for label, func in timings.items()}
            for label, ms in results.items():
                print(f"  {label:<46} {ms:9.1f} ms")
            recent = utcnow() - timedelta(hours=24)
            for label, condition in (("1,000 votes of the last 24 h changed", Feedback.created_at >= recent),
                                     ("every 1,000th vote changed (all days)", Feedback.id % 1000 == 0)):
                ids = session.scalars(Feedback.__table__.select().with_only_columns(Feedback.id).where(
                    Feedback.project_id == pid, condition).limit(1000)).all()
                session.execute(Feedback.__table__.update().where(Feedback.id.in_(ids)).values(
                    score=1.0, updated_at=utcnow()))
                session.commit()
                t = time.perf_counter()
                days = dashboard_rollup.refresh(session, pid)
                print(f"  {f'refresh: {label}, {days} days':<46} {(time.perf_counter() - t) * 1000:9.1f} ms")
            ratio = results["live GROUP BY over 30 days (no rollups)"] / results["overview page 30d (rollups)"]
            print(f"  live 30-day scan / whole 30d page from rollups: {ratio:.1f}x")
    finally:
        if name:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    for backend in ("sqlite", "postgres") if args.backend == "both" else (args.backend,):
        run(backend, args.rows)


if __name__ == "__main__":
    main()

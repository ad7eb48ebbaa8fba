"""Export benchmark: N interactions with feedback -> OpenAI SFT JSONL and Parquet, on SQLite and PostgreSQL.

For each backend, in one run: seed N interactions + N feedback rows, time the raw dump of the same joined rows
(`sqlite3 -json` / `COPY (...) TO STDOUT`), then run each export in a fresh process (peak RSS = the export's
own; the export's forked reader process is reported next to it, and the peak of both together as PSS, which
counts pages they share once) and print rows/s, peak memory and the ratio export/raw dump (the raw dump's
median of three runs). Targets: within 3x, peak under 500 MB.

    python -m bench.export.run --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from bench.export import seed
from feedback.services import migrations, projects

PG_ADMIN = "postgresql://127.0.0.1:5432/test"
RAW_SQL = ("SELECT i.id, i.conversation_id, i.messages, i.response, i.model, i.model_version, i.created_at, "
           "i.metadata, f.source, f.score, f.correction, f.reasons, f.end_user_id, f.updated_at, f.feedback_uid "
           "FROM interactions i JOIN feedback f ON f.interaction_id = i.id WHERE i.project_id = 1 "
           "AND f.key = 'helpfulness' AND NOT f.retracted ORDER BY i.id")
ROOT = Path(__file__).resolve().parents[2]


def _project(url: str) -> None:
    from feedback.db import Database

    database = Database()
    database.configure(url)
    with database.transaction() as session:
        projects.create_project(session, "bench", "bench")
    database.engine.dispose()  # type: ignore[union-attr]


def ensure_sqlite3() -> str:
    """The sqlite3 shell; installs it with apt-get when missing (and says so)."""
    found = shutil.which("sqlite3")
    if found:
        return found
    print("sqlite3 shell missing: running apt-get install -y sqlite3", flush=True)
    subprocess.run(["apt-get", "install", "-y", "sqlite3"], check=True, capture_output=True)
    return shutil.which("sqlite3") or "sqlite3"


def raw_dump(backend: str, url: str, path: str, out: Path) -> float:
    """Seconds to dump the joined rows with the database's own tool into a file."""
    started = time.perf_counter()
    with open(out, "wb") as fh:
        if backend == "sqlite":
            subprocess.run([ensure_sqlite3(), "-json", path, RAW_SQL], stdout=fh, check=True)
        else:
            subprocess.run(["psql", "-q", url, "-c", f"COPY ({RAW_SQL}) TO STDOUT"], stdout=fh, check=True)
    return time.perf_counter() - started


def export(url: str, fmt: str, out: Path, extra: list[str]) -> dict:
    """Run one export in a child process and return its figures."""
    argv = [sys.executable, "-m", "bench.export.child", "--url", url, "--format", fmt, "--out", str(out), *extra]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"export {fmt} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_backend(backend: str, n: int, work: Path, extra: list[str]) -> None:
    """Seed, dump and export on one backend, printing one line per measurement."""
    pg_name = None
    if backend == "sqlite":
        path = str(work / "bench.db")
        url = f"sqlite:///{path}"
    else:
        pg_name = f"fl_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{pg_name}"')
        path = url = PG_ADMIN.rsplit("/", 1)[0] + f"/{pg_name}"
    try:
        migrations.upgrade(url)
        _project(url)
        started = time.perf_counter()
        (seed.load_sqlite if backend == "sqlite" else seed.load_postgres)(path, n, 1)
        print(f"[{backend}] seeded {n} interactions + {n} feedback rows in {time.perf_counter() - started:.1f}s",
              flush=True)
        dump = work / f"raw-{backend}.out"
        # the dump is short and its time varies from run to run on a shared machine: the median of three
        runs = sorted(raw_dump(backend, url, path, dump) for _ in range(3))
        raw = runs[1]
        tool = "sqlite3 -json" if backend == "sqlite" else "COPY ... TO STDOUT"
        print(f"[{backend}] raw dump ({tool}): {raw:.2f}s (median of {', '.join(f'{r:.2f}' for r in runs)}), "
              f"{n / raw:,.0f} rows/s, {dump.stat().st_size / 1e6:.0f} MB", flush=True)
        for fmt, label in (("openai_sft", "OpenAI SFT JSONL"), ("hf_dataset", "Parquet (HF folder)")):
            r = export(url.replace("postgresql://", "postgresql+psycopg://"), fmt, work / f"out-{backend}", extra)
            print(f"[{backend}] export {label}: {r['seconds']:.2f}s, {r['scanned'] / r['seconds']:,.0f} rows/s "
                  f"(scanned {r['scanned']}, written {r['rows']}, {r['bytes'] / 1e6:.0f} MB; dedup "
                  f"{r['exact_removed']} exact + {r['near_removed']} near; PII {r['pii']}), "
                  f"peak RSS {r['peak_rss_mb']:.0f} MB (reader process {r.get('reader_peak_rss_mb', 0):.0f} MB; "
                  f"both together, PSS {r['peak_pss_total_mb']:.0f} MB), "
                  f"ratio to raw dump {r['seconds'] / raw:.2f}x", flush=True)
    finally:
        if pg_name:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def main() -> None:
    """Parse arguments and run the benchmark on each requested backend."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--no-near-dedup", action="store_true", help="Export with exact dedup only.")
    args = parser.parse_args()
    extra = ["--no-near-dedup"] if args.no_near_dedup else []
    print(f"export bench: {args.rows} rows, curation: PII scrub + exact dedup"
          f"{'' if args.no_near_dedup else ' + MinHash near-dedup'} + splits "
          "(neither format holds preference pairs, so none are built)", flush=True)
    work = Path(tempfile.mkdtemp(prefix="fl-bench-export-"))
    try:
        for backend in args.backends.split(","):
            bench_backend(backend, args.rows, work, extra)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

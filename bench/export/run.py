"""Export benchmark: N interactions with feedback -> OpenAI SFT JSONL and Parquet, on SQLite and PostgreSQL.

For each backend, in one run: seed N interactions + N feedback rows, then `--rounds` rounds of: the raw dump of
the same joined rows (`sqlite3 -json` / `COPY (...) TO STDOUT`), the SFT export, the Parquet export. Each export
runs in a fresh process (peak RSS = the export's own; the export's forked reader process is reported next to
it, and the peak of both together as PSS, which counts pages they share once). Every round prints rows/s, peak
memory and the ratio of each export to that round's dump; the summary gives the median ratio over the rounds
and the highest peak memory. Targets: within 3x, peak under 500 MB.

The machine is shared: its speed drifts by tens of percent within minutes. Rounds put each export next to a
dump measured seconds before it, so a ratio compares the two at the same machine speed; and dirty pages are
flushed (`sync`) before every timed step, so no step pays for the writeback of the gigabytes the previous one
wrote.

    python -m bench.export.run --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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


FORMATS = (("openai_sft", "OpenAI SFT JSONL"), ("hf_dataset", "Parquet (HF folder)"))


def _settled() -> None:
    """Flush dirty pages before a timed step (the previous step's output must not be written back during it)."""
    os.sync()


def _export_line(label: str, r: dict, raw: float) -> str:
    return (f"export {label}: {r['seconds']:.2f}s, {r['scanned'] / r['seconds']:,.0f} rows/s "
            f"(scanned {r['scanned']}, written {r['rows']}, {r['bytes'] / 1e6:.0f} MB; dedup "
            f"{r['exact_removed']} exact + {r['near_removed']} near; PII {r['pii']}), "
            f"peak RSS {r['peak_rss_mb']:.0f} MB (reader process {r.get('reader_peak_rss_mb', 0):.0f} MB; "
            f"both together, PSS {r['peak_pss_total_mb']:.0f} MB), ratio to the round's dump {r['seconds'] / raw:.2f}x")


def bench_backend(backend: str, n: int, work: Path, extra: list[str], rounds: int) -> None:
    """Seed, then dump and export in rounds on one backend, printing one line per measurement and a summary."""
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
        tool = "sqlite3 -json" if backend == "sqlite" else "COPY ... TO STDOUT"
        ratios: dict[str, list[float]] = {fmt: [] for fmt, _ in FORMATS}
        peaks: dict[str, float] = {fmt: 0.0 for fmt, _ in FORMATS}  # PSS of both processes, sampled each second
        bounds: dict[str, float] = {fmt: 0.0 for fmt, _ in FORMATS}  # sum of their exact peak RSS (from above)
        dump, out = work / f"raw-{backend}.out", work / f"out-{backend}"
        for round_no in range(1, rounds + 1):
            _settled()
            raw = raw_dump(backend, url, path, dump)
            print(f"[{backend}] round {round_no}: raw dump ({tool}): {raw:.2f}s, {n / raw:,.0f} rows/s, "
                  f"{dump.stat().st_size / 1e6:.0f} MB", flush=True)
            dump.unlink()
            for fmt, label in FORMATS:
                _settled()
                r = export(url.replace("postgresql://", "postgresql+psycopg://"), fmt, out, extra)
                shutil.rmtree(out, ignore_errors=True)
                ratios[fmt].append(r["seconds"] / raw)
                peaks[fmt] = max(peaks[fmt], r["peak_pss_total_mb"])
                bounds[fmt] = max(bounds[fmt], r["peak_rss_mb"] + r.get("reader_peak_rss_mb", 0))
                print(f"[{backend}] round {round_no}: {_export_line(label, r, raw)}", flush=True)
        for fmt, label in FORMATS:
            shown = ", ".join(f"{x:.2f}" for x in ratios[fmt])
            print(f"[{backend}] {label}: ratio to raw dump {statistics.median(ratios[fmt]):.2f}x (median of rounds: "
                  f"{shown}); peak memory of both processes {peaks[fmt]:.0f} MB PSS (sum of their peak RSS at most "
                  f"{bounds[fmt]:.0f} MB)", flush=True)
    finally:
        if pg_name:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def main() -> None:
    """Parse arguments and run the benchmark on each requested backend."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--rounds", type=int, default=3, help="Dump + exports rounds per backend.")
    parser.add_argument("--no-near-dedup", action="store_true", help="Export with exact dedup only.")
    args = parser.parse_args()
    extra = ["--no-near-dedup"] if args.no_near_dedup else []
    print(f"export bench: {args.rows} rows, curation: PII scrub + exact dedup"
          f"{'' if args.no_near_dedup else ' + MinHash near-dedup'} + splits "
          "(neither format holds preference pairs, so none are built)", flush=True)
    work = Path(tempfile.mkdtemp(prefix="fl-bench-export-"))
    try:
        for backend in args.backends.split(","):
            bench_backend(backend, args.rows, work, extra, args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

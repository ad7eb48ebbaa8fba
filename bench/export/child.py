"""One export in a fresh process, so its peak RSS is the export's own: prints a JSON line of figures."""

from __future__ import annotations

import argparse
import json
import os
import resource
import threading
import time
from pathlib import Path

from sqlalchemy.orm import Session

from feedback.db import make_engine
from feedback.services.datasets import service


class PeakMemory:
    """Samples the proportional set size (PSS) of this process plus its children (the export's forked reader)
    every second: pages the two share after the fork count once, unlike a sum of their peak RSS.

    Reading `smaps_rollup` walks the process's page tables: ~8 ms of CPU per read of a 250 MB process on the
    bench machine, so sampling both processes every 0.2 s took ~10% of a core from the export it measures.
    Memory is bounded by design (it plateaus within the first seconds), and each process's exact peak RSS is
    reported next to this figure; their sum bounds the combined peak from above."""

    INTERVAL = 1.0

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _pss_kb(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as rollup:
                return next((int(line.split()[1]) for line in rollup if line.startswith("Pss:")), 0)
        except OSError:  # a child that just exited
            return 0

    @staticmethod
    def _children(pid: int) -> list[int]:
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as listing:
                return [int(child) for child in listing.read().split()]
        except OSError:
            return []

    def _total_mb(self) -> float:
        pids = [os.getpid()]
        for pid in pids:  # grows as children are found: the whole tree
            pids.extend(self._children(pid))
        return sum(self._pss_kb(pid) for pid in pids) / 1024

    def _run(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            self.peak_mb = max(self.peak_mb, self._total_mb())

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    """Run `service.run_export` against --url and report seconds, rows and peak memory."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--format", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--project-id", type=int, default=1)
    parser.add_argument("--no-near-dedup", action="store_true")
    args = parser.parse_args()
    engine = make_engine(args.url)
    params = {"name": f"bench-{args.format.replace('_', '-')}", "formats": [args.format],
              "dedup_near": not args.no_near_dedup}
    with Session(engine) as session, PeakMemory() as memory:
        started = time.perf_counter()
        result = service.run_export(session, args.project_id, params, Path(args.out))
        elapsed = time.perf_counter() - started
    manifest = result.manifest
    size = sum(f["bytes"] for f in manifest["files"] if not f["path"].endswith("index.tsv"))
    print(json.dumps({"seconds": elapsed, "rows": manifest["counts"]["rows"],
                      "scanned": manifest["source"]["interactions_scanned"], "bytes": size,
                      "near_removed": manifest["dedup"]["near_removed"],
                      "exact_removed": manifest["dedup"]["exact_removed"],
                      "pii": sum(manifest["pii"]["replacements"].values()),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      # the export's reader process (0 when it reads in-process)
                      "reader_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                      "peak_pss_total_mb": memory.peak_mb}))


if __name__ == "__main__":
    main()

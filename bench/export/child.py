"""One export in a fresh process, so its peak RSS is the export's own: prints a JSON line of figures."""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from sqlalchemy.orm import Session

from feedback.db import make_engine
from feedback.services.datasets import service


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
    with Session(engine) as session:
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
                      "reader_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()

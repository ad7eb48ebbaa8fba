"""Entry point: `python -m bench.active_learning.run [--seeds 5] [--out DIR] [--skip-sim] [--skip-scale]`.

Prints the simulation table (labels to reach random's final score, AULC) and the scale figures; writes
results.json and learning_curves.png into the output directory.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.active_learning import report, simulate
from bench.active_learning.data import load_davidson


def _simulation(args: argparse.Namespace, out: Path) -> None:
    data = load_davidson()
    print(f"Davidson: {len(data)} tweets, {int(data.y.sum())} hate speech ({data.y.mean():.1%}) = 'needs review'")
    if args.from_json:
        results = json.loads(args.from_json.read_text())
        print(f"simulation: {len(results)} learning curves read from {args.from_json}")
    else:
        simulate.init_data(data.texts, data.y, data.hate_share)
        started = time.perf_counter()
        results = simulate.run_all(list(range(args.seeds)), args.batches, args.budget, args.workers)
        print(f"simulation: {len(results)} learning curves in {time.perf_counter() - started:.0f} s "
              f"({args.seeds} seeds, batches {args.batches}, budget {args.budget})")
    summary = report.summarise(results)
    print(report.format_table(summary, args.budget))
    default, means = report.pick_default(summary, args.budget)
    print("plain scenario, mean over batch sizes (AULC macro-F1 | F1 labels-to-reach / budget | / random's first):")
    for name, m in sorted(means.items(), key=lambda kv: -kv[1]["aulc_f1"]):
        print(f"  {name:18} {m['aulc_f1']:.4f} | {m['need_over_budget']:.2f} | {m['need_over_random_first']:.2f}")
    print(f"evidence-based default (highest AULC macro-F1): {default}; labels to reach random's final macro-F1 = "
          f"{means[default]['need_over_budget']:.2f} x random's budget (target <= 0.50), "
          f"{means[default]['need_over_random_first']:.2f} x the labels where random's curve first touched it")
    out.mkdir(parents=True, exist_ok=True)
    (out / "simulation.json").write_text(json.dumps(results))
    report.plot(results, out / "learning_curves.png")
    print(f"wrote {out / 'simulation.json'} and {out / 'learning_curves.png'}")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the requested parts."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--batches", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(os.environ.get(
        "FEEDBACK_BENCH_OUT", Path(tempfile.gettempdir()) / "feedback-bench")) / "active_learning",
        help="Output directory (results JSON and learning_curves.png; kept out of the repository).")
    parser.add_argument("--skip-sim", action="store_true")
    parser.add_argument("--from-json", type=Path, default=None, help="Re-summarise a saved simulation.json.")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--scale-n", type=int, default=1_000_000)
    parser.add_argument("--compare-n", type=int, default=100_000)
    args = parser.parse_args(argv)
    if not args.skip_sim:
        _simulation(args, args.out)
    if not args.skip_scale:
        from bench.active_learning import scale

        scale.run(args.scale_n, args.compare_n, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Entry point: `python -m bench.active_learning.run [--seeds 5] [--out DIR] [--skip-sim] [--skip-scale]`.

Prints the simulation table (labels to reach random's final score, AULC) and the scale figures; writes
results.json and learning_curves.png into the output directory.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bench.active_learning import report, simulate
from bench.active_learning.data import load_davidson


def _simulation(args: argparse.Namespace, out: Path) -> None:
    data = load_davidson()
    print(f"Davidson: {len(data)} tweets, {int(data.y.sum())} hate speech ({data.y.mean():.1%}) = 'needs review'")
    simulate.init_data(data.texts, data.y, data.hate_share)
    started = time.perf_counter()
    results = simulate.run_all(list(range(args.seeds)), args.batches, args.budget, args.workers)
    print(f"simulation: {len(results)} learning curves in {time.perf_counter() - started:.0f} s "
          f"({args.seeds} seeds, batches {args.batches}, budget {args.budget})")
    summary = report.summarise(results)
    print(report.format_table(summary))
    default, ratios = report.pick_default(summary)
    print("mean F1 labels-to-reach ratio vs random (plain, over batch sizes): "
          + ", ".join(f"{s} {r:.2f}" for s, r in sorted(ratios.items(), key=lambda kv: kv[1])))
    print(f"evidence-based default: {default} (ratio {ratios[default]:.2f}; target <= 0.50)")
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
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "output")
    parser.add_argument("--skip-sim", action="store_true")
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

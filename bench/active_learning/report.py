"""Summaries of simulated learning curves: AULC, labels needed to reach random's final score, plot."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from feedback.services.selection.params import STRATEGIES

METRICS = {"acc": 1, "f1": 2}


def aulc(curve: list[tuple[int, float, float]], metric: str) -> float:
    """Area under the learning curve, normalised by the label range (= mean score over the budget)."""
    n = np.array([c[0] for c in curve], dtype=float)
    s = np.array([c[METRICS[metric]] for c in curve])
    if n.shape[0] < 2:
        return float(s[0]) if s.size else float("nan")
    return float(np.sum((s[1:] + s[:-1]) / 2 * np.diff(n)) / (n[-1] - n[0]))


def labels_to_reach(curve: list[tuple[int, float, float]], metric: str, target: float) -> float:
    """Fewest labels at which the curve first reaches `target`; NaN if it never does."""
    for point in curve:
        if point[METRICS[metric]] >= target - 1e-12:
            return float(point[0])
    return float("nan")


def summarise(results: list[dict]) -> dict[tuple[str, int, str], dict]:
    """Per (scenario, batch, strategy): mean/std of AULC, final score, labels to reach random's final score."""
    by_key: dict[tuple[str, int, str], dict[int, list]] = defaultdict(dict)
    for r in results:
        j = r["job"]
        by_key[(j["scenario"], j["batch"], j["strategy"])][j["seed"]] = r
    out = {}
    for (scenario, batch, strategy), per_seed in sorted(by_key.items()):
        randoms = by_key.get((scenario, batch, "random"), {})
        row: dict = {"seeds": len(per_seed)}
        for metric in METRICS:
            au = [aulc(r["curve"], metric) for r in per_seed.values()]
            final = [r["curve"][-1][METRICS[metric]] for r in per_seed.values()]
            need = []
            for seed, r in per_seed.items():
                if seed in randoms:
                    target = randoms[seed]["curve"][-1][METRICS[metric]]
                    need.append(labels_to_reach(r["curve"], metric, target))
            need_arr = np.array(need, dtype=float)
            reached = need_arr[~np.isnan(need_arr)]
            row[metric] = {
                "aulc_mean": float(np.mean(au)), "aulc_std": float(np.std(au)),
                "final_mean": float(np.mean(final)), "final_std": float(np.std(final)),
                "need_mean": float(np.mean(reached)) if reached.size else float("nan"),
                "need_std": float(np.std(reached)) if reached.size else float("nan"),
                "reached": int(reached.size), "tried": int(need_arr.size),
            }
        row["select_seconds_mean"] = float(np.mean([r["select_seconds"] for r in per_seed.values()]))
        out[(scenario, batch, strategy)] = row
    return out


def format_table(summary: dict, budget: int) -> str:
    """A fixed-width text table. 'need' = labels at which a strategy first reaches random's final score on the
    same seed (mean +- std over the seeds that reached it, reached/tried). Two ratios for macro-F1:
    '/budget' divides by the labels random spent to get that score (the budget), '/rnd' divides by the labels
    at which random's own noisy curve first touched its final score (stricter)."""
    lines = [f"{'scenario':8} {'batch':>5} {'strategy':20} {'AULC acc':>15} {'AULC F1':>15} "
             f"{'final F1':>13} {'need(acc)':>17} {'need(F1)':>17} {'/budget':>7} {'/rnd':>5} {'sel s':>6}"]
    for (scenario, batch, strategy), row in summary.items():
        rnd = summary.get((scenario, batch, "random"))
        ratio = row["f1"]["need_mean"] / rnd["f1"]["need_mean"] if rnd else float("nan")
        cells = [f"{row[m]['aulc_mean']:.4f}+-{row[m]['aulc_std']:.4f}" for m in ("acc", "f1")]
        needs = [f"{row[m]['need_mean']:5.0f}+-{row[m]['need_std']:3.0f} {row[m]['reached']}/{row[m]['tried']}"
                 for m in ("acc", "f1")]
        lines.append(f"{scenario:8} {batch:>5} {strategy:20} {cells[0]:>15} {cells[1]:>15} "
                     f"{row['f1']['final_mean']:.3f}+-{row['f1']['final_std']:.3f} {needs[0]:>17} {needs[1]:>17} "
                     f"{row['f1']['need_mean'] / budget:7.2f} {ratio:5.2f} {row['select_seconds_mean']:6.1f}")
    return "\n".join(lines)


def pick_default(summary: dict, budget: int, scenario: str = "plain") -> tuple[str, dict[str, dict[str, float]]]:
    """The non-random strategy with the highest macro-F1 AULC averaged over batch sizes.

    AULC is the criterion because it has a small spread across seeds; the first-crossing label counts are
    reported beside it (their spread across seeds is several hundred labels, too noisy to rank on)."""
    table: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for (sc, batch, strategy), row in summary.items():
        if sc != scenario or strategy == "random":
            continue
        rnd = summary[(sc, batch, "random")]["f1"]["need_mean"]
        table[strategy]["aulc_f1"].append(row["f1"]["aulc_mean"])
        table[strategy]["need_over_budget"].append(row["f1"]["need_mean"] / budget)
        table[strategy]["need_over_random_first"].append(row["f1"]["need_mean"] / rnd)
    means = {s: {k: float(np.mean(v)) for k, v in cols.items()} for s, cols in table.items()}
    order = list(STRATEGIES)  # equal AULC (margin/entropy/least confidence rank alike for 2 classes): first listed
    return max(means, key=lambda s: (round(means[s]["aulc_f1"], 4), -order.index(s))), means


def plot(results: list[dict], path: Path) -> None:
    """Learning curves (mean +- std over seeds), one panel per scenario x batch x metric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[tuple[str, int], dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        j = r["job"]
        groups[(j["scenario"], j["batch"])][j["strategy"]].append(r["curve"])
    keys = sorted(groups)
    fig, axes = plt.subplots(len(keys), 2, figsize=(12, 3.6 * len(keys)), squeeze=False)
    for row, key in enumerate(keys):
        for col, metric in enumerate(("acc", "f1")):
            ax = axes[row][col]
            for strategy, curves in sorted(groups[key].items()):
                length = min(len(c) for c in curves)
                n = np.array([curves[0][i][0] for i in range(length)])
                s = np.array([[c[i][METRICS[metric]] for i in range(length)] for c in curves])
                ax.plot(n, s.mean(0), label=strategy, lw=1.4)
                ax.fill_between(n, s.mean(0) - s.std(0), s.mean(0) + s.std(0), alpha=0.15)
            ax.set_title(f"{key[0]} / batch {key[1]} / {'accuracy' if metric == 'acc' else 'macro-F1'}")
            ax.set_xlabel("annotator labels")
            ax.grid(alpha=0.3)
            if col == 1:
                ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)

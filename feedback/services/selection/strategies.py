"""Selection strategies. Each picks `k` row positions from the eligible rows of a pool; none is O(N^2).

For a two-class quality model margin, entropy and least confidence rank items identically (all are monotone
in |p - 0.5|); they are offered separately because their scores differ in scale and are recorded as such.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from feedback.services.selection.diversity import diverse_pick, representative_pick

UNCERTAINTY_KINDS = ("margin", "entropy", "least_confidence")


def uncertainty(p_bad: np.ndarray, kind: str) -> np.ndarray:
    """Uncertainty of a two-class prediction; higher means less sure."""
    p = np.clip(p_bad, 1e-12, 1 - 1e-12)
    if kind == "margin":
        return 1.0 - np.abs(2.0 * p - 1.0)
    if kind == "least_confidence":
        return 1.0 - np.maximum(p, 1.0 - p)
    if kind == "entropy":
        return -(p * np.log2(p) + (1.0 - p) * np.log2(1.0 - p))
    raise ValueError(f"unknown uncertainty kind {kind!r}")


def top_k(scores: np.ndarray, eligible: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Positions of the k highest scores among `eligible` positions, best first; ties broken by the seed.

    Uses argpartition (O(N)), then sorts only the k winners.
    """
    if k <= 0 or eligible.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    s = scores[eligible].astype(np.float64)
    tiebreak = rng.random(s.shape[0]) * 1e-9 * (np.abs(s).max() + 1.0)
    s = s + tiebreak
    k = min(k, s.shape[0])
    part = np.argpartition(-s, k - 1)[:k] if k < s.shape[0] else np.arange(s.shape[0])
    return eligible[part[np.argsort(-s[part], kind="stable")]]


@dataclass
class StrategyContext:
    """Inputs a strategy may use. `p_bad` is None when no model could be trained (cold start)."""

    X: sp.csr_matrix
    eligible: np.ndarray
    rng: np.random.Generator
    seed: int
    p_bad: np.ndarray | None = None
    committee_p: np.ndarray | None = None  # shape (members, n)
    thumbs_down: np.ndarray | None = None
    thumbs_up: np.ndarray | None = None
    candidate_factor: int = 10
    max_candidates: int = 20_000
    sketch_dim: int = 256


def pick_random(ctx: StrategyContext, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniform sample without replacement (also used for the unbiased share of every batch)."""
    k = min(k, ctx.eligible.shape[0])
    picked = ctx.rng.choice(ctx.eligible, size=k, replace=False) if k > 0 else ctx.eligible[:0]
    return picked, np.zeros(picked.shape[0])


def pick_uncertain(ctx: StrategyContext, k: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """The k most uncertain eligible items under margin / entropy / least confidence."""
    u = uncertainty(ctx.p_bad, kind)
    picked = top_k(u, ctx.eligible, k, ctx.rng)
    return picked, u[picked]


def pick_diverse(ctx: StrategyContext, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Margin + diversity: cluster the top (k x factor) uncertain items, take the most uncertain per cluster."""
    u = uncertainty(ctx.p_bad, "margin")
    n_cand = min(max(k * ctx.candidate_factor, k), ctx.max_candidates, ctx.eligible.shape[0])
    cand = top_k(u, ctx.eligible, max(n_cand, min(k, ctx.eligible.shape[0])), ctx.rng)
    picked = diverse_pick(ctx.X, cand, u[cand], k, dim=ctx.sketch_dim, seed=ctx.seed)
    return picked, u[picked]


def pick_committee(ctx: StrategyContext, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Query by committee: the items on which bagged models disagree most (std of P(bad)), margin as tiebreak."""
    if ctx.committee_p is None or ctx.committee_p.shape[0] < 2:
        raise ValueError("committee strategy needs at least two committee members")
    disagreement = ctx.committee_p.std(axis=0)
    mean_p = ctx.committee_p.mean(axis=0)
    score = disagreement + 1e-3 * uncertainty(mean_p, "margin")
    picked = top_k(score, ctx.eligible, k, ctx.rng)
    return picked, score[picked]


def pick_thumbs_disagreement(ctx: StrategyContext, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Items where end users disagree with the model (or with each other) first, then the most uncertain.

    Score for an item with thumbs: |share of thumbs down - P(bad)| + share of the minority vote; items
    without thumbs rank after all items with thumbs, by margin.
    """
    n = ctx.X.shape[0]
    down = ctx.thumbs_down if ctx.thumbs_down is not None else np.zeros(n)
    up = ctx.thumbs_up if ctx.thumbs_up is not None else np.zeros(n)
    total = down + up
    has = total > 0
    share_down = np.divide(down, total, out=np.zeros(n), where=has)
    minority = np.divide(np.minimum(down, up), total, out=np.zeros(n), where=has)
    score = np.where(has, 2.0 + np.abs(share_down - ctx.p_bad) + minority, uncertainty(ctx.p_bad, "margin"))
    picked = top_k(score, ctx.eligible, k, ctx.rng)
    return picked, score[picked]


def pick_cold_start(ctx: StrategyContext, k: int) -> tuple[np.ndarray, np.ndarray]:
    """No usable model: thumbs-down items first (most downs first), then representatives of a random sample."""
    n = ctx.X.shape[0]
    down = ctx.thumbs_down if ctx.thumbs_down is not None else np.zeros(n)
    flagged = ctx.eligible[down[ctx.eligible] > 0]
    first = top_k(down.astype(np.float64), flagged, k, ctx.rng)
    remaining = k - first.shape[0]
    if remaining <= 0:
        return first, down[first].astype(np.float64)
    rest = np.setdiff1d(ctx.eligible, first, assume_unique=True)
    n_cand = min(max(remaining * ctx.candidate_factor, remaining), ctx.max_candidates, rest.shape[0])
    cand = np.sort(ctx.rng.choice(rest, size=n_cand, replace=False)) if n_cand else rest[:0]
    reps = representative_pick(ctx.X, cand, remaining, dim=ctx.sketch_dim, seed=ctx.seed)
    picked = np.concatenate([first, reps])
    return picked, np.concatenate([down[first].astype(np.float64), np.zeros(reps.shape[0])])


def run_strategy(name: str, ctx: StrategyContext, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Dispatch by strategy name; returns (positions, strategy scores) of at most k eligible rows."""
    if name == "random":
        return pick_random(ctx, k)
    if name == "cold_start":
        return pick_cold_start(ctx, k)
    if ctx.p_bad is None:
        raise ValueError(f"strategy {name!r} needs a trained model")
    if name in UNCERTAINTY_KINDS:
        return pick_uncertain(ctx, k, name)
    if name == "diversity":
        return pick_diverse(ctx, k)
    if name == "committee":
        return pick_committee(ctx, k)
    if name == "thumbs_disagreement":
        return pick_thumbs_disagreement(ctx, k)
    raise ValueError(f"unknown strategy {name!r}")

"""One selection cycle over an in-memory pool: train (optional), score, pick by strategy, add the random share.

The database-facing service builds the `Pool` and `TrainingSet`; the simulation bench calls `select` directly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from feedback.services.selection.model import QualityModel, TrainingSet, fit_committee, train_quality_model
from feedback.services.selection.params import SelectionParams, parse_params
from feedback.services.selection.strategies import StrategyContext, run_strategy

NEEDS_MODEL = frozenset({"margin", "entropy", "least_confidence", "diversity", "committee",
                         "thumbs_disagreement"})


@dataclass
class Pool:
    """Unlabelled candidate items: ids aligned with feature rows, optional per-item thumb counts."""

    ids: np.ndarray
    X: sp.csr_matrix
    thumbs_down: np.ndarray | None = None
    thumbs_up: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.ids = np.asarray(self.ids, dtype=np.int64)
        if self.X.shape[0] != self.ids.shape[0]:
            raise ValueError(f"pool has {self.ids.shape[0]} ids but {self.X.shape[0]} feature rows")
        for name in ("thumbs_down", "thumbs_up"):
            arr = getattr(self, name)
            if arr is not None and np.asarray(arr).shape[0] != self.ids.shape[0]:
                raise ValueError(f"pool {name} has {np.asarray(arr).shape[0]} rows, expected {self.ids.shape[0]}")


@dataclass
class SelectionResult:
    """What a cycle picked and why; everything a `selection_runs` row records."""

    ids: np.ndarray
    sources: list[str]
    p_bad: np.ndarray | None
    strategy_scores: np.ndarray
    params: SelectionParams
    effective_strategy: str
    model: QualityModel | None
    pool_size: int
    eligible_size: int
    timings: dict[str, float] = field(default_factory=dict)

    def items(self) -> list[dict[str, Any]]:
        """Selected items as JSON-friendly dicts (id, source, p_bad, strategy score), best first."""
        return [
            {
                "id": int(self.ids[i]),
                "source": self.sources[i],
                "p_bad": None if self.p_bad is None else round(float(self.p_bad[i]), 6),
                "score": round(float(self.strategy_scores[i]), 6),
            }
            for i in range(self.ids.shape[0])
        ]


def _eligible(pool: Pool, exclude_ids: np.ndarray | None) -> np.ndarray:
    keep = np.ones(pool.ids.shape[0], dtype=bool)
    if exclude_ids is not None and len(exclude_ids):
        keep &= ~np.isin(pool.ids, np.asarray(exclude_ids, dtype=np.int64))
    return np.flatnonzero(keep)


def select(pool: Pool, params: SelectionParams | dict[str, Any], *, training: TrainingSet | None = None,
           model: QualityModel | None = None, exclude_ids: np.ndarray | list[int] | None = None) -> SelectionResult:
    """Select up to `params.budget` items from `pool`, never an id in `exclude_ids`.

    If `model` is None it is trained from `training`; when no model can be trained (no labels, or one class
    only) a model-based strategy falls back to `cold_start`, recorded as `effective_strategy`.
    """
    params = parse_params(params)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    eligible = _eligible(pool, exclude_ids)
    rng = np.random.default_rng(params.seed)
    if model is None and training is not None and params.strategy != "random":
        model = train_quality_model(training, seed=params.seed, C=1.0)
    timings["train"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    effective = params.strategy
    if effective in NEEDS_MODEL and model is None:
        effective = "cold_start"
    p_bad = model.predict_bad(pool.X) if model is not None else None
    committee_p = None
    if effective == "committee":
        if training is None or not training.has_both_classes:
            raise ValueError("committee strategy needs a training set with both classes")
        members = fit_committee(training, params.committee_size, params.seed)
        committee_p = np.vstack([m.predict_bad(pool.X) for m in members])
    timings["score"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    ctx = StrategyContext(
        X=pool.X, eligible=eligible, rng=rng, seed=params.seed, p_bad=p_bad, committee_p=committee_p,
        thumbs_down=None if pool.thumbs_down is None else np.asarray(pool.thumbs_down, dtype=np.float64),
        thumbs_up=None if pool.thumbs_up is None else np.asarray(pool.thumbs_up, dtype=np.float64),
        candidate_factor=params.candidate_factor, max_candidates=params.max_candidates,
        sketch_dim=params.sketch_dim,
    )
    target = min(params.budget, eligible.shape[0])
    n_random = min(params.n_random, target)
    picked, scores = run_strategy(effective, ctx, target - n_random) if effective != "random" else (
        np.zeros(0, dtype=np.int64), np.zeros(0))
    sources = ["strategy"] * picked.shape[0]
    remaining = np.setdiff1d(eligible, picked, assume_unique=True)
    ctx_random = StrategyContext(X=pool.X, eligible=remaining, rng=rng, seed=params.seed)
    extra, _ = run_strategy("random", ctx_random, target - picked.shape[0])
    picked = np.concatenate([picked, extra]).astype(np.int64)
    scores = np.concatenate([scores, np.zeros(extra.shape[0])])
    sources += ["random"] * extra.shape[0]
    timings["select"] = time.perf_counter() - t2
    timings["total"] = time.perf_counter() - t0
    return SelectionResult(
        ids=pool.ids[picked], sources=sources, p_bad=None if p_bad is None else p_bad[picked],
        strategy_scores=scores, params=params, effective_strategy=effective, model=model,
        pool_size=int(pool.ids.shape[0]), eligible_size=int(eligible.shape[0]), timings=timings,
    )

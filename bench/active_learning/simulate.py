"""Simulated labelling on the Davidson data, following shared/reference/active-learning.md.

Per seed: stratified 75/25 split; 20 class-balanced seed labels; batches of 20 and 100 up to 1,000 annotator
labels; the product's own features, quality model and `select()` (with its default 10% random share).
Scenario "plain": no end-user signal. Scenario "thumbs": 20% of the pool carries one simulated end-user thumb
(down with probability = the item's share of hate-speech votes), used as a weak label by every strategy;
"cold_start" starts with no annotator labels at all (first batch by the cold-start strategy, then margin).
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from feedback.services.selection import FeatureInput, Pool, TrainingSet, select, train_quality_model, vectorize
from feedback.services.selection.model import combine_labels

PLAIN = ("random", "margin", "entropy", "least_confidence", "diversity", "committee")
THUMBS = ("random", "margin", "thumbs_disagreement", "cold_start")
THUMB_RATE = 0.20
THUMB_WEIGHT = 0.3
SEED_LABELS = 20

_G: dict = {}


@dataclass(frozen=True)
class Job:
    scenario: str
    strategy: str
    batch: int
    seed: int
    budget: int


def init_data(texts: list[str], y: np.ndarray, hate_share: np.ndarray) -> None:
    """Vectorise once and keep globals for forked workers."""
    _G["X"] = vectorize(FeatureInput(prompts=[""] * len(texts), responses=texts))
    _G["y"] = y
    _G["hate_share"] = hate_share


def _evaluate(model, X_test, y_test) -> tuple[float, float]:
    pred = (model.predict_bad(X_test) >= 0.5).astype(int) if model is not None else np.zeros(len(y_test), int)
    return float(accuracy_score(y_test, pred)), float(f1_score(y_test, pred, average="macro"))


def run_job(job: Job) -> dict:
    """One learning curve: list of (annotator labels, accuracy, macro-F1)."""
    with threadpool_limits(limits=1):  # two single-threaded workers beat oversubscribed BLAS/OpenMP here
        return _run_job(job)


def _run_job(job: Job) -> dict:
    X, y = _G["X"], _G["y"]
    idx = np.arange(len(y))
    pool_idx, test_idx = train_test_split(idx, test_size=0.25, stratify=y, random_state=job.seed)
    pool_idx = np.sort(pool_idx)
    X_pool, X_test, y_test = X[pool_idx], X[test_idx], y[test_idx]
    rng = np.random.default_rng(job.seed)
    down = np.zeros(pool_idx.shape[0])
    up = np.zeros(pool_idx.shape[0])
    if job.scenario == "thumbs":
        has = rng.random(pool_idx.shape[0]) < THUMB_RATE
        is_down = rng.random(pool_idx.shape[0]) < _G["hate_share"][pool_idx]
        down[has & is_down] = 1
        up[has & ~is_down] = 1
    weak = {int(pool_idx[i]): int(down[i] > 0) for i in np.flatnonzero(down + up)}
    if job.strategy == "cold_start":
        labelled: list[int] = []
    else:
        per_class = SEED_LABELS // 2
        labelled = [int(v) for c in (1, 0)
                    for v in rng.choice(pool_idx[y[pool_idx] == c], per_class, replace=False)]
    pool = Pool(pool_idx, X_pool, thumbs_down=down, thumbs_up=up)
    curve, step, select_seconds = [], 0, 0.0
    while True:
        strong = {i: int(y[i]) for i in labelled}
        ids, yy, w, is_strong = combine_labels(strong, weak, THUMB_WEIGHT)
        ts = TrainingSet(X[ids], yy, w, is_strong, ids=ids)
        model = train_quality_model(ts, seed=job.seed, with_metrics=False)
        if labelled:
            acc, f1 = _evaluate(model, X_test, y_test)
            curve.append((len(labelled), acc, f1))
        if len(labelled) >= job.budget:
            break
        strategy = job.strategy
        if strategy == "cold_start":
            strategy = "cold_start" if not labelled else "margin"
        k = min(job.batch, job.budget - len(labelled))
        t0 = time.perf_counter()
        res = select(pool, {"strategy": strategy, "budget": k, "seed": job.seed * 1000 + step},
                     training=ts if ts.has_both_classes else None, model=model, exclude_ids=labelled)
        select_seconds += time.perf_counter() - t0
        chosen = res.ids.tolist()
        if set(chosen) & set(labelled):
            raise AssertionError("selection returned an already labelled item")
        labelled.extend(chosen)
        step += 1
    return {"job": job.__dict__, "curve": curve, "select_seconds": select_seconds, "steps": step}


def run_all(seeds: list[int], batches: list[int], budget: int, workers: int) -> list[dict]:
    """Run every (scenario, strategy, batch, seed) in a fork pool of `workers` processes."""
    jobs = [Job(sc, st, b, s, budget) for sc, strategies in (("plain", PLAIN), ("thumbs", THUMBS))
            for st in strategies for b in batches for s in seeds]
    if workers <= 1:
        return [run_job(j) for j in jobs]
    with mp.get_context("fork").Pool(workers) as pool:
        return pool.map(run_job, jobs, chunksize=1)

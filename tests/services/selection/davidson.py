"""Small real data for selection tests: a fixed stratified slice of the Davidson tweets (skips if absent)."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from feedback.services.selection import FeatureInput, TrainingSet, vectorize

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DAVIDSON_CSV = PROJECT_ROOT.parent / "shared" / "datasets" / "davidson-hate-offensive" / "labeled_data.csv"


@lru_cache(maxsize=1)
def _rows(n_bad: int = 150, n_good: int = 1350) -> tuple[list[str], np.ndarray]:
    if not DAVIDSON_CSV.is_file():
        pytest.skip(f"Davidson data absent: expected {DAVIDSON_CSV} (<project root>/../shared/datasets/...)")
    bad, good = [], []
    with DAVIDSON_CSV.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            (bad if row["class"] == "0" else good).append(row["tweet"])
    # Every k-th row keeps the slice fixed and spread over the file.
    bad = bad[:: max(len(bad) // n_bad, 1)][:n_bad]
    good = good[:: max(len(good) // n_good, 1)][:n_good]
    texts = bad + good
    y = np.array([1] * len(bad) + [0] * len(good), dtype=np.int8)
    return texts, y


def davidson_slice():
    """(texts, y, X): 1,500 tweets, 10% hate speech (y = 1), vectorised with the default spec."""
    texts, y = _rows()
    X = vectorize(FeatureInput(prompts=[""] * len(texts), responses=texts))
    return texts, y, X


def seed_training(X, y, per_class: int = 15, seed: int = 0) -> tuple[TrainingSet, np.ndarray]:
    """A class-balanced set of strong labels and the row positions it uses."""
    rng = np.random.default_rng(seed)
    rows = np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in (0, 1)]))
    n = rows.shape[0]
    return TrainingSet(X[rows], y[rows], np.ones(n), np.ones(n, dtype=bool), ids=rows), rows

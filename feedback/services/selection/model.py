"""The per-project quality model: P(response is bad / needs review) from cached feature rows.

Annotator labels are strong (weight 1); end-user thumbs are weak labels with a smaller sample weight; where
an item has both, the annotator label wins. The model is versioned by a digest of its training data and
parameters (same data + seed -> same version), and carries held-out metrics computed on annotator labels
that the fitted estimator used for the metrics did not see.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, brier_score_loss, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split

MIN_PER_CLASS_FOR_HOLDOUT = 5


@dataclass
class TrainingSet:
    """Rows with a label (1 = bad / needs review, 0 = fine), a sample weight, and whether the label is strong."""

    X: sp.csr_matrix
    y: np.ndarray
    weight: np.ndarray
    strong: np.ndarray
    ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = self.X.shape[0]
        for name in ("y", "weight", "strong"):
            if getattr(self, name).shape[0] != n:
                raise ValueError(f"TrainingSet.{name} has {getattr(self, name).shape[0]} rows, X has {n}")

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def has_both_classes(self) -> bool:
        """A classifier needs at least one example of each class."""
        return len(self) > 0 and np.unique(self.y).shape[0] == 2


def combine_labels(strong: dict[int, int], weak: dict[int, int], weak_weight: float) -> tuple[
        np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Merge annotator labels and thumbs (both keyed by item id, values 0/1) into ids, y, weight, strong.

    An id with an annotator label ignores its thumbs. Returned ids are sorted.
    """
    keys = set(strong)
    if weak_weight > 0:
        keys |= set(weak)
    ids = sorted(keys)
    y = np.array([strong[i] if i in strong else weak[i] for i in ids], dtype=np.int8)
    is_strong = np.array([i in strong for i in ids], dtype=bool)
    weight = np.where(is_strong, 1.0, weak_weight).astype(np.float64)
    return np.asarray(ids, dtype=np.int64), y, weight, is_strong


def _estimator(seed: int, C: float, n_rows: int = 0) -> SGDClassifier:
    # Averaged SGD on the log loss: a logistic regression that fits 1,000 labels over 2^18+ hashed columns
    # in tens of milliseconds (liblinear/lbfgs took ~1-2 s here for the same macro-F1). alpha = 1e-4 / C.
    # Epochs shrink as rows grow (about 250k row updates in all, at least 5 epochs): with tens of thousands
    # of thumbs as weak labels more passes cost seconds and change little.
    epochs = int(np.clip(250_000 // max(n_rows, 1), 5, 50))
    return SGDClassifier(loss="log_loss", alpha=1e-4 / C, average=True, class_weight="balanced",
                         max_iter=epochs, tol=1e-4, random_state=seed)


def _data_digest(ts: TrainingSet, extra: str) -> str:
    h = hashlib.sha1(extra.encode())
    if ts.ids is not None:
        h.update(np.ascontiguousarray(ts.ids, dtype=np.int64).tobytes())
    else:
        h.update(np.ascontiguousarray(ts.X.data).tobytes())
    h.update(np.ascontiguousarray(ts.y, dtype=np.int8).tobytes())
    h.update(np.ascontiguousarray(ts.weight, dtype=np.float64).tobytes())
    return h.hexdigest()[:12]


@dataclass
class QualityModel:
    """A fitted estimator plus the metadata stored with each selection run."""

    estimator: SGDClassifier
    version: str
    n_train: int
    n_strong: int
    metrics: dict[str, Any] = field(default_factory=dict)
    fit_seconds: float = 0.0

    def predict_bad(self, X: sp.csr_matrix, batch_rows: int = 200_000) -> np.ndarray:
        """P(bad) for every row, computed in row batches to bound memory."""
        out = np.empty(X.shape[0], dtype=np.float64)
        coef = self.estimator.coef_.ravel().astype(np.float32)
        intercept = float(self.estimator.intercept_[0])
        for start in range(0, X.shape[0], batch_rows):
            z = X[start:start + batch_rows] @ coef + intercept
            out[start:start + batch_rows] = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        return out

    def save(self, path: Path | str) -> Path:
        """Persist with joblib (written to a temporary name, then renamed)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        joblib.dump(self, tmp)
        tmp.replace(path)
        return path

    @staticmethod
    def load(path: Path | str) -> QualityModel:
        """Load a model written by `save`."""
        return joblib.load(Path(path))


def _holdout_metrics(ts: TrainingSet, seed: int, C: float) -> dict[str, Any]:
    strong_idx = np.flatnonzero(ts.strong)
    y_strong = ts.y[strong_idx]
    counts = np.bincount(y_strong, minlength=2) if strong_idx.size else np.zeros(2, dtype=int)
    if counts.min() < MIN_PER_CLASS_FOR_HOLDOUT:
        return {"holdout": None, "reason": f"need >= {MIN_PER_CLASS_FOR_HOLDOUT} annotator labels per class",
                "annotator_counts": counts.tolist()}
    train_s, test_s = train_test_split(strong_idx, test_size=0.2, stratify=y_strong, random_state=seed)
    train_idx = np.sort(np.concatenate([train_s, np.flatnonzero(~ts.strong)]))
    if np.unique(ts.y[train_idx]).shape[0] < 2:
        return {"holdout": None, "reason": "training part of the split has one class"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = _estimator(seed, C, train_idx.shape[0]).fit(ts.X[train_idx], ts.y[train_idx],
                                                          sample_weight=ts.weight[train_idx])
    proba = est.predict_proba(ts.X[test_s])[:, 1]
    pred = (proba >= 0.5).astype(int)
    y_true = ts.y[test_s]
    return {
        "holdout": int(test_s.shape[0]),
        "accuracy": float(accuracy_score(y_true, pred)),
        "macro_f1": float(f1_score(y_true, pred, average="macro")),
        "roc_auc": float(roc_auc_score(y_true, proba)),
        "brier": float(brier_score_loss(y_true, proba)),
        "annotator_counts": counts.tolist(),
    }


def train_quality_model(ts: TrainingSet, *, seed: int = 0, C: float = 1.0,
                        with_metrics: bool = True, tag: str = "") -> QualityModel | None:
    """Fit the quality model, or return None when the labels do not yet contain both classes."""
    if not ts.has_both_classes:
        return None
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # capped epochs on tiny label sets
        est = _estimator(seed, C, len(ts)).fit(ts.X, ts.y, sample_weight=ts.weight)
    fit_seconds = time.perf_counter() - started
    metrics = _holdout_metrics(ts, seed, C) if with_metrics else {}
    version = f"qm-{_data_digest(ts, f'{tag}|{seed}|{C}|{ts.X.shape[1]}')}"
    return QualityModel(estimator=est, version=version, n_train=len(ts), n_strong=int(ts.strong.sum()),
                        metrics=metrics, fit_seconds=fit_seconds)


def fit_committee(ts: TrainingSet, size: int, seed: int, C: float = 1.0) -> list[QualityModel]:
    """Bagged committee: each member is fit on a per-class bootstrap sample (so every member sees both classes)."""
    rng = np.random.default_rng(seed)
    classes = [np.flatnonzero(ts.y == c) for c in (0, 1)]
    members = []
    for m in range(size):
        idx = np.sort(np.concatenate([rng.choice(c, size=c.shape[0], replace=True) for c in classes]))
        sub = TrainingSet(ts.X[idx], ts.y[idx], ts.weight[idx], ts.strong[idx])
        model = train_quality_model(sub, seed=seed + m + 1, C=C, with_metrics=False, tag=f"member{m}")
        if model is not None:
            members.append(model)
    return members

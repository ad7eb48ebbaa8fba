"""Inter-annotator agreement: Cohen's kappa, Fleiss' kappa and Krippendorff's alpha.

Inputs are either paired labels (Cohen) or a per-item count matrix ``counts[item, category]`` = how many
annotators put the item in that category (Fleiss, Krippendorff). Items may have different numbers of
annotators; items with fewer than two are ignored (they carry no agreement information).
Krippendorff's alpha supports the ``nominal``, ``ordinal`` and ``interval`` metrics.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

METRICS = ("nominal", "ordinal", "interval")


class AgreementError(ValueError):
    """Not enough (or inconsistent) data to compute an agreement statistic."""


def _as_counts(counts: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    matrix = np.asarray(counts, dtype=float)
    if matrix.ndim != 2 or matrix.shape[1] < 2:
        raise AgreementError("counts must be a 2-D matrix with at least two categories")
    if (matrix < 0).any():
        raise AgreementError("counts must be non-negative")
    return matrix[matrix.sum(axis=1) >= 2]


def cohens_kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> float:
    """Cohen's kappa between two annotators' labels on the same items (in the same order)."""
    if len(first) != len(second) or not first:
        raise AgreementError("Cohen's kappa needs two equally long, non-empty label sequences")
    categories = sorted(set(first) | set(second), key=str)
    index = {c: i for i, c in enumerate(categories)}
    table = np.zeros((len(categories), len(categories)))
    for a, b in zip(first, second, strict=True):
        table[index[a], index[b]] += 1
    n = table.sum()
    observed = np.trace(table) / n
    expected = float((table.sum(axis=1) / n) @ (table.sum(axis=0) / n))
    if expected == 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return float((observed - expected) / (1.0 - expected))


def fleiss_kappa(counts: Sequence[Sequence[float]] | np.ndarray) -> float:
    """Fleiss' kappa from per-item category counts (variable annotators per item allowed)."""
    matrix = _as_counts(counts)
    if len(matrix) == 0:
        raise AgreementError("no item has two or more annotations")
    raters = matrix.sum(axis=1)
    per_item = ((matrix * (matrix - 1)).sum(axis=1)) / (raters * (raters - 1))
    observed = per_item.mean()
    shares = matrix.sum(axis=0) / raters.sum()
    expected = float((shares**2).sum())
    if expected == 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return float((observed - expected) / (1.0 - expected))


def _distance(values: np.ndarray, totals: np.ndarray, metric: str) -> np.ndarray:
    if metric == "nominal":
        return 1.0 - np.eye(len(values))
    if metric == "interval":
        return (values[:, None] - values[None, :]) ** 2
    if metric == "ordinal":  # Krippendorff: sum of marginals between the two ranks, minus half the ends
        cumulative = np.concatenate([[0.0], np.cumsum(totals)])
        low = np.minimum.outer(np.arange(len(values)), np.arange(len(values)))
        high = np.maximum.outer(np.arange(len(values)), np.arange(len(values)))
        between = cumulative[high + 1] - cumulative[low] - (totals[low] + totals[high]) / 2.0
        return between**2
    raise AgreementError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")


def krippendorff_alpha(counts: Sequence[Sequence[float]] | np.ndarray, metric: str = "nominal",
                       values: Sequence[float] | None = None) -> float:
    """Krippendorff's alpha from per-item category counts; ``values`` are the categories' numeric values
    (default 0..k-1), used by the ordinal and interval metrics in that order."""
    matrix = _as_counts(counts)
    if len(matrix) == 0:
        raise AgreementError("no item has two or more annotations")
    k = matrix.shape[1]
    category_values = np.asarray(values if values is not None else range(k), dtype=float)
    if len(category_values) != k:
        raise AgreementError("values must give one number per category")
    pairable = matrix.sum(axis=1) - 1
    weighted = matrix / pairable[:, None]
    coincidence = weighted.T @ matrix - np.diag(weighted.sum(axis=0))
    totals = coincidence.sum(axis=0)
    n = totals.sum()
    delta = _distance(category_values, totals, metric)
    disagreement_expected = float(totals @ delta @ totals)
    if disagreement_expected == 0.0:
        raise AgreementError("every annotation has the same value: alpha is undefined")
    return float(1.0 - (n - 1) * float((coincidence * delta).sum()) / disagreement_expected)


def counts_from_units(units: Sequence[Sequence[Hashable]], categories: Sequence[Hashable] | None = None
                      ) -> tuple[np.ndarray, list[Hashable]]:
    """Turn per-item label lists (missing labels simply absent) into a count matrix and its categories."""
    labels = list(categories) if categories is not None else sorted({v for unit in units for v in unit}, key=str)
    index = {c: i for i, c in enumerate(labels)}
    matrix = np.zeros((len(units), len(labels)))
    for row, unit in enumerate(units):
        for value in unit:
            if value not in index:
                raise AgreementError(f"label {value!r} is not among the categories")
            matrix[row, index[value]] += 1
    return matrix, labels

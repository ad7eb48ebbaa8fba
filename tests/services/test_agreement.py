"""Agreement statistics: published reference values, cross-checks, and the Davidson per-item vote counts."""

from __future__ import annotations

import csv
import random

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from feedback.services.agreement import (
    AgreementError,
    cohens_kappa,
    counts_from_units,
    fleiss_kappa,
    krippendorff_alpha,
)
from tests.conftest import SHARED_DATASETS

pytestmark = pytest.mark.once  # backend-independent: runs in the SQLite pass only

DAVIDSON = SHARED_DATASETS / "davidson-hate-offensive" / "labeled_data.csv"

# Fleiss (1971) as worked on the Wikipedia page: 10 subjects, 14 raters, 5 categories, kappa = 0.210.
FLEISS_EXAMPLE = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]
# Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers, 12 units, missing values.
KRIPP_OBSERVERS = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def _kripp_counts():
    units = [[obs[u] for obs in KRIPP_OBSERVERS if obs[u] is not None] for u in range(12)]
    return counts_from_units(units, categories=[1, 2, 3, 4, 5])


def test_fleiss_matches_the_published_example():
    assert fleiss_kappa(FLEISS_EXAMPLE) == pytest.approx(0.210, abs=5e-4)


def test_krippendorff_matches_the_published_example():
    counts, categories = _kripp_counts()
    assert krippendorff_alpha(counts, "nominal") == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(counts, "interval", values=categories) == pytest.approx(0.849, abs=5e-4)
    assert krippendorff_alpha(counts, "ordinal", values=categories) == pytest.approx(0.815, abs=5e-4)


def test_cohens_kappa_agrees_with_scikit_learn():
    rng = random.Random(7)
    first = [rng.choice("abc") for _ in range(500)]
    second = [x if rng.random() < 0.7 else rng.choice("abc") for x in first]
    assert cohens_kappa(first, second) == pytest.approx(cohen_kappa_score(first, second), abs=1e-12)
    assert cohens_kappa(["x", "y"], ["x", "y"]) == 1.0


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(AgreementError):
        cohens_kappa(["a"], ["a", "b"])
    with pytest.raises(AgreementError):
        fleiss_kappa([[1, 0], [0, 1]])  # nobody has a second annotation
    with pytest.raises(AgreementError):
        krippendorff_alpha([[3, 0], [2, 0]])  # one value only: alpha undefined
    with pytest.raises(AgreementError):
        krippendorff_alpha([[1, 1]], metric="cosine")
    with pytest.raises(AgreementError):
        counts_from_units([["a", "z"]], categories=["a", "b"])


@pytest.fixture(scope="module")
def davidson_counts() -> np.ndarray:
    if not DAVIDSON.is_file():
        pytest.skip(f"Davidson dataset not found at {DAVIDSON}")
    with DAVIDSON.open(newline="", encoding="utf-8") as handle:
        rows = [(int(r["hate_speech"]), int(r["offensive_language"]), int(r["neither"]), int(r["count"]),
                 int(r["class"])) for r in csv.DictReader(handle)]
    assert len(rows) == 24_783
    assert all(h + o + n == c for h, o, n, c, _ in rows)
    assert [sum(1 for *_, k in rows if k == cls) for cls in range(3)] == [1_430, 19_190, 4_163]
    return np.array([r[:3] for r in rows], dtype=float)


def test_davidson_vote_counts(davidson_counts):
    fleiss = fleiss_kappa(davidson_counts)
    alpha = krippendorff_alpha(davidson_counts)
    # Crowd labels on a skewed 3-class task: moderate chance-corrected agreement, far below raw agreement.
    assert 0.3 < fleiss < 0.7 and 0.3 < alpha < 0.7
    assert alpha == pytest.approx(fleiss, abs=0.01)  # the two coincide for many items
    raters = davidson_counts.sum(axis=1)
    raw = float((((davidson_counts * (davidson_counts - 1)).sum(axis=1)) / (raters * (raters - 1))).mean())
    assert raw > 0.8 > fleiss

    # A second code path: expand the counts into per-unit label lists and recompute.
    units = [[c for c in range(3) for _ in range(int(row[c]))] for row in davidson_counts[:3000]]
    expanded, _ = counts_from_units(units, categories=[0, 1, 2])
    assert krippendorff_alpha(expanded) == pytest.approx(krippendorff_alpha(davidson_counts[:3000]), abs=1e-12)

    # On items with exactly three annotators, Fleiss equals the textbook fixed-n formula.
    three = davidson_counts[raters == 3]
    p_i = ((three**2).sum(axis=1) - 3) / 6
    p_j = three.sum(axis=0) / three.sum()
    textbook = (p_i.mean() - (p_j**2).sum()) / (1 - (p_j**2).sum())
    assert fleiss_kappa(three) == pytest.approx(textbook, abs=1e-12)

    # "Hate speech or not" as a binary task: less agreement on the rare class.
    binary = np.column_stack([davidson_counts[:, 0], davidson_counts[:, 1:].sum(axis=1)])
    assert fleiss_kappa(binary) < fleiss

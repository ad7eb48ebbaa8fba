"""Determinism, cold start, exclusions and parameter validation of `select`."""

from __future__ import annotations

import numpy as np
import pytest

from feedback.errors import ValidationFailed
from feedback.services.selection import Pool, SelectionParamsError, TrainingSet, parse_params, select
from tests.services.selection.davidson import davidson_slice, seed_training

pytestmark = pytest.mark.once  # backend-independent: runs in the SQLite pass only


@pytest.fixture(scope="module")
def data():
    texts, y, X = davidson_slice()
    return y, X


@pytest.mark.parametrize("strategy", ["random", "margin", "diversity", "committee", "cold_start"])
def test_same_seed_same_batch_other_seed_other_batch(data, strategy):
    y, X = data
    ts, rows = seed_training(X, y)
    pool = Pool(np.arange(len(y)), X)
    a = select(pool, {"strategy": strategy, "budget": 25, "seed": 11}, training=ts, exclude_ids=rows)
    b = select(pool, {"strategy": strategy, "budget": 25, "seed": 11}, training=ts, exclude_ids=rows)
    c = select(pool, {"strategy": strategy, "budget": 25, "seed": 12}, training=ts, exclude_ids=rows)
    assert a.ids.tolist() == b.ids.tolist()
    assert a.ids.tolist() != c.ids.tolist()
    if a.model is not None:
        assert a.model.version == b.model.version


def test_cold_start_without_labels_prefers_thumbs_down_then_diversity(data):
    y, X = data
    down = np.zeros(len(y))
    flagged = np.array([3, 500, 1200])
    down[flagged] = [1, 3, 2]
    pool = Pool(np.arange(len(y)), X, thumbs_down=down, thumbs_up=np.zeros(len(y)))
    res = select(pool, {"strategy": "margin", "budget": 20, "seed": 0, "random_share": 0.0}, training=None)
    assert res.effective_strategy == "cold_start"
    assert res.model is None and res.p_bad is None
    assert res.ids[:3].tolist() == [500, 1200, 3]
    assert len(set(res.ids.tolist())) == 20


def test_one_class_labels_also_fall_back_to_cold_start(data):
    y, X = data
    rows = np.flatnonzero(y == 0)[:10]
    ts = TrainingSet(X[rows], y[rows], np.ones(10), np.ones(10, dtype=bool))
    res = select(Pool(np.arange(len(y)), X), {"strategy": "entropy", "budget": 10}, training=ts,
                 exclude_ids=rows)
    assert res.effective_strategy == "cold_start"
    assert not np.isin(res.ids, rows).any()


def test_never_selects_excluded_ids_even_when_budget_exceeds_the_rest(data):
    y, X = data
    ids = np.arange(100, 100 + 60)
    pool = Pool(ids, X[:60])
    exclude = ids[::2]
    res = select(pool, {"strategy": "cold_start", "budget": 1000, "seed": 3}, exclude_ids=exclude)
    assert sorted(res.ids.tolist()) == sorted(ids[1::2].tolist())


@pytest.mark.parametrize(("params", "field"), [
    ({"strategy": "smartest", "budget": 10}, "strategy"),
    ({"budget": 0}, "budget"),
    ({"budget": -5}, "budget"),
    ({"budget": 10, "random_share": 1.5}, "random_share"),
    ({"budget": 10, "random_share": -0.1}, "random_share"),
    ({"budget": 10, "seed": -1}, "seed"),
    ({"budget": 10, "committee_size": 1}, "committee_size"),
    ({"budget": 10, "colour": "red"}, "colour"),
    ({}, "budget"),
])
def test_bad_parameters_are_rejected_with_a_clear_error(data, params, field):
    y, X = data
    with pytest.raises(SelectionParamsError) as err:
        select(Pool(np.arange(10), X[:10]), params)
    assert isinstance(err.value, ValidationFailed) and err.value.status == 422
    assert field in err.value.message
    assert any(d["field"] == field for d in err.value.details)
    if field == "strategy":
        assert "known strategies: random, margin" in err.value.message


def test_random_share_rounds_and_random_strategy_is_all_random():
    assert parse_params({"budget": 20}).n_random == 2
    assert parse_params({"budget": 20, "random_share": 0.25}).n_random == 5
    assert parse_params({"budget": 7, "strategy": "random", "random_share": 0}).n_random == 7

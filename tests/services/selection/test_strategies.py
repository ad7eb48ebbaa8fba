"""Every strategy on real Davidson tweets: valid batches, exclusions respected, seeds reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from feedback.services.selection import STRATEGIES, Pool, select, train_quality_model
from feedback.services.selection.strategies import uncertainty
from tests.services.selection.davidson import davidson_slice, seed_training

pytestmark = pytest.mark.once  # backend-independent: runs in the SQLite pass only


@pytest.fixture(scope="module")
def data():
    texts, y, X = davidson_slice()
    ts, rows = seed_training(X, y)
    rng = np.random.default_rng(3)
    down = (rng.random(len(y)) < 0.1).astype(float)
    up = (rng.random(len(y)) < 0.1).astype(float)
    pool = Pool(np.arange(1000, 1000 + len(y)), X, thumbs_down=down, thumbs_up=up)
    return y, X, ts, rows, pool


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_strategy_returns_a_valid_batch(data, strategy):
    y, X, ts, rows, pool = data
    exclude = pool.ids[rows]
    res = select(pool, {"strategy": strategy, "budget": 40, "seed": 5}, training=ts, exclude_ids=exclude)
    assert res.ids.shape[0] == 40
    assert len(set(res.ids.tolist())) == 40
    assert not np.isin(res.ids, exclude).any()
    assert np.isin(res.ids, pool.ids).all()
    n_random = 40 if strategy == "random" else 4
    assert res.sources.count("random") == n_random
    assert res.effective_strategy == strategy
    if strategy not in ("random", "cold_start"):
        assert res.model is not None and res.model.version.startswith("qm-")
        assert res.p_bad is not None and ((res.p_bad >= 0) & (res.p_bad <= 1)).all()


def test_uncertainty_strategies_pick_items_near_the_decision_boundary(data):
    y, X, ts, rows, pool = data
    model = train_quality_model(ts, seed=0)
    p_all = model.predict_bad(X)
    res = select(pool, {"strategy": "margin", "budget": 50, "seed": 1, "random_share": 0.0},
                 model=model, exclude_ids=pool.ids[rows])
    chosen_margin = uncertainty(res.p_bad, "margin")
    others = np.setdiff1d(np.arange(len(y)), np.concatenate([rows, res.ids - 1000]))
    # The least uncertain chosen item is at least as uncertain as every item left behind.
    assert chosen_margin.min() >= uncertainty(p_all[others], "margin").max() - 1e-9


def test_uncertainty_kinds_agree_on_ranking_for_two_classes():
    p = np.linspace(0.01, 0.99, 57)
    orders = [np.argsort(-uncertainty(p, k), kind="stable") for k in ("margin", "entropy", "least_confidence")]
    ranks = [np.abs(p[o] - 0.5) for o in orders]
    assert np.allclose(ranks[0], ranks[1]) and np.allclose(ranks[0], ranks[2])


def test_thumbs_disagreement_puts_items_with_thumbs_first(data):
    y, X, ts, rows, pool = data
    res = select(pool, {"strategy": "thumbs_disagreement", "budget": 30, "seed": 2, "random_share": 0.0},
                 training=ts, exclude_ids=pool.ids[rows])
    positions = res.ids - 1000
    assert ((pool.thumbs_down[positions] + pool.thumbs_up[positions]) > 0).all()


def test_diversity_spreads_the_batch_more_than_plain_margin(data):
    y, X, ts, rows, pool = data
    kw = {"budget": 30, "seed": 4, "random_share": 0.0}
    margin = select(pool, {"strategy": "margin", **kw}, training=ts, exclude_ids=pool.ids[rows])
    diverse = select(pool, {"strategy": "diversity", **kw}, training=ts, exclude_ids=pool.ids[rows])

    def mean_similarity(ids):
        rows_x = X[ids - 1000]
        sim = (rows_x @ rows_x.T).toarray()
        return (sim.sum() - np.trace(sim)) / (len(ids) * (len(ids) - 1))

    assert mean_similarity(diverse.ids) < mean_similarity(margin.ids)


def test_committee_members_see_both_classes_and_disagree_somewhere(data):
    from feedback.services.selection.model import fit_committee

    y, X, ts, rows, pool = data
    members = fit_committee(ts, 4, seed=0)
    assert len(members) == 4
    probs = np.vstack([m.predict_bad(X) for m in members])
    assert probs.std(axis=0).max() > 0.01

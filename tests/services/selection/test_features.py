"""Feature rows, the on-disk cache (incremental append, id-range chunks, lookups) and the quality model."""

from __future__ import annotations

import numpy as np
import pytest

from feedback.services.selection import FeatureInput, FeatureSpec, FeatureStore, TrainingSet, vectorize
from feedback.services.selection.features import N_NUMERIC
from feedback.services.selection.model import QualityModel, combine_labels, train_quality_model
from tests.services.selection.davidson import davidson_slice

pytestmark = pytest.mark.once  # backend-independent: runs in the SQLite pass only

SMALL = FeatureSpec(response_bits=10, prompt_bits=8, model_bits=3)


def _batch(n: int, offset: int = 0) -> FeatureInput:
    return FeatureInput(prompts=[f"question {i}" for i in range(offset, offset + n)],
                        responses=[f"answer number {i} is fine" for i in range(offset, offset + n)],
                        confidences=[None if i % 4 == 3 else 0.5 for i in range(offset, offset + n)],
                        model_versions=["v1"] * n)


def test_vectorize_layout_and_numeric_signals():
    X = vectorize(_batch(4), SMALL)
    assert X.shape == (4, SMALL.n_features)
    numeric = X[:, (1 << 10) + (1 << 8):(1 << 10) + (1 << 8) + N_NUMERIC].toarray()
    assert numeric[0, 0] == pytest.approx(0.5) and numeric[0, 1] == 0
    assert numeric[3, 0] == 0 and numeric[3, 1] == 1  # missing confidence flagged
    assert (numeric[:, 2] > 0).all()
    with pytest.raises(ValueError, match="prompts has 1 rows"):
        vectorize(FeatureInput(prompts=["a"], responses=["a", "b"]), SMALL)


def test_store_appends_incrementally_and_loads_requested_rows(tmp_path):
    store = FeatureStore(tmp_path, SMALL, chunk_rows=3)
    calls = []

    def fetch(ids):
        calls.append(ids.tolist())
        return _batch(len(ids), int(ids[0]))

    assert store.ensure(np.arange(1, 8), fetch) == 7
    assert store.ensure(np.arange(1, 10), fetch) == 2  # only the new ids are vectorised
    assert calls[-1] == [8, 9]
    names = sorted(p.name for p in store.dir.iterdir())
    assert names[0].startswith("chunk_000000000001_000000000003_")
    ids, rows = store.load([9, 2, 5])
    assert ids.tolist() == [9, 2, 5]
    assert np.allclose(rows.toarray(), np.vstack([vectorize(_batch(1, i), SMALL).toarray() for i in (9, 2, 5)]))
    with pytest.raises(KeyError, match="no cached features"):
        store.load([4, 99])
    all_ids, all_rows = store.load()
    assert all_ids.tolist() == list(range(1, 10)) and all_rows.shape[0] == 9
    store.compact()
    assert len(list(store.dir.iterdir())) == 3  # 9 rows at 3 rows per chunk
    assert store.load()[0].tolist() == list(range(1, 10))
    # Chunks are keyed by id range: a lookup reads only the chunks whose range holds a requested id.
    middle = next(p for p in store.dir.iterdir() if p.name.startswith("chunk_000000000004_000000000006_"))
    middle.unlink()
    assert store.load([1, 8])[0].tolist() == [1, 8]
    with pytest.raises(KeyError):
        store.load([5])


def test_out_of_order_ids_and_a_new_spec_get_their_own_cache(tmp_path):
    store = FeatureStore(tmp_path, SMALL)
    store.append([10, 11], vectorize(_batch(2, 10), SMALL))
    store.append([5, 11], vectorize(_batch(2, 5), SMALL))  # 11 is already cached: skipped
    assert store.cached_ids().tolist() == [5, 10, 11]
    ids, rows = store.load()
    assert ids.tolist() == [5, 10, 11]
    assert np.allclose(rows[0].toarray(), vectorize(_batch(1, 5), SMALL).toarray())
    other = FeatureStore(tmp_path, FeatureSpec(response_bits=11, prompt_bits=8, model_bits=3))
    assert other.cached_ids().size == 0
    with pytest.raises(ValueError, match="columns"):
        other.append([1], vectorize(_batch(1), SMALL))


def test_combine_labels_annotators_override_thumbs():
    ids, y, w, strong = combine_labels({1: 1, 2: 0}, {2: 1, 3: 1}, 0.3)
    assert ids.tolist() == [1, 2, 3] and y.tolist() == [1, 0, 1]
    assert w.tolist() == [1.0, 1.0, 0.3] and strong.tolist() == [True, True, False]
    assert combine_labels({1: 1}, {3: 0}, 0.0)[0].tolist() == [1]


def test_quality_model_learns_holds_out_metrics_and_round_trips(tmp_path):
    texts, y, X = davidson_slice()
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(len(y), 600, replace=False))
    ts = TrainingSet(X[rows], y[rows], np.ones(600), np.ones(600, dtype=bool), ids=rows)
    model = train_quality_model(ts, seed=1)
    assert model is not None and model.n_train == 600
    assert model.metrics["holdout"] == 120
    assert model.metrics["roc_auc"] > 0.6  # well above chance on 12 held-out hate-speech tweets
    again = train_quality_model(ts, seed=1)
    assert again.version == model.version
    path = model.save(tmp_path / "m" / "model.joblib")
    loaded = QualityModel.load(path)
    assert np.allclose(loaded.predict_bad(X[:50]), model.predict_bad(X[:50]))
    one_class = TrainingSet(X[:5], np.zeros(5, dtype=np.int8), np.ones(5), np.ones(5, dtype=bool))
    assert train_quality_model(one_class) is None

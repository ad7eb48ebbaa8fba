"""One selection cycle at scale, with cached features, and the ratio to modAL's uncertainty batch sampling.

1. build: synthesise N interactions by resampling Davidson tweets with perturbations (word dropout, swaps,
   appended words, a prompt, a confidence and a model version), vectorise in chunks into a `FeatureStore`.
2. each measurement runs in its own fresh subprocess that reports its own peak RSS (ru_maxrss):
   `ours`  - load the cached rows, train on 2,000 annotator labels + thumbs, score, select (margin and diversity);
   `modal` - same labels, model and first M items; modAL `uncertainty_batch_sampling` for the same batch size,
   and our selection over the same M-item pool inside that process, timed side by side.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.active_learning.data import load_davidson
from feedback.services.selection import FeatureInput, FeatureStore, Pool, TrainingSet, select, train_quality_model
from feedback.services.selection.model import combine_labels

N_LABELLED = 2_000
BUDGET = 100
# modAL's ranked batch re-scans the whole pool (copy + distances to every labelled row) once per pick; at
# batch 100 over 100k items it ran past 10 minutes here, so the side-by-side uses the protocol's batch of 20.
MODAL_BATCH = 20
PROMPTS = ["Reply to this tweet.", "Summarise the post.", "What does the user mean?", "Answer politely.",
           "Classify the message.", "Rewrite the message.", "Continue the thread.", "Explain the joke."]


def synthesise(n: int, seed: int = 0, chunk: int = 100_000):
    """Yield (ids, FeatureInput, source index) chunks of perturbed Davidson texts; ids start at 1."""
    data = load_davidson()
    rng = np.random.default_rng(seed)
    vocab = np.array(sorted({w for t in data.texts[:5000] for w in t.split()}))
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        src = rng.integers(0, len(data), size=m)
        drop = rng.random(m) < 0.5
        extra = rng.integers(0, len(vocab), size=(m, 2))
        responses = []
        for i in range(m):
            words = data.texts[src[i]].split()
            if drop[i] and len(words) > 3:
                words.pop(int(rng.integers(0, len(words))))
            words.append(vocab[extra[i, 0]])
            if extra[i, 1] % 2:
                words.insert(0, vocab[extra[i, 1]])
            responses.append(" ".join(words))
        batch = FeatureInput(
            prompts=[PROMPTS[k] for k in rng.integers(0, len(PROMPTS), size=m)],
            responses=responses,
            confidences=rng.random(m).tolist(),
            model_versions=[f"gpt-x-{k}" for k in rng.integers(0, 3, size=m)],
        )
        yield np.arange(start + 1, start + m + 1, dtype=np.int64), batch, src


def build(n: int, root: Path) -> dict:
    """Vectorise n synthetic interactions into a FeatureStore under root; store labels/thumbs beside it."""
    data = load_davidson()
    store = FeatureStore(root / "features")
    t0 = time.perf_counter()
    sources = []
    for ids, batch, src in synthesise(n):
        from feedback.services.selection import vectorize

        store.append(ids, vectorize(batch, store.spec))
        sources.append(src)
    seconds = time.perf_counter() - t0
    src = np.concatenate(sources)
    rng = np.random.default_rng(1)
    # Labels sit among the first 100k ids so that the 100k comparison pool has the same training set.
    labelled = np.sort(rng.choice(np.arange(1, min(n, 100_000) + 1), size=N_LABELLED, replace=False))
    thumbs = rng.random(n) < 0.05
    down = thumbs & (rng.random(n) < data.hate_share[src])
    np.savez(root / "labels.npz", labelled=labelled, y=data.y[src], down=down, up=thumbs & ~down)
    size = sum(p.stat().st_size for p in store.dir.iterdir())
    return {"n": n, "vectorise_seconds": round(seconds, 1), "cache_mb": round(size / 2**20)}


def _training(root: Path, ids: np.ndarray, X, limit: int | None) -> tuple[TrainingSet, np.ndarray, Pool]:
    lab = np.load(root / "labels.npz")
    n = ids.shape[0] if limit is None else limit
    labelled = lab["labelled"]
    strong = {int(i): int(lab["y"][i - 1]) for i in labelled}
    weak = {int(i): 1 for i in np.flatnonzero(lab["down"][:n]) + 1}
    weak.update({int(i): 0 for i in np.flatnonzero(lab["up"][:n]) + 1})
    tids, y, w, is_strong = combine_labels(strong, weak, 0.3)
    _, X_train = FeatureStore(root / "features").load(tids)
    pool = Pool(ids[:n], X[:n] if limit else X, thumbs_down=lab["down"][:n].astype(float),
                thumbs_up=lab["up"][:n].astype(float))
    return TrainingSet(X_train, y, w, is_strong, ids=tids), labelled, pool


def child_ours(root: Path, limit: int | None) -> dict:
    """Fresh process: load cached features, train, score, select; timings and peak RSS."""
    t0 = time.perf_counter()
    store = FeatureStore(root / "features")
    ids, X = store.load() if limit is None else store.load(np.arange(1, limit + 1))
    load_s = time.perf_counter() - t0
    ts, labelled, pool = _training(root, ids, X, limit)
    out = {"pool": int(pool.ids.shape[0]), "load_features_s": round(load_s, 2)}
    for strategy in ("margin", "diversity"):
        t1 = time.perf_counter()
        res = select(pool, {"strategy": strategy, "budget": BUDGET, "seed": 7}, training=ts, exclude_ids=labelled)
        assert not np.isin(res.ids, labelled).any()
        out[strategy] = {"cycle_s": round(time.perf_counter() - t1 + load_s, 2),
                         **{k: round(v, 3) for k, v in res.timings.items()}}
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def child_modal(root: Path, limit: int) -> dict:
    """Fresh process: modAL ranked uncertainty batch vs our margin selection, same model, pool and batch."""
    from modAL.batch import uncertainty_batch_sampling
    from modAL.models import ActiveLearner

    ids, X = FeatureStore(root / "features").load(np.arange(1, limit + 1))
    ts, labelled, pool = _training(root, ids, X, limit)
    model = train_quality_model(ts, seed=7, with_metrics=False)
    eligible_mask = ~np.isin(pool.ids, labelled)
    X_unlab = pool.X[np.flatnonzero(eligible_mask)]
    t0 = time.perf_counter()
    res = select(pool, {"strategy": "margin", "budget": MODAL_BATCH, "seed": 7, "random_share": 0.0},
                 model=model, exclude_ids=labelled)
    ours = time.perf_counter() - t0
    learner = ActiveLearner(estimator=model.estimator, X_training=ts.X, y_training=ts.y)
    t1 = time.perf_counter()
    picked, _ = uncertainty_batch_sampling(learner, X_unlab, n_instances=MODAL_BATCH)
    theirs = time.perf_counter() - t1
    overlap = len(set(pool.ids[np.flatnonzero(eligible_mask)][picked].tolist()) & set(res.ids.tolist()))
    return {"pool": int(X_unlab.shape[0]), "batch": MODAL_BATCH, "ours_select_s": round(ours, 3),
            "modal_select_s": round(theirs, 2),
            "ratio_modal_over_ours": round(theirs / ours, 1), "overlap_of_batches": overlap,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def _spawn(kind: str, root: Path, limit: int | None) -> dict:
    cmd = [sys.executable, "-m", "bench.active_learning.scale", kind, str(root), str(limit or 0)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False,
                          cwd=Path(__file__).resolve().parents[2])
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(n: int, compare_n: int, out: Path) -> dict:
    """Build the pool, then measure each part in its own subprocess; print and return the figures."""
    with tempfile.TemporaryDirectory(prefix="al-scale-") as tmp:
        root = Path(tmp)
        built = build(n, root)
        print(f"scale: built {built['n']:,} synthetic interactions; vectorised once in "
              f"{built['vectorise_seconds']} s; feature cache {built['cache_mb']} MB on disk")
        ours_full = _spawn("ours", root, None)
        print(f"scale: one cycle over {ours_full['pool']:,} pooled items with cached features "
              f"(budget {BUDGET}, {N_LABELLED} labels): {json.dumps(ours_full)}")
        ours_small = _spawn("ours", root, compare_n)
        print(f"scale: same over {ours_small['pool']:,}: {json.dumps(ours_small)}")
        modal = _spawn("modal", root, compare_n)
        print(f"scale: modAL uncertainty_batch_sampling vs ours, same model/pool/batch: {json.dumps(modal)}")
    result = {"build": built, "ours_full": ours_full, "ours_compare": ours_small, "modal": modal}
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale.json").write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    kind, root_arg, limit_arg = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    fn = child_ours if kind == "ours" else child_modal
    print(json.dumps(fn(root_arg, limit_arg or None)))

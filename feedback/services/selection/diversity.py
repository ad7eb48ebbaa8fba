"""Diversity helpers: a count-sketch projection of sparse rows and MiniBatchKMeans picks on a candidate set.

Clustering never sees the whole pool: callers pass a candidate subset (top-k uncertain, or a random sample),
so the cost is O(candidates x sketch_dim x clusters), with no pairwise distance matrix anywhere.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import MiniBatchKMeans
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits


def sketch(X: sp.csr_matrix, dim: int, seed: int) -> np.ndarray:
    """Project rows to `dim` dense columns with a count sketch (one random +-1 per input column), L2-normalised.

    Inner products are preserved in expectation; the projection matrix has one non-zero per input column.
    """
    rng = np.random.default_rng(seed)
    n_features = X.shape[1]
    buckets = rng.integers(0, dim, size=n_features)
    signs = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=n_features)
    projection = sp.csr_matrix((signs, (np.arange(n_features), buckets)), shape=(n_features, dim))
    dense = np.asarray((X @ projection).todense(), dtype=np.float32)
    return normalize(dense)


def cluster_labels(Z: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Cluster rows of Z into k groups with MiniBatchKMeans; returns (labels, distance of each row to its centre)."""
    km = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=2, batch_size=max(1024, 3 * k),
                         max_iter=50)
    # One thread: candidate sets are small, and OpenMP spin-waiting on a busy 2-core host cost 20-40x here.
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        # Duplicate rows give fewer distinct points than clusters; the result is still usable.
        warnings.simplefilter("ignore")
        labels = km.fit_predict(Z)
    dist = np.linalg.norm(Z - km.cluster_centers_[labels], axis=1)
    return labels, dist


def pick_per_cluster(candidates: np.ndarray, labels: np.ndarray, priority: np.ndarray, k: int) -> np.ndarray:
    """From each cluster take the candidate with the highest priority; top up from the rest by priority.

    `candidates`, `labels` and `priority` are aligned; returns up to k candidate values, best first.
    """
    order = np.lexsort((-priority, labels))  # by cluster, then priority descending
    first_of_cluster = np.ones(order.shape[0], dtype=bool)
    first_of_cluster[1:] = labels[order][1:] != labels[order][:-1]
    heads = order[first_of_cluster]
    heads = heads[np.argsort(-priority[heads], kind="stable")][:k]
    if heads.shape[0] < k:
        rest = np.setdiff1d(np.arange(candidates.shape[0]), heads, assume_unique=True)
        rest = rest[np.argsort(-priority[rest], kind="stable")][: k - heads.shape[0]]
        heads = np.concatenate([heads, rest])
    return candidates[heads]


def diverse_pick(X: sp.csr_matrix, candidates: np.ndarray, priority: np.ndarray, k: int,
                 *, dim: int, seed: int) -> np.ndarray:
    """Cluster the candidate rows into k groups and return the highest-priority candidate of each group."""
    if k <= 0 or candidates.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    if candidates.shape[0] <= k:
        return candidates[np.argsort(-priority, kind="stable")]
    Z = sketch(X[candidates], dim, seed)
    labels, _ = cluster_labels(Z, k, seed)
    return pick_per_cluster(candidates, labels, priority, k)


def representative_pick(X: sp.csr_matrix, candidates: np.ndarray, k: int, *, dim: int, seed: int) -> np.ndarray:
    """Cold-start diversity: cluster candidates into k groups and return the member nearest each centre."""
    if k <= 0 or candidates.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    if candidates.shape[0] <= k:
        return candidates.copy()
    Z = sketch(X[candidates], dim, seed)
    labels, dist = cluster_labels(Z, k, seed)
    return pick_per_cluster(candidates, labels, -dist, k)

"""On-disk cache of feature rows: CSR chunks in uncompressed `.npz` files keyed by interaction id range.

Layout: `<root>/<spec key>/chunk_<first id>_<last id>_<seq>.npz`, each holding `data, indices, indptr,
shape, ids` (ids sorted ascending). Rows are appended for ids not cached yet, so a selection cycle only
vectorises new interactions; `load` stitches the chunks and returns the rows of the requested ids.
Files are written to a temporary name and renamed, so a reader never sees half a chunk.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from feedback.services.selection.features import FeatureInput, FeatureSpec, vectorize

_CHUNK_RE = re.compile(r"^chunk_(\d+)_(\d+)_(\d+)\.npz$")


class FeatureStore:
    """Append-only feature cache for one project and one `FeatureSpec`."""

    def __init__(self, root: Path | str, spec: FeatureSpec | None = None, *, chunk_rows: int = 250_000):
        self.spec = spec or FeatureSpec()
        self.dir = Path(root) / self.spec.key()
        self.chunk_rows = chunk_rows

    def _chunks(self) -> list[tuple[int, int, int, Path]]:
        if not self.dir.is_dir():
            return []
        found = []
        for entry in self.dir.iterdir():
            m = _CHUNK_RE.match(entry.name)
            if m:
                found.append((int(m.group(1)), int(m.group(2)), int(m.group(3)), entry))
        return sorted(found)

    def cached_ids(self) -> np.ndarray:
        """All cached interaction ids, sorted ascending (reads only the small `ids` arrays)."""
        parts = []
        for *_, path in self._chunks():
            with np.load(path) as z:
                parts.append(z["ids"])
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def missing(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The subset of `ids` that has no cached row yet (sorted, unique)."""
        want = np.unique(np.asarray(ids, dtype=np.int64))
        return want[~np.isin(want, self.cached_ids(), assume_unique=True)]

    def append(self, ids: Sequence[int] | np.ndarray, rows: sp.csr_matrix) -> int:
        """Store rows for ids that are not cached yet; returns how many rows were written."""
        ids = np.asarray(ids, dtype=np.int64)
        if rows.shape[0] != ids.shape[0]:
            raise ValueError(f"{ids.shape[0]} ids but {rows.shape[0]} rows")
        if rows.shape[1] != self.spec.n_features:
            raise ValueError(f"rows have {rows.shape[1]} columns, the spec has {self.spec.n_features}")
        _, first_pos = np.unique(ids, return_index=True)
        keep = np.sort(first_pos)
        keep = keep[~np.isin(ids[keep], self.cached_ids())]
        if keep.size == 0:
            return 0
        ids, rows = ids[keep], sp.csr_matrix(rows)[keep]
        order = np.argsort(ids, kind="stable")
        ids, rows = ids[order], rows[order]
        self.dir.mkdir(parents=True, exist_ok=True)
        seq = max((c[2] for c in self._chunks()), default=-1) + 1
        for start in range(0, ids.shape[0], self.chunk_rows):
            part_ids, part = ids[start:start + self.chunk_rows], rows[start:start + self.chunk_rows]
            name = f"chunk_{part_ids[0]:012d}_{part_ids[-1]:012d}_{seq:06d}.npz"
            tmp = self.dir / f".{name}.tmp.npz"
            np.savez(tmp, data=part.data.astype(np.float32, copy=False), indices=part.indices,
                     indptr=part.indptr, shape=np.asarray(part.shape, dtype=np.int64), ids=part_ids)
            os.replace(tmp, self.dir / name)
            seq += 1
        return int(ids.shape[0])

    def ensure(self, ids: Sequence[int] | np.ndarray, fetch: Callable[[np.ndarray], FeatureInput]) -> int:
        """Vectorise and append rows for the ids not cached yet; `fetch(missing_ids)` returns their inputs."""
        todo = self.missing(ids)
        written = 0
        for start in range(0, todo.shape[0], self.chunk_rows):
            part = todo[start:start + self.chunk_rows]
            batch = fetch(part)
            if len(batch) != part.shape[0]:
                raise ValueError(f"fetch returned {len(batch)} rows for {part.shape[0]} ids")
            written += self.append(part, vectorize(batch, self.spec))
        return written

    def load(self, ids: Sequence[int] | np.ndarray | None = None) -> tuple[np.ndarray, sp.csr_matrix]:
        """Return `(ids, rows)`: all cached rows (ids ascending) or exactly the requested ids in their order.

        Raises KeyError naming a few ids when some requested ids are not cached.
        """
        want_sorted = None if ids is None else np.unique(np.asarray(ids, dtype=np.int64))
        all_ids, mats = [], []
        for first, last, _, path in self._chunks():
            if want_sorted is not None:
                # The file name's id range lets chunks holding none of the requested ids be skipped unread.
                lo = np.searchsorted(want_sorted, first)
                if lo >= want_sorted.shape[0] or want_sorted[lo] > last:
                    continue
            with np.load(path) as z:
                shape = tuple(int(v) for v in z["shape"])
                mats.append(sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=shape))
                all_ids.append(z["ids"])
        if not mats:
            cached_ids = np.zeros(0, dtype=np.int64)
            cached = sp.csr_matrix((0, self.spec.n_features), dtype=np.float32)
        else:
            cached_ids = np.concatenate(all_ids)
            cached = mats[0] if len(mats) == 1 else sp.vstack(mats, format="csr")
            del mats
        if cached_ids.size and np.any(np.diff(cached_ids) <= 0):
            order = np.argsort(cached_ids, kind="stable")
            cached_ids, cached = cached_ids[order], cached[order]
        if ids is None:
            return cached_ids, cached
        want = np.asarray(ids, dtype=np.int64)
        pos = np.searchsorted(cached_ids, want)
        pos_clipped = np.minimum(pos, max(cached_ids.shape[0] - 1, 0))
        found = (pos < cached_ids.shape[0]) & (cached_ids[pos_clipped] == want) if cached_ids.size else pos < 0
        if not np.all(found):
            absent = want[~found]
            raise KeyError(f"{absent.shape[0]} ids have no cached features, e.g. {absent[:5].tolist()}")
        if pos.shape[0] == cached_ids.shape[0] and np.array_equal(pos, np.arange(pos.shape[0])):
            return want, cached
        return want, cached[pos]

    def compact(self) -> None:
        """Merge all chunks into as few as possible (keeps reads fast after many small appends)."""
        chunks = self._chunks()
        if len(chunks) <= 1:
            return
        ids, rows = self.load()
        staging_root = self.dir.parent / (self.dir.name + ".compact")
        staging = FeatureStore(staging_root, self.spec, chunk_rows=self.chunk_rows)
        staging.append(ids, rows)
        for *_, path in chunks:
            path.unlink()
        for entry in sorted(staging.dir.iterdir()):
            os.replace(entry, self.dir / entry.name)
        staging.dir.rmdir()
        staging_root.rmdir()

"""Streaming exact and near-duplicate removal with bounded per-row state.

Records arrive in batches. Exact duplicates are found by a 64-bit digest of the label and the normalised
text (prompt, response, correction). Near duplicates use MinHash over word 3-gram shingles and LSH banding: a record
whose band key collides with any band key of an earlier kept record is a near duplicate. The label is mixed into
every key, so the same prompt answered once well and once badly is never "deduplicated" into one side.

Only 64-bit keys of kept records are remembered (1 exact + `bands` LSH keys per row, ~40 bytes), held in
sorted NumPy arrays merged like an LSM tree, so lookups are vectorised and there is no O(N^2) comparison.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from itertools import chain

import numpy as np

from feedback.services.datasets.records import Record

_MERSENNE = np.uint64((1 << 61) - 1)
_MASK32 = np.uint64(0xFFFFFFFF)
_SLICE = 8192


class _WordHashes(dict[str, int]):
    """Word -> nonzero CRC-32 of its UTF-8 bytes, computed on first lookup."""

    def __missing__(self, word: str) -> int:
        value = self[word] = zlib.crc32(word.encode()) or 1
        return value


class SortedKeySet:
    """A set of uint64 keys kept as a few sorted arrays (sizes roughly doubling), vectorised lookups."""

    def __init__(self) -> None:
        self.levels: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(int(level.size) for level in self.levels)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """Boolean mask: which of `keys` are already in the set."""
        found = np.zeros(keys.shape, dtype=bool)
        for level in self.levels:
            index = np.minimum(np.searchsorted(level, keys), level.size - 1)
            found |= level[index] == keys
        return found

    def add(self, keys: np.ndarray) -> None:
        """Insert keys (duplicates allowed); merges levels so there are O(log n) of them."""
        if keys.size == 0:
            return
        self.levels.append(np.unique(keys))
        while len(self.levels) > 1 and self.levels[-2].size <= 2 * self.levels[-1].size:
            top = self.levels.pop()
            self.levels[-1] = np.union1d(self.levels[-1], top)


def dedup_text(record: Record) -> str:
    """The normalised text two records must share to be duplicates (prompt + answer; the label is keyed apart).

    Lower-cased, whitespace runs collapsed to one space (`str.split()` uses the same Unicode whitespace
    set as the regex `\\s`), ends stripped.
    """
    parts = [f"{m.role}: {m.content}" for m in record.messages]
    parts.append(record.response)
    parts.append(record.correction or "")
    return " ".join("\n".join(parts).lower().split())


class Deduper:
    """Decides, batch by batch, which records to keep; counts exact and near duplicates removed."""

    def __init__(self, exact: bool = True, near: bool = True, num_perm: int = 32, bands: int = 4,
                 shingle: int = 3, seed: int = 1) -> None:
        if num_perm % bands:
            raise ValueError("num_perm must be a multiple of bands")
        self.exact, self.near, self.bands, self.shingle = exact, near, bands, shingle
        rng = np.random.Generator(np.random.PCG64(seed))
        self._a = rng.integers(1, 1 << 32, size=num_perm, dtype=np.uint64)
        self._b = rng.integers(0, 1 << 32, size=num_perm, dtype=np.uint64)
        self._mix = rng.integers(1, 1 << 62, size=(bands, num_perm // bands), dtype=np.uint64) | np.uint64(1)
        self._band_salt = rng.integers(1, 1 << 62, size=bands, dtype=np.uint64)
        self._exact_keys = SortedKeySet()
        self._band_keys = SortedKeySet()
        self.removed = {"exact": 0, "near": 0}
        self._word_hashes = _WordHashes()

    def _shingles(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """32-bit word k-gram hashes and their owning row (rows shorter than k words hash to one value)."""
        k = self.shingle
        cache = self._word_hashes
        if len(cache) > 500_000:
            cache.clear()
        split = [text.split(" ") for text in texts]
        hashes = list(map(cache.__getitem__, chain.from_iterable(split)))
        lengths = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
        tok = np.asarray(hashes, dtype=np.uint64)
        own = np.repeat(np.arange(len(split), dtype=np.int64), lengths)
        short = np.flatnonzero(lengths < k)
        extra = np.zeros(short.size, dtype=np.uint64)
        if short.size:  # a row with fewer than k words: the sum of its word hashes is its only shingle
            ends = np.cumsum(lengths)
            extra = np.asarray([sum(hashes[int(ends[r] - lengths[r]):int(ends[r])]) & 0xFFFFFFFF for r in short],
                               dtype=np.uint64)
            long_rows = lengths >= k
            tok, own = tok[long_rows[own]], own[long_rows[own]]
        start = np.arange(max(tok.size - k + 1, 0))
        start = start[own[start] == own[start + k - 1]]
        combined = np.zeros(start.size, dtype=np.uint64)
        for j in range(k):
            combined *= np.uint64(0x9E3779B1)
            combined += tok[start + j]
        combined = (combined >> np.uint64(32)) ^ (combined & _MASK32)
        return np.concatenate([combined, extra]), np.concatenate([own[start], short])

    def _signatures(self, texts: Sequence[str]) -> np.ndarray:
        """MinHash signatures, shape (len(texts), num_perm), computed in bounded-size shingle slices."""
        values, rows = self._shingles(texts)
        order = np.argsort(rows, kind="stable")
        values, rows = values[order], rows[order]
        sig = np.full((len(texts), self._a.size), np.iinfo(np.uint64).max, dtype=np.uint64)
        for start in range(0, values.size, _SLICE):
            chunk, owner = values[start:start + _SLICE], rows[start:start + _SLICE]
            permuted = chunk[:, None] * self._a
            permuted += self._b
            permuted %= _MERSENNE
            permuted &= _MASK32
            starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
            minima = np.minimum.reduceat(permuted, starts, axis=0)
            seg_rows = owner[starts]
            sig[seg_rows] = np.minimum(sig[seg_rows], minima)
        return sig

    def _band_keys_for(self, sig: np.ndarray, labels: Sequence[str]) -> np.ndarray:
        banded = sig.reshape(sig.shape[0], self.bands, sig.shape[1] // self.bands)
        keys = (banded * self._mix).sum(axis=2, dtype=np.uint64) ^ self._band_salt
        bad = np.asarray([label == "bad" for label in labels], dtype=bool)
        keys[bad] = keys[bad] * np.uint64(0x9E3779B97F4A7C15) + np.uint64(1)
        return keys

    def keep_mask(self, records: Sequence[Record]) -> list[bool]:
        """For each record in order: True to keep it, False when it duplicates an earlier kept record."""
        if not records or not (self.exact or self.near):
            return [True] * len(records)
        texts = [dedup_text(r) for r in records]
        keep = [True] * len(records)
        if self.exact:
            blake = hashlib.blake2b
            digests = np.fromiter((int.from_bytes(blake(f"{r.label}\n{t}".encode(), digest_size=8).digest(), "big")
                                   for r, t in zip(records, texts, strict=True)), dtype=np.uint64, count=len(texts))
            seen_before = self._exact_keys.contains(digests).tolist()
            local: set[int] = set()
            for i, digest in enumerate(digests.tolist()):
                if seen_before[i] or digest in local:
                    keep[i] = False
                    self.removed["exact"] += 1
                local.add(digest)
            self._exact_keys.add(digests[np.asarray(keep)])
        if self.near:
            candidates = [i for i, k in enumerate(keep) if k]
            keys = self._band_keys_for(self._signatures([texts[i] for i in candidates]),
                                       [records[i].label for i in candidates])
            seen_before = self._band_keys.contains(keys).any(axis=1).tolist()
            local_bands: set[int] = set()
            kept_rows = []
            for row, (i, row_keys) in enumerate(zip(candidates, keys.tolist(), strict=True)):
                if seen_before[row] or not local_bands.isdisjoint(row_keys):
                    keep[i] = False
                    self.removed["near"] += 1
                    continue
                local_bands.update(row_keys)
                kept_rows.append(row)
            self._band_keys.add(keys[kept_rows].ravel())
        return keep

    def figures(self) -> dict[str, object]:
        """Duplicate counts and the size of the remembered key state (for the manifest)."""
        return {"exact_removed": self.removed["exact"], "near_removed": self.removed["near"],
                "exact_enabled": self.exact, "near_enabled": self.near,
                "minhash": {"num_perm": int(self._a.size), "bands": self.bands, "shingle": self.shingle}}

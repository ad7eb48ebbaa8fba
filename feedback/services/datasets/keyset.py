"""A growing set of 64-bit keys with vectorised membership tests, for the deduplicator's remembered keys.

Keys are kept in a few sorted NumPy arrays whose sizes roughly double (merged like an LSM tree), so a lookup is
a binary search per level and memory is 8 bytes per key. In front of the levels sits a one-hash Bloom filter:
a bitmap with one bit per slot, sized to keep at most one bit in eight set. Nearly every lookup in a
deduplication is a miss, and the bitmap answers ~7/8 of the misses with one random read, so only the rest
(and the true hits) pay for the binary searches.
"""

from __future__ import annotations

import numpy as np

_MIX = np.uint64(0x9E3779B97F4A7C15)  # multiplicative hashing: the slot is the top bits of key * odd constant
_MIN_BITS = 20  # the smallest bitmap: 2^20 bits (128 KiB)
_LOAD = 8  # bitmap bits per key, at least


class SortedKeySet:
    """A set of uint64 keys kept as a few sorted arrays (sizes roughly doubling), vectorised lookups."""

    def __init__(self) -> None:
        self.levels: list[np.ndarray] = []
        self._size = 0
        self._bits_log2 = _MIN_BITS
        self._bitmap = np.zeros(1 << (_MIN_BITS - 3), dtype=np.uint8)

    def __len__(self) -> int:
        return self._size

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        return ((keys * _MIX) >> np.uint64(64 - self._bits_log2)).astype(np.int64)

    def _mark(self, keys: np.ndarray) -> None:
        slots = self._slots(keys)
        np.bitwise_or.at(self._bitmap, slots >> 3, (1 << (slots & 7)).astype(np.uint8))

    def _maybe(self, keys: np.ndarray) -> np.ndarray:
        """False for keys certainly not in the set (their bit is clear)."""
        slots = self._slots(keys)
        return ((self._bitmap[slots >> 3] >> (slots & 7).astype(np.uint8)) & 1).astype(bool)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """Boolean mask: which of `keys` are already in the set.

        Keys that pass the bitmap are looked up in ascending order: consecutive binary searches then walk nearby
        paths of a level (cache hits), several times faster than random order once the levels outgrow the cache.
        """
        flat = keys.ravel()
        found = np.zeros(flat.shape, dtype=bool)
        if not self.levels:
            return found.reshape(keys.shape)
        candidates = np.flatnonzero(self._maybe(flat))
        order = np.argsort(flat[candidates])
        ordered = flat[candidates[order]]
        hit = np.zeros(ordered.shape, dtype=bool)
        for level in self.levels:
            index = np.searchsorted(level, ordered)
            np.minimum(index, level.size - 1, out=index)
            hit |= level[index] == ordered
        found[candidates[order]] = hit
        return found.reshape(keys.shape)

    def add(self, keys: np.ndarray) -> None:
        """Insert keys not in the set yet; merges levels so there are O(log n) of them.

        A merge is one concatenation sorted in place (no `union1d`, which holds several copies at once): the
        peak is the two merged levels plus their sum.
        """
        if keys.size == 0:
            return
        fresh = np.unique(keys)
        self.levels.append(fresh)
        self._size += int(fresh.size)
        while len(self.levels) > 1 and self.levels[-2].size <= 2 * self.levels[-1].size:
            top = self.levels.pop()
            merged = np.concatenate((self.levels.pop(), top))
            del top
            merged.sort(kind="stable")  # timsort: one linear merge of the two sorted runs
            self.levels.append(merged)
        if self._size * _LOAD > (1 << self._bits_log2):  # grow the bitmap and mark every key again
            while self._size * _LOAD > (1 << self._bits_log2):
                self._bits_log2 += 1
            self._bitmap = np.zeros(1 << (self._bits_log2 - 3), dtype=np.uint8)
            for level in self.levels:
                self._mark(level)
        else:
            self._mark(fresh)

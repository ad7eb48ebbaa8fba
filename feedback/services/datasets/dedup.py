"""Streaming exact and near-duplicate removal with bounded per-row state.

Records arrive in batches. Exact duplicates are found by a 64-bit digest of the label and the normalised
text (prompt, response, correction): with near-dedup on, a digest of the text's sequence of word hashes (already
computed for the shingles; the same text gives the same sequence), otherwise blake2b of the text.
Near duplicates use MinHash over word 3-gram shingles and LSH banding: a record
whose band key collides with any band key of an earlier kept record is a near duplicate. The label is mixed into
every key, so the same prompt answered once well and once badly is never "deduplicated" into one side.

The MinHash is one-permutation hashing with rotation densification (Li, Owen & Zhang 2012; Shrivastava & Li
2014): each shingle is hashed once to 64 bits, the high bits choose one of `num_perm` bins and the low 32 bits
are the value; a bin keeps its minimum, and an empty bin borrows the next non-empty bin to its right (with the
distance mixed in). Two texts agree on a bin with probability equal to their Jaccard similarity, like classic
MinHash, at the cost of one hash per shingle instead of `num_perm`. Splitting, word interning and hashing run in
Arrow and NumPy over the whole batch (no Python object per word); word hashes are a polynomial over the UTF-8
bytes finalised with MurmurHash3's fmix64, so they are the same in every process and run.

Only 64-bit keys of kept records are remembered (1 exact + `bands` LSH keys per row, ~40 bytes), held in
sorted NumPy arrays merged like an LSM tree behind a bitmap filter (`keyset`), so lookups are vectorised and
there is no O(N^2) comparison.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from feedback.services.datasets.dedup_texts import batch_texts, dedup_text, joined_texts, text_starts
from feedback.services.datasets.keyset import SortedKeySet
from feedback.services.datasets.records import Record

_C1 = np.uint64(0xFF51AFD7ED558CCD)
_C2 = np.uint64(0xC4CEB9FE1A85EC53)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S32, _S33 = np.uint64(32), np.uint64(33)
_MASK32 = np.uint64(0xFFFFFFFF)
_EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)
_BYTE_BASE = 0x100000001B3  # FNV-1 64-bit prime (odd)
_ROWS = 1024  # rows shingled at once: the per-word arrays (~1 MB) then stay in the CPU cache (a third faster)
Prepared = tuple["np.ndarray | None", "np.ndarray | None"]  # exact digests, LSH band keys (None: that dedup is off)


def _fmix(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser, in place on a uint64 array."""
    x ^= x >> _S33
    x *= _C1
    x ^= x >> _S33
    x *= _C2
    x ^= x >> _S33
    return x


def _string_hashes(strings: pa.Array, powers: np.ndarray, trailing: int = 0) -> np.ndarray:
    """A 64-bit hash per string of a (large_)string array: sum of byte * base^position, length, fmix64.

    `trailing`: the number of bytes at the end of every string to leave out (a separator kept with the word).
    """
    large = pa.types.is_large_string(strings.type)
    _, offsets_buffer, data_buffer = strings.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64 if large else np.int32,
                            count=len(strings) + 1, offset=strings.offset * (8 if large else 4)).astype(np.int64)
    stored = np.diff(offsets)
    lengths = stored - trailing
    hashes = lengths.astype(np.uint64) * _GOLDEN
    first, last = int(offsets[0]), int(offsets[-1])
    if last > first:
        data = np.frombuffer(data_buffer, dtype=np.uint8, count=last - first, offset=first)
        starts = offsets[:-1] - first
        owner = np.repeat(np.arange(len(strings)), stored)
        position = np.arange(last - first) - starts[owner]
        longest = int(stored.max())
        terms = data.astype(np.uint64)
        terms *= (powers if longest <= powers.size else _powers(longest))[position]
        for j in range(1, trailing + 1):
            terms[offsets[1:] - first - j] = 0
        nonempty = stored > 0
        hashes[nonempty] += np.add.reduceat(terms, starts[nonempty])
    return _fmix(hashes)


def _powers(n: int) -> np.ndarray:
    """base^0 .. base^(n-1) modulo 2^64."""
    out = np.full(n, _BYTE_BASE, dtype=np.uint64)
    out[0] = 1
    return np.multiply.accumulate(out, dtype=np.uint64)


class Deduper:
    """Decides, batch by batch, which records to keep; counts exact and near duplicates removed."""

    def __init__(self, exact: bool = True, near: bool = True, num_perm: int = 32, bands: int = 4,
                 shingle: int = 3, seed: int = 1) -> None:
        if num_perm % bands:
            raise ValueError("num_perm must be a multiple of bands")
        self.exact, self.near, self.bands, self.shingle, self.num_perm = exact, near, bands, shingle, num_perm
        rng = np.random.Generator(np.random.PCG64(seed))
        self._seed = rng.integers(1, 1 << 62, dtype=np.uint64)
        self._mix = rng.integers(1, 1 << 62, size=(bands, num_perm // bands), dtype=np.uint64) | np.uint64(1)
        self._band_salt = rng.integers(1, 1 << 62, size=bands, dtype=np.uint64)
        self._powers = _powers(256)
        self._exact_keys = SortedKeySet()
        self._band_keys = SortedKeySet()
        self.removed = {"exact": 0, "near": 0}
        if near:  # set up Arrow's compute kernels now (~30 MB), so a forked export reader shares those pages
            self._signatures(*joined_texts(["warm up"]))

    def _words(self, data: bytes, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The hash of every word of every text (`text.split(" ")`, in order) and each text's word count.

        `data` is the texts joined with one space after each (`sizes`: their byte lengths), so every space ends a
        word: the words (each with its space) are slices of that one buffer, interned by Arrow without splitting
        the texts into lists.
        """
        ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 32)
        offsets = np.zeros(ends.size + 1, dtype=np.int64)
        np.add(ends, 1, out=offsets[1:])
        words = pa.LargeStringArray.from_buffers(ends.size, pa.py_buffer(offsets), pa.py_buffer(data))
        encoded = pc.dictionary_encode(words)
        tok = _string_hashes(encoded.dictionary, self._powers, trailing=1)[encoded.indices.to_numpy()]
        last_word = np.searchsorted(ends, np.cumsum(sizes + 1) - 1)  # the space after each text
        return tok, np.diff(last_word, prepend=-1)

    def _shingles(self, data: bytes, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """64-bit word k-gram hashes and their owning row (a row shorter than k words has one shingle: all of it),
        and a 64-bit digest of each row's whole word sequence (the exact-duplicate key, before the label)."""
        k = self.shingle
        rows = sizes.size
        tok, lengths = self._words(data, sizes)
        row_offsets = np.zeros(rows + 1, dtype=np.int64)
        np.cumsum(lengths, out=row_offsets[1:])
        own = np.repeat(np.arange(rows, dtype=np.int64), lengths)
        # every row has at least one word (an empty text is one empty word), so reduceat sees no empty segment
        position = np.arange(tok.size) - row_offsets[own]
        longest = int(lengths.max()) if lengths.size else 0
        terms = tok * (self._powers if longest <= self._powers.size else _powers(longest))[position]
        digests = _fmix(np.add.reduceat(terms, row_offsets[:-1]) + lengths.astype(np.uint64) * _GOLDEN) \
            if tok.size else np.zeros(0, dtype=np.uint64)
        # k-grams at every token position (those straddling two rows are masked out below)
        count = max(tok.size - k + 1, 0)
        combined = np.full(count, self._seed, dtype=np.uint64)
        for j in range(k):
            combined *= _GOLDEN
            combined += tok[j:j + count]
        valid = np.ones(count, dtype=bool)
        ends = row_offsets[1:]
        full_ends = ends[lengths >= k]
        for j in range(1, k):  # the last k-1 starts of a full row run into the next row
            cut = full_ends - j
            valid[cut[cut < count]] = False
        short = np.flatnonzero(lengths < k)
        extra = []
        for row in short.tolist():  # a short row is one shingle of all its words
            lo, hi = int(row_offsets[row]), int(row_offsets[row + 1])
            valid[lo:min(hi, count)] = False
            value = int(self._seed)
            for word in tok[lo:hi].tolist():
                value = (value * int(_GOLDEN) + word) & 0xFFFFFFFFFFFFFFFF
            extra.append(value)
        values = np.concatenate([combined[valid], np.asarray(extra, dtype=np.uint64)])
        return _fmix(values), np.concatenate([own[:count][valid], short]), digests

    def _signatures(self, data: bytes, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Densified one-permutation MinHash signatures, shape (rows, num_perm), and the rows' digests, of the
        texts in `data` (see `_words`)."""
        values, rows, digests = self._shingles(data, sizes)
        m = self.num_perm
        bins = ((values >> _S32) * np.uint64(m)) >> _S32
        flat = np.full(sizes.size * m, _EMPTY, dtype=np.uint64)
        np.minimum.at(flat, rows * m + bins.astype(np.int64), values & _MASK32)
        sig = flat.reshape(sizes.size, m)
        distance = np.zeros(sig.shape, dtype=np.uint64)
        for _ in range(2):  # an empty bin takes the nearest non-empty bin to its right (circularly)
            for col in range(m - 1, -1, -1):
                nxt = (col + 1) % m
                fill = (sig[:, col] == _EMPTY) & (sig[:, nxt] != _EMPTY)
                sig[fill, col] = sig[fill, nxt]
                distance[fill, col] = distance[fill, nxt] + np.uint64(1)
        return sig | (distance << _S32), digests

    def _band_keys_for(self, sig: np.ndarray, labels: Sequence[str]) -> np.ndarray:
        banded = sig.reshape(sig.shape[0], self.bands, sig.shape[1] // self.bands)
        keys = (banded * self._mix).sum(axis=2, dtype=np.uint64) ^ self._band_salt
        bad = np.asarray([label == "bad" for label in labels], dtype=bool)
        keys[bad] = keys[bad] * _GOLDEN + np.uint64(1)
        return keys

    def prepare(self, records: Sequence[Record]) -> Prepared:
        """The stateless part of `keep_mask` (may run in another process): the exact digests and the LSH band
        keys of every record (a record's keys depend on its own text and label only)."""
        digests = keys = None
        if self.near:
            labels = [r.label for r in records]
            data, sizes = batch_texts(records)
            starts = text_starts(sizes)
            chunks = [(i, *self._signatures(data[starts[i]:starts[min(i + _ROWS, sizes.size)]], sizes[i:i + _ROWS]))
                      for i in range(0, sizes.size, _ROWS)]
            keys = np.concatenate([np.zeros((0, self.bands), dtype=np.uint64)] + [
                self._band_keys_for(sig, labels[i:i + _ROWS]) for i, sig, _ in chunks])
            if self.exact:  # the word hashes are at hand: a digest of the word sequence, the label mixed in
                text_digests = np.concatenate([np.zeros(0, dtype=np.uint64)] + [d for _, _, d in chunks])
                bad = np.fromiter((label == "bad" for label in labels), dtype=bool, count=len(labels))
                digests = _fmix(text_digests ^ np.where(bad, _C1, _C2))
        elif self.exact:
            texts = [dedup_text(r) for r in records]
            blake = hashlib.blake2b
            digests = np.fromiter((int.from_bytes(blake(f"{r.label}\n{t}".encode(), digest_size=8).digest(), "big")
                                   for r, t in zip(records, texts, strict=True)), dtype=np.uint64, count=len(texts))
        return digests, keys

    def keep_mask(self, records: Sequence[object], prepared: Prepared | None = None) -> list[bool]:
        """For each record in order: True to keep it, False when it duplicates an earlier kept record.

        `prepared` is `prepare(records)` when it was computed elsewhere (the same values either way); then
        `records` only gives the count (any sequence of one item per record does).
        """
        if not records or not (self.exact or self.near):
            return [True] * len(records)
        digests, all_keys = prepared if prepared is not None else self.prepare(records)  # type: ignore[arg-type]
        keep = [True] * len(records)
        if self.exact:
            assert digests is not None
            seen = self._exact_keys.contains(digests)
            if seen.any() or np.unique(digests).size < digests.size:  # duplicates: decide in order
                seen_before = seen.tolist()
                local: set[int] = set()
                for i, digest in enumerate(digests.tolist()):
                    if seen_before[i] or digest in local:
                        keep[i] = False
                        self.removed["exact"] += 1
                    local.add(digest)
            self._exact_keys.add(digests[np.asarray(keep)])
        if self.near:
            assert all_keys is not None
            candidates = [i for i, k in enumerate(keep) if k]
            keys = all_keys if len(candidates) == len(keep) else all_keys[candidates]
            seen = self._band_keys.contains(keys).any(axis=1)
            if not seen.any() and np.unique(keys).size == keys.size:  # no collision at all: keep every row
                self._band_keys.add(keys.ravel())
                return keep
            seen_before = seen.tolist()
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
        """Duplicate counts and the MinHash parameters (for the manifest)."""
        return {"exact_removed": self.removed["exact"], "near_removed": self.removed["near"],
                "exact_enabled": self.exact, "near_enabled": self.near,
                "minhash": {"num_perm": self.num_perm, "bands": self.bands, "shingle": self.shingle,
                            "scheme": "one-permutation, rotation densified"}}

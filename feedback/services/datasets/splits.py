"""Deterministic, leak-free train/validation/test assignment.

The split of a row is a pure function of `(seed, conversation_id)`: a 64-bit BLAKE2b hash mapped to [0, 1)
and compared with the cumulative ratios. Every row of a conversation therefore lands in the same split, no
state is kept per conversation (bounded memory for any number of rows), and the same seed always gives the
same assignment. Because the hash is independent of the label, each label's rows are divided in the same
proportions (stratified in expectation); the manifest reports the realised counts per split and label.
"""

from __future__ import annotations

import hashlib

from feedback.services.datasets.records import SPLITS

_SCALE = float(1 << 64)


class Splitter:
    """Maps a conversation id to `train`, `validation` or `test`."""

    def __init__(self, seed: int, train: float, validation: float, test: float) -> None:
        total = train + validation + test
        if min(train, validation, test) < 0 or abs(total - 1.0) > 1e-9:
            raise ValueError("split ratios must be non-negative and sum to 1")
        self.seed = seed
        self._bounds = (train, train + validation)
        self._last: tuple[str, str] = ("", "")  # rows of one conversation usually arrive together

    def position(self, conversation_id: str) -> float:
        """The conversation's stable position in [0, 1) for this seed."""
        digest = hashlib.blake2b(f"{self.seed}\x1f{conversation_id}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / _SCALE

    def assign(self, conversation_id: str) -> str:
        """The split every row of this conversation belongs to."""
        if self._last[0] == conversation_id and conversation_id:
            return self._last[1]
        position = self.position(conversation_id)
        low, high = self._bounds
        split = SPLITS[0] if position < low else (SPLITS[1] if position < high else SPLITS[2])
        self._last = (conversation_id, split)
        return split

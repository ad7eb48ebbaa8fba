"""The normalised texts deduplication compares, built for a whole batch at once.

A record's dedup text is its messages as `role: content`, its response and its correction, joined with spaces,
lower-cased, with whitespace runs collapsed to one space and the ends stripped (`dedup_text`). MinHash wants
the texts of a batch as one buffer (`joined_texts`: each text followed by one space, and the texts' byte
sizes). `batch_texts` builds that buffer directly from the records' fields with one join and one `lower()` for
the batch, instead of a string per record: it is byte for byte the buffer `joined_texts` gives for the records'
`dedup_text`s (rows it cannot prove normalised are normalised one by one).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from feedback.services.datasets.records import Record

_ROLE_PREFIX: dict[str, str] = {}  # role -> "role:" (a handful of roles: no bound needed in practice)


def dedup_text(record: Record) -> str:
    """The normalised text two records must share to be duplicates (prompt + answer; the label is keyed apart).

    Lower-cased, whitespace runs collapsed to one space (`str.split()` uses the same Unicode whitespace
    set as the regex `\\s`), ends stripped. ASCII text without tabs, newlines, double or edge spaces inside its
    parts is already normalised once the parts are joined with spaces (checked, not assumed).
    """
    parts = [f"{m.role}: {m.content}" for m in record.messages]
    parts.append(record.response)
    if record.correction:
        parts.append(record.correction)
    joined = " ".join(p for p in parts if p).lower()  # an empty part only adds separators `split` drops
    # printable ASCII has no whitespace but the space (tabs, newlines and \x1c-\x1f are control characters)
    if joined.isascii() and joined.isprintable() and "  " not in joined and joined[:1] != " " \
            and joined[-1:] != " ":
        return joined
    return " ".join(joined.split())


def joined_texts(texts: Sequence[str]) -> tuple[bytes, np.ndarray]:
    """The texts as one UTF-8 buffer, each followed by one space, and their byte sizes."""
    joined = " ".join(texts)
    sizes = np.fromiter(map(len, texts) if joined.isascii() else (len(t.encode()) for t in texts),
                        dtype=np.int64, count=len(texts))
    return (joined + " ").encode(), sizes


def text_starts(sizes: np.ndarray) -> np.ndarray:
    """Where each text of a `joined_texts` buffer begins, and (last) the buffer's length plus one."""
    starts = np.zeros(sizes.size + 1, dtype=np.int64)
    np.cumsum(sizes + 1, out=starts[1:])
    return starts


def batch_texts(records: Sequence[Record]) -> tuple[bytes, np.ndarray]:
    """`joined_texts([dedup_text(r) for r in records])`, built from the batch's fields in one pass.

    The fields are joined once and lower-cased once. When that is ASCII, each row's text is already its dedup
    text unless it holds a control character (tabs, newlines and the like need collapsing) or two spaces in a
    row (an empty or space-edged field): only such rows are normalised one by one. A batch with non-ASCII
    text, or a row with no text at all, takes the per-record route.
    """
    pieces: list[str] = []
    counts: list[int] = []
    prefix = _ROLE_PREFIX
    for record in records:
        before = len(pieces)
        for message in record.messages:  # f"{role}: {content}" is "role:" and the content joined by a space
            role = message.role
            pieces.append(prefix.get(role) or prefix.setdefault(role, role + ":"))
            pieces.append(message.content)
        if record.response:
            pieces.append(record.response)
        if record.correction:
            pieces.append(record.correction)
        counts.append(len(pieces) - before)
    joined = " ".join(pieces)
    if not joined.isascii() or 0 in counts:
        return joined_texts([dedup_text(r) for r in records])
    data = joined.lower().encode()
    per_row = np.asarray(counts, dtype=np.int64)
    first = np.zeros(per_row.size, dtype=np.int64)
    np.cumsum(per_row[:-1], out=first[1:])
    lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
    sizes = np.add.reduceat(lengths, first) + per_row - 1 if pieces else np.zeros(0, dtype=np.int64)
    codes = np.frombuffer(data, dtype=np.uint8)
    suspect = np.flatnonzero(codes < 32)
    doubled = np.flatnonzero((codes[1:] == 32) & (codes[:-1] == 32))
    if not suspect.size and not doubled.size and data[:1] != b" " and data[-1:] != b" ":
        return data + b" ", sizes
    starts = text_starts(sizes)
    positions = np.concatenate([suspect, doubled, doubled + 1])
    flagged = set((np.searchsorted(starts, positions, side="right") - 1).tolist())
    flagged.update(edge for edge, space in ((0, data[:1] == b" "), (sizes.size - 1, data[-1:] == b" ")) if space)
    text = data.decode("ascii")
    return joined_texts([dedup_text(r) if i in flagged else text[starts[i]:starts[i] + sizes[i]]
                         for i, r in enumerate(records)])

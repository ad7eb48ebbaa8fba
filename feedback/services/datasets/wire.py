"""Records across the reader pipe as columns: one list per field instead of one pickled object per record;
or, when every output can be rendered ahead, a `RenderedBatch`: the writers' output and the few fields the
deciding side needs, no records at all.

Pickling a `Record` (with its messages, timestamp and metadata) costs ~12 us and unpickling ~19 us, because
pickle rebuilds every object through its constructor; lists of strings and numbers pickle at a fraction of a
microsecond per value. `pack` turns a batch into such columns, `unpack` rebuilds the identical records (with the fast
constructors of `records`). UTC timestamps travel as integer microseconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any, NamedTuple

from feedback.services.datasets.records import Message, Provenance, Record, new_message, new_record

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def _micros(stamps: list[datetime]) -> list[int] | None:
    """Microseconds since the epoch when every stamp is a UTC-aware datetime (else None: sent as objects)."""
    if not all(type(s) is datetime and s.tzinfo is UTC for s in stamps):
        return None
    return [(s - _EPOCH) // _MICRO for s in stamps]


def pack(records: list[Record]) -> tuple[Any, ...]:
    """The batch's fields as columns (messages flattened with a count per record)."""
    counts = [len(r.messages) for r in records]
    roles = [m.role for r in records for m in r.messages]
    contents = [m.content for r in records for m in r.messages]
    stamps = [r.created_at for r in records]
    micros = _micros(stamps)
    return (counts, roles, contents, [r.interaction_id for r in records], [r.conversation_id for r in records],
            [r.response for r in records], [r.model for r in records], [r.model_version for r in records],
            stamps if micros is None else micros, micros is not None, [r.label for r in records],
            [r.rating for r in records], [r.correction for r in records], [r.provenance for r in records],
            [r.reasons for r in records], [r.tags for r in records], [r.pairwise for r in records],
            [r.metadata for r in records])


def _messages(counts: list[int], roles: list[str], contents: list[str]) -> list[tuple[Message, ...]]:
    flat = iter([new_message(role, content) for role, content in zip(roles, contents, strict=True)])
    return [tuple(islice(flat, count)) for count in counts]


def unpack(columns: tuple[Any, ...]) -> list[Record]:
    """The records `pack` was given, equal field by field."""
    (counts, roles, contents, ids, conversations, responses, models, versions, stamps, as_micros, labels,
     ratings, corrections, provenances, reasons, tags, pairwise, metadata) = columns
    if as_micros:
        stamps = [_EPOCH + timedelta(microseconds=m) for m in stamps]
    return [new_record(*fields) for fields in zip(
        ids, conversations, _messages(counts, roles, contents), responses, models, versions, stamps, labels,
        ratings, corrections, provenances, reasons, tags, pairwise, metadata, strict=True)]


class RenderedBatch(NamedTuple):
    """A batch after the front stage, rendered by every writer (`Writer.render`), with its dedup keys
    (`Deduper.prepare`): what is left to decide per record (dedup, split, counts, index line) needs only these
    fields."""

    ids: list[int]
    conversations: list[str]
    labels: list[str]
    provenances: list[Provenance]
    digests: list[str]
    prepared: Any
    outputs: list[Any]


def rendered(records: list[Record], digests: list[str], prepared: Any, outputs: list[Any]) -> RenderedBatch:
    """The `RenderedBatch` of the front stage's records, their digests, dedup keys and writer outputs."""
    return RenderedBatch([r.interaction_id for r in records], [r.conversation_id for r in records],
                         [r.label for r in records], [r.provenance for r in records], digests, prepared, outputs)

"""Records across the reader pipe as columns: one list per field instead of one pickled object per record.

Pickling a `Record` (with its messages, timestamp and metadata) costs ~12 us and unpickling ~19 us, because
pickle rebuilds every object through its constructor; lists of strings and numbers pickle at a fraction of a
microsecond per value. `pack` turns a batch into such columns, `unpack` rebuilds the identical records, setting
the frozen classes' slots directly (their generated `__init__` goes through `object.__setattr__` per field,
twice as slow). UTC timestamps travel as integer microseconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from feedback.services.datasets.records import Message, Record

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_new = object.__new__
_set_role, _set_content = Message.role.__set__, Message.content.__set__  # type: ignore[attr-defined]
_FIELDS = Record.__slots__  # type: ignore[attr-defined]
_SETTERS = tuple(getattr(Record, name).__set__ for name in _FIELDS)
(_s_id, _s_conversation, _s_messages, _s_response, _s_model, _s_version, _s_created, _s_label, _s_rating,
 _s_correction, _s_provenance, _s_reasons, _s_tags, _s_pairwise, _s_metadata) = _SETTERS
_SHARED_MAX = 1000  # distinct system prompts kept as shared Message objects while unpacking


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
    shared: dict[str, Message] = {}
    out: list[tuple[Message, ...]] = []
    start = 0
    for count in counts:
        built = []
        for role, content in zip(roles[start:start + count], contents[start:start + count], strict=True):
            message = shared.get(content) if role == "system" else None
            if message is None:
                message = _new(Message)
                _set_role(message, role)
                _set_content(message, content)
                if role == "system" and len(shared) < _SHARED_MAX:
                    shared[content] = message
            built.append(message)
        out.append(tuple(built))
        start += count
    return out


def unpack(columns: tuple[Any, ...]) -> list[Record]:
    """The records `pack` was given, equal field by field."""
    (counts, roles, contents, ids, conversations, responses, models, versions, stamps, as_micros, labels,
     ratings, corrections, provenances, reasons, tags, pairwise, metadata) = columns
    if as_micros:
        stamps = [_EPOCH + timedelta(microseconds=m) for m in stamps]
    out = []
    for (iid, conversation, messages, response, model, version, stamp, label, rating, correction, provenance,
         reason, tag, pair, meta) in zip(ids, conversations, _messages(counts, roles, contents), responses, models,
                                         versions, stamps, labels, ratings, corrections, provenances, reasons,
                                         tags, pairwise, metadata, strict=True):
        record = _new(Record)
        _s_id(record, iid)
        _s_conversation(record, conversation)
        _s_messages(record, messages)
        _s_response(record, response)
        _s_model(record, model)
        _s_version(record, version)
        _s_created(record, stamp)
        _s_label(record, label)
        _s_rating(record, rating)
        _s_correction(record, correction)
        _s_provenance(record, provenance)
        _s_reasons(record, reason)
        _s_tags(record, tag)
        _s_pairwise(record, pair)
        _s_metadata(record, meta)
        out.append(record)
    return out

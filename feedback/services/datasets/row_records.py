"""The export query's rows of one interaction -> one resolved `Record`.

A row is the interaction's columns followed by one signal (feedback or annotation), as `query.build_query`
returns them: JSON columns as JSON text and (on SQLite) timestamps as stored text, decoded here without
SQLAlchemy's per-value processors. The label comes from `resolve_label` (a lone signal without a correction is
memoised: a handful of values decide it); pairwise annotations among the rows become `PairwiseJudgement`s.
Repeating values (system prompts, metadata texts) are shared between records, which are never mutated.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import DateTime
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect

from feedback.services.datasets.labels import resolve_label, resolve_single
from feedback.services.datasets.records import (
    FeedbackSignal,
    Message,
    PairwiseJudgement,
    Record,
    Resolution,
    new_message,
    new_record,
)

_FAST_STAMP = 26  # len('2024-01-01 00:00:03.000000'), the form SQLAlchemy stores on SQLite


def _content(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # multimodal parts: keep the text parts
        return "".join(p.get("text", "") for p in value if isinstance(p, dict))
    return "" if value is None else json.dumps(value, sort_keys=True)


def _loads(value: Any) -> Any:
    """JSON text to Python (orjson, falling back to `json` for what it rejects, e.g. NaN or huge ints)."""
    if value is None or not isinstance(value, str | bytes):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return json.loads(value)


_SQLITE = sqlite_dialect()
_PARSE_STAMP = DateTime(timezone=True).dialect_impl(_SQLITE).result_processor(_SQLITE, None)


def _stamp(value: Any) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (what `UTCDateTime` returns)."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) == _FAST_STAMP and value[10] == " " and value[19] == ".":  # the stored form: parse in C
            return datetime.fromisoformat(value + "+00:00")  # tzinfo is UTC (`.replace` would cost 1.4 us more)
        value = _PARSE_STAMP(value)
    zone = value.tzinfo
    if zone is UTC:  # psycopg's own datetimes in a UTC session (see `source`)
        return value
    return value.replace(tzinfo=UTC) if zone is None else value.astimezone(UTC)


def _score(score: Any, rating: Any, verdict: Any, scale: tuple[float, float]) -> tuple[Any, float, float]:
    """The signal's (score, scale min, scale max): a verdict is -1/1, a Label Studio rating is on 1..5."""
    if verdict in ("good", "bad"):
        return (1.0 if verdict == "good" else -1.0), -1.0, 1.0
    if score is None and rating is not None:
        return rating, 1.0, 5.0  # Label Studio rating control: 1..5 stars
    return score, scale[0], scale[1]


def _reasons(raw: Any) -> tuple[str, ...]:
    if raw is None or raw == "[]":
        return ()
    reasons = _loads(raw)
    return tuple(r for r in reasons if isinstance(r, str)) if reasons else ()


def _signal(row: Any, scale: tuple[float, float]) -> FeedbackSignal:
    source, score, rating, verdict, correction, reasons, voter, at, uid = row[8:17]
    score, low, high = _score(score, rating, verdict, scale)
    return FeedbackSignal(source, score, low, high, correction, _reasons(reasons), str(voter), _stamp(at),
                          str(uid))


_MEMO_SIZE = 10_000  # entries of each memo below before it is reset (bounded memory)
_SINGLE: dict[tuple[Any, ...], Resolution | None] = {}


def _resolve(first: Any, more: list[Any] | None, scale: tuple[float, float]) -> Resolution | None:
    """The label of one interaction from its signal rows (one row: without building a `FeedbackSignal`).

    A single signal without a correction is decided by a handful of values that repeat across rows (source,
    score, reasons): its (immutable) resolution is memoised.
    """
    if more is None:
        source, score, rating, verdict, correction, reasons = first[8:14]
        key = None if correction is not None else (source, score, rating, verdict, reasons, scale)
        if key is not None:
            found = _SINGLE.get(key, _SINGLE)
            if found is not _SINGLE:
                return found  # type: ignore[return-value]
        score, low, high = _score(score, rating, verdict, scale)
        resolution = resolve_single(source, score, low, high, correction, _reasons(reasons))
        if key is not None:
            if len(_SINGLE) >= _MEMO_SIZE:
                _SINGLE.clear()
            _SINGLE[key] = resolution
        return resolution
    return resolve_label([_signal(row, scale) for row in (first, *more)])


_SYSTEM: dict[str, Message] = {}  # system prompts repeat across a project's rows: one shared (immutable) Message
_SYSTEM_MAX = 1000


def _message(item: dict[str, Any]) -> Message:
    role = item.get("role", "user")
    content = item.get("content")
    if type(content) is not str:
        content = _content(content)
    if role != "system":
        return new_message(role if type(role) is str else str(role), content)
    shared = _SYSTEM.get(content)
    if shared is None:
        if len(_SYSTEM) >= _SYSTEM_MAX:
            _SYSTEM.clear()
        shared = _SYSTEM[content] = new_message(role, content)
    return shared


def _messages(raw: Any) -> tuple[Message, ...]:
    items = _loads(raw)
    return tuple([_message(m) for m in items if isinstance(m, dict)]) if items else ()


_META: dict[Any, tuple[dict[str, Any], tuple[str, ...]]] = {}
_META_TEXT = 500  # memoise metadata texts up to this length


def _metadata(raw: Any) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The interaction's metadata without `tags`, and its tags sorted.

    Metadata texts repeat across rows (channel, app, the same tags): short ones are decoded once. Records then
    share the dict, which is never mutated (records are read-only throughout the pipeline).
    """
    memo = isinstance(raw, str) and len(raw) <= _META_TEXT
    if memo:
        found = _META.get(raw)
        if found is not None:
            return found
    meta = _loads(raw) or {}
    tags = meta.get("tags")
    tags = tuple(sorted(str(t) for t in tags if isinstance(t, str | int))) if isinstance(tags, list) else ()
    if "tags" in meta:
        meta = {k: v for k, v in meta.items() if k != "tags"}
    if memo:
        if len(_META) >= _MEMO_SIZE:
            _META.clear()
        _META[raw] = (meta, tags)
    return meta, tags


def _pairwise(first: Any, more: list[Any] | None) -> tuple[PairwiseJudgement, ...]:
    """Pairwise annotations among the interaction's signal rows: preference `a` is this response, `b` the
    compared one (rows without the compared text cannot make a pair and are skipped)."""
    if more is None:
        if first[17] is None or first[18] is None:
            return ()
        rows: Any = (first,)
    else:
        rows = (first, *more)
    return tuple(PairwiseJudgement(row[18], "this" if row[17] == "a" else "other") for row in rows
                 if row[17] in ("a", "b") and row[18] is not None)


def _record(first: Any, resolution: Resolution | None, more: list[Any] | None = None) -> Record | None:
    if resolution is None:
        return None
    iid, conversation_id, raw_messages, response, model, model_version, created_at, raw_meta = first[:8]
    meta, tags = _metadata(raw_meta)
    return new_record(iid, conversation_id or f"interaction-{iid}", _messages(raw_messages), response or "",
                  model or "", model_version or "", _stamp(created_at), resolution.label, resolution.rating,
                  resolution.correction, resolution.provenance, resolution.reasons, tags, _pairwise(first, more), meta)


def record_from_rows(first: Any, more: list[Any] | None, scale: tuple[float, float]) -> Record | None:
    """The record of one interaction from its first row and further rows (None: one row); None when its
    signals resolve to no label. `scale` is the feedback key's (min, max)."""
    return _record(first, _resolve(first, more, scale), more)

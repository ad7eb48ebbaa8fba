"""Stream resolved records from the database with a server-side cursor.

The query (`query.build_query`) joins interactions with their signals, ordered by interaction id; it is
fetched `yield_per` rows at a time with `stream_results`, so PostgreSQL uses a named cursor and SQLite steps its
cursor: memory stays at one batch.
Consecutive rows of one interaction are grouped, resolved with `resolve_label`, and turned into a `Record`
(with the pairwise judgements among its annotation rows).
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import DateTime, create_engine
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from feedback.models import Project
from feedback.services.datasets.labels import resolve_label, resolve_single
from feedback.services.datasets.params import ExportParams
from feedback.services.datasets.prefetch import put_until_stopped
from feedback.services.datasets.query import build_query, has_annotations, key_scale
from feedback.services.datasets.records import (
    FeedbackSignal,
    Message,
    PairwiseJudgement,
    Record,
    Resolution,
    new_message,
    new_record,
)

YIELD_PER = 5000
# PostgreSQL is read a partition ahead by a thread (`_fetched`), so up to three partitions are alive at once
# (the queued one, the one being fetched, the one being processed): smaller partitions keep the reader's memory
# down; the extra FETCH round trips (one per 1,000 rows) overlap with the per-row work like the rest.
AHEAD_PER = 1000
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
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        value = _PARSE_STAMP(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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


@contextmanager
def read_connection(session: Session) -> Iterator[Connection]:
    """A connection for one long streaming read.

    PostgreSQL: the session's own connection (a named cursor in its read transaction). SQLite: a separate
    plain connection, because the app's SQLite engine opens every transaction with `BEGIN IMMEDIATE`, which
    would hold the write lock (and block ingest) for the whole export; a single SELECT in WAL mode reads one
    consistent snapshot without any lock held against writers.
    """
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        yield session.connection()
        return
    engine = create_engine(bind.url.render_as_string(hide_password=False), poolclass=NullPool,
                           connect_args={"check_same_thread": False, "timeout": 30})
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def stream_records(session: Session, project: Project, params: ExportParams,
                   stats: dict[str, Any]) -> Iterator[Record]:
    """Resolved records of the project in interaction-id order; `stats` counts scanned and unresolved rows."""
    with read_connection(session) as connection:
        yield from _stream(connection, session, project, params, stats)


def _fetched(result: Any, size: int) -> Iterator[list[Any]]:
    """`result.partitions(size)`, fetched one partition ahead by a thread: the driver releases the GIL
    while it waits for the server, so that wait overlaps with this thread's per-row work. Only the fetching
    thread touches the result until it has finished."""
    ready: queue.Queue[Any] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: Any) -> None:
        put_until_stopped(ready, item, stop)

    def fetch() -> None:
        try:
            for partition in result.partitions(size):
                put(partition)
                if stop.is_set():
                    return
            put(None)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consuming thread
            put(exc)

    fetcher = threading.Thread(target=fetch, name="export-fetch", daemon=True)
    fetcher.start()
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        fetcher.join()


def _groups(result: Any, counts: dict[str, int], ahead: bool,
            size: int) -> Iterator[tuple[Any, list[Any] | None]]:
    """Consecutive signal rows of one interaction as (first row, further rows or None); counts the rows.

    Rows are fetched `size` at a time; `ahead`: through `_fetched` (PostgreSQL, where the wait for the server is
    worth overlapping).
    """
    current: Any = None
    more: list[Any] | None = None  # further signal rows of the current interaction (rare)
    for partition in _fetched(result, size) if ahead else result.partitions(size):
        counts["signals"] += len(partition)
        for row in partition:
            if current is not None:
                if row[0] == current[0]:
                    if more is None:
                        more = []
                    more.append(row)
                    continue
                yield current, more
                more = None
            current = row
    if current is not None:
        yield current, more


def _stream(connection: Connection, session: Session, project: Project, params: ExportParams,
            stats: dict[str, Any]) -> Iterator[Record]:
    scale = key_scale(project, params.feedback_key)
    query = build_query(session, project.id, params)
    stats.update({"interactions_scanned": 0, "unresolved": 0, "signals": 0, "feedback_key": params.feedback_key,
                  "annotations_included": has_annotations(session)})
    ahead = connection.dialect.name == "postgresql"
    size = AHEAD_PER if ahead else YIELD_PER  # also the driver's fetch size: SQLAlchemy buffers that many rows
    result = connection.execute(query, execution_options={"yield_per": size, "stream_results": True})
    counts = {"signals": 0}
    scanned = unresolved = 0
    for first, more in _groups(result, counts, ahead, size):
        scanned += 1
        record = _record(first, _resolve(first, more, scale), more)
        if record is None:
            unresolved += 1
        else:
            yield record
        if scanned % YIELD_PER == 0:
            stats.update(interactions_scanned=scanned, unresolved=unresolved, signals=counts["signals"])
    stats.update(interactions_scanned=scanned, unresolved=unresolved, signals=counts["signals"])

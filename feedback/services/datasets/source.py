"""Stream resolved records from the database with a server-side cursor.

The query (`query.build_query`) joins interactions with their signals, ordered by interaction id; it is
fetched a partition at a time from the driver's cursor (PostgreSQL: a named, server-side cursor; SQLite steps
its cursor as rows are fetched): memory stays at a few partitions.
Consecutive rows of one interaction are grouped and turned into a `Record` by `row_records.record_from_rows`.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from feedback.models import Project
from feedback.services.datasets.params import ExportParams
from feedback.services.datasets.prefetch import put_until_stopped
from feedback.services.datasets.query import build_query, has_annotations, key_scale
from feedback.services.datasets.records import Record
from feedback.services.datasets.row_records import record_from_rows

YIELD_PER = 5000
# PostgreSQL is read a partition ahead by a thread (`_fetched`), so up to three partitions are alive at once
# (the queued one, the one being fetched, the one being processed): smaller partitions keep the reader's memory
# down; the extra FETCH round trips (one per 1,000 rows) overlap with the per-row work like the rest.
AHEAD_PER = 1000


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


def _fetched(partitions: Iterator[list[Any]]) -> Iterator[list[Any]]:
    """`partitions`, fetched one partition ahead by a thread: the driver releases the GIL while it waits for
    the server, so that wait overlaps with this thread's per-row work. Only the fetching thread touches the
    cursor until it has finished."""
    ready: queue.Queue[Any] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: Any) -> None:
        put_until_stopped(ready, item, stop)

    def fetch() -> None:
        try:
            for partition in partitions:
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


def _server_cursor(connection: Connection, query: Any) -> Any:
    """The query executed in a psycopg server-side (named) cursor of the connection's transaction.

    The driver's own cursor, not SQLAlchemy's streaming result: its rows are plain tuples holding the same
    values (no column of the export query has a result processor on PostgreSQL), without ~1.5 us a row of
    `Row` objects and buffering in the reader process. Parameters are plain values (ints, strings, aware UTC
    datetimes, expanded IN lists), which psycopg adapts as SQLAlchemy would.
    """
    compiled = query.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    dbapi = connection.connection.dbapi_connection
    # timestamps then arrive with psycopg's `timezone.utc`, which records keep as is (no `astimezone` per row)
    dbapi.execute("SET LOCAL timezone = 'UTC'")  # type: ignore[union-attr]
    cursor = dbapi.cursor(name="feedback_export")  # type: ignore[union-attr]
    cursor.itersize = AHEAD_PER
    cursor.execute(str(compiled), compiled.params)
    return cursor


def _cursor_partitions(cursor: Any, size: int) -> Iterator[list[Any]]:
    """The DBAPI cursor's rows, `size` at a time, as the driver's plain tuples."""
    while rows := cursor.fetchmany(size):
        yield rows


def _groups(partitions: Iterator[list[Any]], counts: dict[str, int]) -> Iterator[tuple[Any, list[Any] | None]]:
    """Consecutive signal rows of one interaction as (first row, further rows or None); counts the rows."""
    current: Any = None
    more: list[Any] | None = None  # further signal rows of the current interaction (rare)
    for partition in partitions:
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
    cursor: Any = None
    if connection.dialect.name == "postgresql":  # a named cursor, read a partition ahead (see `_fetched`)
        cursor = _server_cursor(connection, query)
        partitions = _fetched(_cursor_partitions(cursor, AHEAD_PER))
    else:
        # SQLite steps its cursor only as rows are fetched, so the plain DBAPI cursor streams: its tuples hold
        # the same values as SQLAlchemy's rows (no column here has a result processor on SQLite) without the
        # ~1 us a row of building `Row` objects, in the reader process that limits SQLite exports.
        result = connection.execute(query)  # (kept referenced while its cursor is read)
        partitions = _cursor_partitions(result.cursor, YIELD_PER)
    counts = {"signals": 0}
    scanned = unresolved = 0
    try:
        for first, more in _groups(partitions, counts):
            scanned += 1
            record = record_from_rows(first, more, scale)
            if record is None:
                unresolved += 1
            else:
                yield record
            if scanned % YIELD_PER == 0:
                stats.update(interactions_scanned=scanned, unresolved=unresolved, signals=counts["signals"])
    finally:
        partitions.close()  # stops the fetching thread before the cursor goes
        if cursor is not None and not cursor.closed:
            cursor.close()
    stats.update(interactions_scanned=scanned, unresolved=unresolved, signals=counts["signals"])

"""Engine, sessions, the declarative base with a constraint naming convention, and portable column types."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson
from flask import current_app
from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from feedback import sqlite_gate
from feedback.group_commit import GroupCommit

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments INTEGER PRIMARY KEY, so BIGINT ids become INTEGER there.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base for every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def dumps_json(value: Any) -> str:
    """JSON text for a JSON column: orjson (compact, several times faster than `json.dumps`), falling back to
    `json.dumps` for what orjson refuses (integers beyond 64 bits, non-string keys)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


SQLITE_SYNCHRONOUS = "NORMAL"
POSTGRES_GROUPS_IN_FLIGHT = 2  # per process; measured against 1 and unbounded with `bench/ingest`


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Durability choice: in WAL mode NORMAL makes every committed transaction survive a crash of the process
    # (the commit is in the WAL file before COMMIT returns); only an OS crash or power loss can lose the last
    # commits. FULL adds an fsync per commit (~4 ms here) that serialises all writers behind the disk.
    cursor.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS}")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the project's per-backend settings."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               json_serializer=dumps_json, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let SQLAlchemy's BEGIN decide when the write lock is taken (pysqlite's own handling is off).
        event.listen(engine, "connect", lambda conn, _r: setattr(conn, "isolation_level", None))
        if path and path != ":memory:":
            sqlite_gate.install(engine, path)  # queues writers fairly, then BEGIN IMMEDIATE
        else:
            event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if kwargs.pop("no_pool", False):
        kwargs["poolclass"] = NullPool
    return create_engine(url, json_serializer=dumps_json, **kwargs)


class Database:
    """Holds one app's engine and scoped session; `init_app` stores it on the app and wires teardown."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self._factory: sessionmaker[Session] | None = None
        self.session: scoped_session[Session] = scoped_session(self._make_session)
        # reads that must not queue behind writers (SQLite only: see `get_read_session`)
        self.read_session: scoped_session[Session] = scoped_session(self._make_read_session)
        self._read_factory: sessionmaker[Session] | None = None
        self.group_commit = GroupCommit(self._make_session)  # small concurrent writes share a COMMIT

    def _make_session(self) -> Session:
        if self._factory is None:
            raise RuntimeError("database not initialised: call create_app() first")
        return self._factory()

    def _make_read_session(self) -> Session:
        if self._read_factory is None:
            raise RuntimeError("this database has no separate read sessions: use `session`")
        return self._read_factory()

    @property
    def reads_apart(self) -> bool:
        """Whether reads get their own sessions (SQLite: see `get_read_session`)."""
        return self._read_factory is not None

    def configure(self, url: str) -> None:
        """Point the database at `url` (creates the engine lazily: no connection is opened here)."""
        if self.engine is not None:
            self.read_session.remove()
            self.session.remove()
            self.engine.dispose()
        self.engine = make_engine(url)
        self._factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        sqlite = url.startswith("sqlite")
        self._read_factory = None
        if sqlite:
            reader = self.engine.execution_options(**{sqlite_gate.READ_ONLY: True})
            self._read_factory = sessionmaker(bind=reader, expire_on_commit=False)
        # SQLite serialises writers: one group at a time per process. A PostgreSQL commit waits on a WAL flush
        # (about 4 ms here) that the server shares between concurrent commits, so groups overlap there.
        self.group_commit.max_in_flight = 1 if sqlite else POSTGRES_GROUPS_IN_FLIGHT

    def init_app(self, app: Any) -> None:
        """Configure from the app's settings and remove the scoped session after each request."""
        self.configure(app.config["SETTINGS"].database_url)
        app.extensions["feedback.db"] = self
        app.teardown_appcontext(self._remove_sessions)
        # a read transaction is a snapshot: never let it outlive its request (an app context can hold several)
        app.teardown_request(lambda _exc: self.read_session.remove())

    def _remove_sessions(self, _exc: BaseException | None = None) -> None:
        self.read_session.remove()
        self.session.remove()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A fresh session in one transaction: committed on success, rolled back on error."""
        session = self._make_session()
        try:
            with session.begin():
                yield session
        finally:
            session.close()


def get_db() -> Database:
    """The Database of the current Flask app."""
    return current_app.extensions["feedback.db"]


def get_session() -> Session:
    """The current app's scoped session (one per thread, removed at the end of each app context)."""
    return get_db().session()


def get_read_session() -> Session:
    """A scoped session for reads only (one per thread, removed with `get_session`'s).

    On SQLite every transaction of the regular session takes the writer gate and `BEGIN IMMEDIATE`, so a read
    would queue behind every write of every process; this session's transactions are plain snapshot reads that
    never wait for a writer, and any write in them fails (`PRAGMA query_only`). On PostgreSQL, where readers
    never wait for writers, it is the request's regular session.
    """
    database = get_db()
    return database.read_session() if database.reads_apart else database.session()


def run_grouped(work: Callable[[Session], T]) -> T:
    """Run a small write `work(session)` through the app's group commit and return its result once committed.

    The request's own session first ends whatever transaction its reads opened (on SQLite, a transaction holds
    the writer gate, which the group's session would then wait on forever).
    """
    database = get_db()
    session = database.session()
    if session.in_transaction():
        session.commit()
    return database.group_commit.run(work)

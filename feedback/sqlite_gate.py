"""A fair writer gate for SQLite: one write transaction at a time across every thread and process.

SQLite lets one writer in at a time. Without help, waiting writers poll the lock with SQLite's busy handler,
which sleeps 1, 2, 5, 10 ... up to 100 ms between tries, so under load a writer that just committed keeps
winning and the others starve (seconds of latency, a fraction of the throughput). The gate queues writers on an
exclusive `flock` of a side file (`<database>-writer.lock`) before `BEGIN IMMEDIATE`: the kernel wakes a waiter
as soon as the holder commits, in any process that opens the same database through `make_engine`.

The gate is released right after COMMIT or ROLLBACK has run (the gate runs them itself, then SQLAlchemy's own
DBAPI call is a no-op), and again, defensively, when the connection goes back to the pool or is closed. A thread
that already holds the gate through another connection does not wait on it (SQLite's busy timeout decides, as
it did before), so nested transactions cannot deadlock on the gate.

Reads need no gate: in WAL mode a reader sees one consistent snapshot while a writer works. A connection with
the execution option `READ_ONLY` (see `feedback.db.get_read_session`) starts a plain deferred `BEGIN` without
the gate and with `PRAGMA query_only` on, so a write slipped into a read transaction fails at once instead of
racing the writers; the pragma is switched off again when the transaction ends.
"""

from __future__ import annotations

import fcntl
import os
import threading
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_FD = "feedback.gate_fd"
_HELD = "feedback.gate_held"
_READ = "feedback.read_begin"  # set by the begin event: the transaction about to start only reads
_QUERY_ONLY = "feedback.query_only"  # this connection's transaction runs with PRAGMA query_only on
READ_ONLY = "feedback_read_only"  # the execution option that asks for a read transaction


class WriterGate:
    """An exclusive flock on `path`, taken per write transaction."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()

    def _fd(self, info: dict[str, Any]) -> int | None:
        if _FD not in info:
            try:
                info[_FD] = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                info[_FD] = None  # a read-only directory: fall back to SQLite's busy timeout
        return info[_FD]

    def acquire(self, info: dict[str, Any]) -> None:
        """Wait for the gate (unless this thread already holds it through another connection)."""
        if info.get(_HELD) or getattr(self._local, "depth", 0):
            return
        fd = self._fd(info)
        if fd is None:
            return
        fcntl.flock(fd, fcntl.LOCK_EX)  # blocks without the GIL
        info[_HELD] = True
        self._local.depth = 1

    def release(self, info: dict[str, Any]) -> None:
        """Open the gate if this connection holds it (idempotent)."""
        if not info.pop(_HELD, False):
            return
        self._local.depth = 0
        fd = info.get(_FD)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self, info: dict[str, Any]) -> None:
        """Release and close this connection's lock file descriptor."""
        held = info.pop(_HELD, False)
        fd = info.pop(_FD, None)
        if fd is not None:
            if held:
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def install(engine: Engine, database_path: str) -> WriterGate:
    """Make every transaction on `engine` pass the gate and start with BEGIN IMMEDIATE."""
    gate = WriterGate(f"{database_path}-writer.lock")

    @event.listens_for(engine, "begin")
    def _intent(conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.connection.info[_READ] = True

    def _begin(dbapi_connection: Any) -> None:
        # The dialect's own BEGIN step (pysqlite's is a no-op): SQLAlchemy wraps its errors like any statement's,
        # and the raw DBAPI call skips a full statement execution (~30 us per transaction).
        info = dbapi_connection.info
        if info.pop(_READ, False):
            dbapi_connection.execute("BEGIN")
            dbapi_connection.execute("PRAGMA query_only=1")
            info[_QUERY_ONLY] = True
            return
        gate.acquire(info)
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
        except BaseException:
            gate.release(info)
            raise

    engine.dialect.do_begin = _begin  # type: ignore[method-assign]

    def _finish(sql: str):
        def listener(conn: Any) -> None:
            proxied = conn.connection
            try:
                if proxied.dbapi_connection.in_transaction:
                    proxied.dbapi_connection.execute(sql)
            finally:
                if sql == "ROLLBACK" or not proxied.dbapi_connection.in_transaction:
                    gate.release(proxied.info)
                    _writable(proxied.dbapi_connection, proxied.info)
        return listener

    def _checkin(dbapi_connection: Any, record: Any) -> None:
        gate.release(record.info)
        _writable(dbapi_connection, record.info)

    event.listen(engine, "commit", _finish("COMMIT"))
    event.listen(engine, "rollback", _finish("ROLLBACK"))
    event.listen(engine, "checkin", _checkin)
    event.listen(engine, "close", lambda _dbapi, record: gate.close(record.info))
    return gate


def _writable(dbapi_connection: Any, info: dict[str, Any]) -> None:
    """Switch `query_only` off again after a read transaction (outside any transaction, as SQLite requires)."""
    info.pop(_READ, None)
    if info.pop(_QUERY_ONLY, False) and dbapi_connection is not None:
        if dbapi_connection.in_transaction:
            dbapi_connection.execute("ROLLBACK")
        dbapi_connection.execute("PRAGMA query_only=0")

"""The SQLite writer gate: held for exactly one write transaction, released on commit, rollback and checkin."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from feedback import sqlite_gate
from feedback.db import make_engine


def _gate_is_free(db_path: Path) -> bool:
    fd = os.open(f"{db_path}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops the probe's own lock
    return True


@pytest.fixture()
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "gate.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("create table counter (id integer primary key, n integer not null)"))
        conn.execute(text("insert into counter (id, n) values (1, 0)"))
    engine.dispose()
    return path


def test_gate_is_held_during_a_transaction_and_released_by_commit(db_path: Path) -> None:
    engine = make_engine(f"sqlite:///{db_path}")
    try:
        with engine.begin() as conn:
            conn.execute(text("update counter set n = n + 1"))
            assert not _gate_is_free(db_path)
        assert _gate_is_free(db_path)
        with engine.connect() as conn:
            assert conn.execute(text("select n from counter")).scalar_one() == 1
    finally:
        engine.dispose()


def test_rollback_releases_the_gate_and_discards_the_write(db_path: Path) -> None:
    engine = make_engine(f"sqlite:///{db_path}")
    try:
        with pytest.raises(RuntimeError), Session(engine) as session, session.begin():
            session.execute(text("update counter set n = 99"))
            raise RuntimeError("boom")
        assert _gate_is_free(db_path)
        session = Session(engine)
        session.execute(text("update counter set n = 98"))
        session.close()  # closing without commit rolls back and gives the connection back
        assert _gate_is_free(db_path)
        with engine.connect() as conn:
            assert conn.execute(text("select n from counter")).scalar_one() == 0
    finally:
        engine.dispose()


def test_concurrent_writers_from_two_engines_lose_no_update(db_path: Path) -> None:
    engines = [make_engine(f"sqlite:///{db_path}") for _ in range(2)]  # two engines stand for two processes
    errors: list[BaseException] = []

    def writer(engine) -> None:
        try:
            for _ in range(25):
                with engine.begin() as conn:
                    n = conn.execute(text("select n from counter where id = 1")).scalar_one()
                    conn.execute(text("update counter set n = :n where id = 1"), {"n": n + 1})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(engines[i % 2],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert not errors
        with engines[0].connect() as conn:
            assert conn.execute(text("select n from counter")).scalar_one() == 150
        assert _gate_is_free(db_path)
    finally:
        for engine in engines:
            engine.dispose()


def test_a_read_transaction_neither_takes_nor_waits_for_the_gate(db_path: Path) -> None:
    engine = make_engine(f"sqlite:///{db_path}")
    reader = engine.execution_options(**{sqlite_gate.READ_ONLY: True})
    try:
        with engine.begin() as writing:  # a writer holds the gate and SQLite's write lock
            writing.execute(text("update counter set n = 5"))
            done = threading.Event()
            seen: list[int] = []

            def read() -> None:
                with reader.connect() as conn:
                    seen.append(conn.execute(text("select n from counter")).scalar_one())
                done.set()

            thread = threading.Thread(target=read)
            thread.start()
            assert done.wait(timeout=5), "the read waited for the writer"
            thread.join()
            assert seen == [0]  # the last committed state: the writer's change is not visible yet
            assert not _gate_is_free(db_path)  # still the writer's
        assert _gate_is_free(db_path)
    finally:
        engine.dispose()


def test_a_write_in_a_read_transaction_fails_and_leaves_the_connection_writable(db_path: Path) -> None:
    engine = make_engine(f"sqlite:///{db_path}", pool_size=1, max_overflow=0)  # one connection, reused
    reader = engine.execution_options(**{sqlite_gate.READ_ONLY: True})
    try:
        with pytest.raises(OperationalError, match="readonly"), Session(reader) as session:
            session.execute(text("update counter set n = 7"))
        with engine.begin() as conn:  # the same pooled connection, writing again
            conn.execute(text("update counter set n = 8"))
        with Session(reader) as session:
            assert session.execute(text("select n from counter")).scalar_one() == 8
            session.commit()  # ends the read transaction through the commit path
        with engine.begin() as conn:
            conn.execute(text("update counter set n = 9"))
            assert conn.execute(text("select n from counter")).scalar_one() == 9
    finally:
        engine.dispose()

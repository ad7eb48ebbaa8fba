"""Group commit: concurrent small writes of one process share one transaction and one COMMIT.

A single feedback POST does a few statements of real work, but opening its transaction (on SQLite, the writer
gate and BEGIN IMMEDIATE) and committing it (a WAL append; on PostgreSQL a WAL flush) cost more than the work.
When several requests of a process want to write at the same time, the first becomes the leader: it takes
every unit of work queued so far, runs them one after another in one session and transaction, commits once and
hands each waiting thread its own result. Units that arrive meanwhile queue for the next leader, so a group
forms only under concurrency and a lone request pays no wait.

Every caller still answers after its write is committed (the same durability as before), and the units of a
group run in arrival order, each seeing the ones before it, exactly as if they had committed one by one. If any
unit fails, the whole group is rolled back and each unit runs again in its own transaction, so a failure (a 404,
a 409, a database error) belongs to the unit that caused it and never to its neighbours.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")
MAX_GROUP = 64  # units per transaction: bounds how long one leader holds the write lock


class _Unit(Generic[T]):
    __slots__ = ("work", "taken", "done", "result", "error")

    def __init__(self, work: Callable[[Session], T]) -> None:
        self.work = work
        self.taken = False  # a leader has it
        self.done = False
        self.result: T | None = None
        self.error: BaseException | None = None

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class GroupCommit:
    """Runs units of work (`work(session) -> result`) in shared transactions opened by `open_session`.

    At most `max_in_flight` groups run at once; a unit that arrives while they all run queues for the next
    group. One suits SQLite, whose writes are serialised anyway; a server database whose commits wait on a disk
    flush needs transactions in flight side by side, and flushes concurrent commits together itself.
    """

    def __init__(self, open_session: Callable[[], Session], max_in_flight: int = 1,
                 max_group: int = MAX_GROUP) -> None:
        self._open_session = open_session
        self.max_in_flight = max_in_flight
        self._max_group = max_group
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[_Unit] = []
        self._in_flight = 0

    def run(self, work: Callable[[Session], T]) -> T:
        """Run `work` in a transaction shared with concurrent callers; returns after the commit, or raises what
        `work` (or the commit) raised for this unit alone."""
        unit: _Unit[T] = _Unit(work)
        with self._cond:
            self._queue.append(unit)
            while True:
                while not unit.done and (unit.taken or self._in_flight >= self.max_in_flight):
                    self._cond.wait()
                if unit.done:
                    break
                # lead the oldest queued units (this one among them unless more than a group's worth wait)
                group, self._queue = self._queue[:self._max_group], self._queue[self._max_group:]
                for queued in group:
                    queued.taken = True
                self._in_flight += 1
                self._cond.release()
                try:
                    self._execute(group)
                finally:
                    self._cond.acquire()
                    self._in_flight -= 1
                    self._cond.notify_all()
        return unit.outcome()

    def _execute(self, group: list[_Unit]) -> None:
        try:
            session = self._open_session()
            try:
                if not self._together(session, group):
                    for unit in group:
                        self._alone(session, unit)
            finally:
                session.close()
        except BaseException as exc:  # e.g. no connection: every waiter must still wake with an answer
            for unit in group:
                if not unit.done:
                    unit.error, unit.done = exc, True
            if not isinstance(exc, Exception):
                raise  # an interpreter exit or interrupt goes on up; errors reach each unit's own caller

    @staticmethod
    def _together(session: Session, group: list[_Unit]) -> bool:
        results = []
        try:
            for unit in group:
                results.append(unit.work(session))
            session.commit()
        except Exception as exc:
            session.rollback()
            if len(group) > 1:
                return False  # run each unit alone to find whose failure it was
            group[0].error, group[0].done = exc, True
            return True
        for unit, result in zip(group, results, strict=True):
            unit.result, unit.done = result, True
        return True

    @staticmethod
    def _alone(session: Session, unit: _Unit) -> None:
        try:
            unit.result = unit.work(session)
            session.commit()
        except Exception as exc:
            session.rollback()
            unit.error = exc
        unit.done = True

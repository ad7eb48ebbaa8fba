"""Group commit on the real database: queued units share one transaction, a failure stays with its unit."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.db import Database, get_db
from feedback.errors import Conflict
from feedback.group_commit import GroupCommit
from feedback.models import Project
from feedback.services import projects


@pytest.fixture()
def database(app: Flask) -> Database:
    with app.app_context():
        return get_db()


def _create(slug: str, then: Callable[[], None] = lambda: None) -> Callable[[Session], str]:
    def work(session: Session) -> str:
        projects.create_project(session, slug, slug)
        session.flush()
        then()
        return slug
    return work


def _stored(database: Database, slugs: list[str]) -> set[str]:
    with database.transaction() as session:
        return set(session.scalars(select(Project.slug).where(Project.slug.in_(slugs))))


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def _queue_one_by_one(grouped: GroupCommit, targets: list[Callable[[], None]]) -> list[threading.Thread]:
    """Start a thread per target, each only once the previous one's unit is queued (so arrival order is fixed)."""
    threads = []
    for target in targets:
        thread = threading.Thread(target=target)
        thread.start()
        _wait_for(lambda n=len(threads) + 1: len(grouped._queue) == n)
        threads.append(thread)
    return threads


def test_units_that_queue_behind_a_leader_commit_together_in_order(database: Database) -> None:
    grouped = GroupCommit(database._make_session)
    release = threading.Event()
    sessions: dict[str, Session] = {}  # the objects themselves: an id() can be reused once one is gone
    order: list[str] = []
    tag = uuid.uuid4().hex[:8]
    slugs = [f"gc-{tag}-{i}" for i in range(4)]

    def unit(slug: str, block: bool) -> Callable[[Session], str]:
        inner = _create(slug, then=release.wait if block else lambda: None)

        def work(session: Session) -> str:
            sessions[slug] = session
            order.append(slug)
            return inner(session)
        return work

    results: dict[str, str] = {}
    leader = threading.Thread(target=lambda: results.update({slugs[0]: grouped.run(unit(slugs[0], True))}))
    leader.start()
    _wait_for(lambda: slugs[0] in sessions)
    followers = _queue_one_by_one(
        grouped, [lambda s=slug: results.update({s: grouped.run(unit(s, False))}) for slug in slugs[1:]])
    release.set()
    for thread in (leader, *followers):
        thread.join(10)
    assert results == {slug: slug for slug in slugs}
    assert order == slugs  # arrival order
    assert all(sessions[slug] is sessions[slugs[1]] for slug in slugs[2:])  # the followers shared one transaction
    assert sessions[slugs[0]] is not sessions[slugs[1]]
    assert _stored(database, slugs) == set(slugs)


def test_a_failing_unit_fails_alone_and_leaves_nothing_behind(database: Database) -> None:
    grouped = GroupCommit(database._make_session)
    tag = uuid.uuid4().hex[:8]
    ok_a, bad, ok_b = f"gc-{tag}-a", f"gc-{tag}-bad", f"gc-{tag}-b"

    def fail() -> None:
        raise Conflict("this unit fails after its insert")

    units = [_create(ok_a), _create(bad, then=fail), _create(ok_b)]
    outcomes: list[object] = []
    hold = threading.Event()
    blocker = threading.Thread(target=lambda: grouped.run(lambda s: hold.wait(10)))
    blocker.start()
    _wait_for(lambda: grouped._in_flight == 1)

    def run(work: Callable[[Session], str]) -> None:
        try:
            outcomes.append(grouped.run(work))
        except Conflict as exc:
            outcomes.append(exc)

    threads = _queue_one_by_one(grouped, [lambda w=work: run(w) for work in units])
    hold.set()
    for thread in (blocker, *threads):
        thread.join(10)
    assert sorted(o for o in outcomes if isinstance(o, str)) == sorted([ok_a, ok_b])
    assert [type(o) for o in outcomes if not isinstance(o, str)] == [Conflict]
    assert _stored(database, [ok_a, bad, ok_b]) == {ok_a, ok_b}


def test_a_lone_unit_that_fails_is_rolled_back(database: Database) -> None:
    grouped = GroupCommit(database._make_session)
    slug = f"gc-{uuid.uuid4().hex[:8]}-alone"

    def fail() -> None:
        raise Conflict("no")

    with pytest.raises(Conflict):
        grouped.run(_create(slug, then=fail))
    assert _stored(database, [slug]) == set()
    assert grouped.run(_create(slug)) == slug  # the committer is usable afterwards
    assert _stored(database, [slug]) == {slug}


def test_every_waiter_wakes_with_the_error_when_no_session_opens() -> None:
    calls = []

    def broken() -> Session:
        calls.append(1)
        raise ConnectionError("database down")

    grouped = GroupCommit(broken)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            grouped.run(lambda s: None)
        except ConnectionError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads)
    assert len(errors) == 5
    assert grouped._in_flight == 0 and not grouped._queue


def test_with_two_groups_in_flight_a_second_leader_starts_while_the_first_runs(database: Database) -> None:
    grouped = GroupCommit(database._make_session, max_in_flight=2)
    first_running, release = threading.Event(), threading.Event()
    tag = uuid.uuid4().hex[:8]

    def slow(session: Session) -> str:
        first_running.set()
        release.wait(10)
        return _create(f"gc-{tag}-slow")(session)

    slow_thread = threading.Thread(target=grouped.run, args=(slow,))
    slow_thread.start()
    assert first_running.wait(10)
    assert grouped.run(_create(f"gc-{tag}-fast")) == f"gc-{tag}-fast"  # did not wait for the slow group
    assert _stored(database, [f"gc-{tag}-fast", f"gc-{tag}-slow"]) == {f"gc-{tag}-fast"}
    release.set()
    slow_thread.join(10)
    assert _stored(database, [f"gc-{tag}-fast", f"gc-{tag}-slow"]) == {f"gc-{tag}-fast", f"gc-{tag}-slow"}


def test_a_leader_whose_own_unit_is_beyond_the_group_still_gets_its_own_answer(database: Database) -> None:
    opened = []

    def open_session() -> Session:
        opened.append(1)
        if len(opened) == 2:
            raise ConnectionError("database down for one group")
        return database._make_session()

    grouped = GroupCommit(open_session, max_group=2)
    hold = threading.Event()
    tag = uuid.uuid4().hex[:8]
    outcomes: dict[str, object] = {}
    blocker = threading.Thread(target=lambda: grouped.run(lambda s: hold.wait(10)))
    blocker.start()
    _wait_for(lambda: grouped._in_flight == 1)

    def run(slug: str) -> None:
        try:
            outcomes[slug] = grouped.run(_create(slug))
        except ConnectionError as exc:
            outcomes[slug] = exc

    slugs = [f"gc-{tag}-{i}" for i in range(3)]
    threads = _queue_one_by_one(grouped, [lambda s=slug: run(s) for slug in slugs])
    hold.set()
    for thread in (blocker, *threads):
        thread.join(10)
    # The second group (the first two queued units) found no connection; the third unit ran in a group of its own
    assert [type(outcomes[slug]) for slug in slugs[:2]] == [ConnectionError, ConnectionError]
    assert outcomes[slugs[2]] == slugs[2]
    assert _stored(database, slugs) == {slugs[2]}

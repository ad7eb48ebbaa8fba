"""Idempotency under concurrent duplicate posts, on the real database of the run (SQLite or PostgreSQL)."""

from __future__ import annotations

import random
import threading
from collections import Counter

from sqlalchemy import func, select

from feedback.models import FeedbackRevision, Interaction
from tests.conftest import log_interaction

THREADS = 12


def _race(app, requests):
    """Run each (method, path, json, headers) at once from its own thread; return the responses."""
    barrier = threading.Barrier(len(requests))
    answers = [None] * len(requests)

    def worker(index, request):
        client = app.test_client()
        barrier.wait()
        method, path, body, headers = request
        answer = client.open(path, method=method, json=body, headers=headers)
        answers[index] = (answer.status_code, answer.get_json())

    threads = [threading.Thread(target=worker, args=(i, r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_concurrent_duplicate_interactions_store_one_row(app, project, session):
    body = {"external_id": "race-1", "response": "same"}
    answers = _race(app, [("POST", "/api/v1/interactions", body, project.headers())] * THREADS)
    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 1, 200: THREADS - 1}, answers
    assert len({data["id"] for _, data in answers}) == 1
    count = session.scalar(select(func.count()).select_from(Interaction).where(
        Interaction.project_id == project.id, Interaction.external_id == "race-1"))
    assert count == 1


def test_concurrent_duplicate_batches(app, project, session):
    items = [{"external_id": f"rb-{i}", "response": "x"} for i in range(50)]
    answers = _race(app, [("POST", "/api/v1/interactions/batch", {"items": items}, project.headers())] * 6)
    assert all(status == 200 for status, _ in answers), answers
    assert sum(data["created"] for _, data in answers) == 50
    count = session.scalar(select(func.count()).select_from(Interaction).where(Interaction.project_id == project.id))
    assert count == 50


def test_concurrent_duplicate_feedback_revision(app, client, project, session):
    interaction = log_interaction(client, project)
    body = {"interaction_id": interaction["id"], "feedback_id": "race-fb", "revision": 1, "score": -1}
    answers = _race(app, [("POST", "/api/v1/feedback", body, project.headers())] * THREADS)
    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 1, 200: THREADS - 1}, answers
    assert all(data["duplicate"] for status, data in answers if status == 200)
    revisions = session.scalar(select(func.count()).select_from(FeedbackRevision).where(
        FeedbackRevision.project_id == project.id))
    assert revisions == 1


def test_out_of_order_revisions_converge_on_the_newest(app, client, project):
    interaction = log_interaction(client, project)
    order = list(range(1, THREADS + 1))
    random.Random(7).shuffle(order)
    requests = [("POST", "/api/v1/feedback", {"interaction_id": interaction["id"], "feedback_id": "ooo",
                                              "revision": rev, "score": 1 if rev % 2 else -1,
                                              "comment": f"rev {rev}"}, project.headers()) for rev in order]
    answers = _race(app, requests)
    assert all(status in (200, 201) for status, _ in answers), answers
    current = client.get(f"/api/v1/feedback?interaction_id={interaction['id']}", headers=project.headers())
    (item,) = current.get_json()["items"]
    assert item["revision"] == THREADS and item["comment"] == f"rev {THREADS}"


def test_concurrent_changes_without_revision_numbers_get_distinct_revisions(app, client, project, session):
    interaction = log_interaction(client, project)
    requests = [("POST", "/api/v1/feedback", {"interaction_id": interaction["id"], "feedback_id": "auto",
                                              "score": 1, "comment": f"c{i}"}, project.headers())
                for i in range(THREADS)]
    answers = _race(app, requests)
    assert all(status == 201 for status, _ in answers), answers
    revisions = sorted(data["revision"] for _, data in answers)
    assert revisions == list(range(1, THREADS + 1))
    stored = session.scalar(select(func.count()).select_from(FeedbackRevision).where(
        FeedbackRevision.project_id == project.id, FeedbackRevision.feedback_uid == "auto"))
    assert stored == THREADS

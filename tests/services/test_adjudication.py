"""Annotator disagreement routes an interaction, once, to the connection's adjudication connection."""

from __future__ import annotations

from sqlalchemy import select

from feedback.models import LabelStudioConnection, OutboxItem
from feedback.services.annotation_store import mark_deleted, store_annotation
from feedback.services.annotations import NormalisedAnnotation
from tests.conftest import log_interaction
from tests.routing_helpers import add_connection

_next_annotation = iter(range(10_000, 10_000_000))


def _annotate(session, connection, interaction_id, verdict, cancelled=False):
    norm = NormalisedAnnotation(annotation_id=next(_next_annotation), task_id=1, ls_project_id=None, item_id=None,
                                verdict=verdict, was_cancelled=cancelled, annotator_id=7)
    result = store_annotation(session, connection, norm, via="webhook", interaction_hint=interaction_id)
    session.commit()
    return result


def _adjudication_items(session, connection_id):
    return list(session.scalars(select(OutboxItem).where(OutboxItem.connection_id == connection_id,
                                                         OutboxItem.trigger == "adjudication")))


def test_disagreement_goes_to_adjudication_once(app, client, session, project):
    # On SQLite every transaction holds the writer lock: set everything up before the test session reads.
    review_id, referee = add_connection(app, project.id), add_connection(app, project.id)
    set_answer = client.put(f"/api/v1/labelstudio/connections/{review_id}/adjudication",
                            json={"connection_id": referee}, headers=project.headers("admin"))
    assert set_answer.status_code == 200 and set_answer.get_json()["adjudication_connection_id"] == referee
    agreed, disputed = (log_interaction(client, project)["id"] for _ in range(2))
    review = session.get(LabelStudioConnection, review_id)

    _annotate(session, review, agreed, "bad")
    _annotate(session, review, agreed, "bad")
    _annotate(session, review, disputed, "good")
    _annotate(session, review, disputed, "bad", cancelled=True)  # a skipped task is no opinion
    assert _adjudication_items(session, referee) == []

    _annotate(session, review, disputed, "bad")
    _annotate(session, review, disputed, "good")  # a third opinion does not queue it again
    (item,) = _adjudication_items(session, referee)
    assert item.interaction_id == disputed and item.status == "pending"
    assert item.reason == {"source_connection": review.id, "verdicts": {"bad": 1, "good": 1}}  # at first dissent


def test_without_adjudication_connection_nothing_is_queued(app, client, session, project):
    review_id = add_connection(app, project.id)
    interaction = log_interaction(client, project)["id"]
    review = session.get(LabelStudioConnection, review_id)
    first = _annotate(session, review, interaction, "good")
    _annotate(session, review, interaction, "bad")
    mark_deleted(session, review, [first.record.ls_annotation_id])
    session.commit()
    assert list(session.scalars(select(OutboxItem).where(OutboxItem.trigger == "adjudication",
                                                         OutboxItem.project_id == project.id))) == []


def test_adjudication_target_must_be_another_connection_of_the_project(app, client, project):
    review = add_connection(app, project.id)
    admin = project.headers("admin")
    path = f"/api/v1/labelstudio/connections/{review}/adjudication"
    assert client.put(path, json={"connection_id": review}, headers=admin).status_code == 422
    assert client.put(path, json={"connection_id": 987654321}, headers=admin).status_code == 404
    assert client.put(path, json={"connection_id": None}, headers=admin).status_code == 200
    assert client.put(path, json={"connection_id": "x"}, headers=admin).status_code == 422

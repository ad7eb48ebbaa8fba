"""Direct statements return what SQLAlchemy's own execution returns, types included, on each backend."""

from __future__ import annotations

from datetime import UTC

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import bindparam, select

from feedback.db import get_db
from feedback.direct_sql import direct
from feedback.models import Feedback
from feedback.services import feedback as feedback_service
from feedback.services import feedback_statements, projects
from tests.conftest import ProjectKeys, log_interaction

_FB = Feedback.__table__


def test_a_direct_select_matches_sqlalchemy_row_for_row(app: Flask, client: FlaskClient,
                                                         project: ProjectKeys) -> None:
    interaction = log_interaction(client, project)
    posted = client.post("/api/v1/feedback", headers=project.headers("ingest"), json={
        "interaction_id": interaction["id"], "key": "helpfulness", "score": -1, "reasons": ["not_helpful"],
        "comment": "wrong", "correction": "5", "end_user_id": "u1", "metadata": {"page": "/a", "n": 2}})
    assert posted.status_code == 201, posted.get_json()
    uid = posted.get_json()["feedback_id"]
    with app.app_context():
        session = get_db().session()
        params = {"pid": project.id, "uid": uid}
        expected = session.execute(feedback_statements.CURRENT, params).first()
        got = direct(session, "test.current", lambda: feedback_statements.CURRENT).first(session, params)
        assert got is not None and expected is not None
        assert tuple(got) == tuple(expected)
        assert got._fields == tuple(expected._fields)
        assert got.created_at.tzinfo == UTC and got.meta == {"page": "/a", "n": 2}
        assert got.retracted is False and got.score == -1.0 and got.reasons == ["not_helpful"]
        missing = direct(session, "test.current", lambda: feedback_statements.CURRENT).first(
            session, {"pid": project.id, "uid": "no-such-feedback"})
        assert missing is None
        session.rollback()


def test_a_direct_upsert_binds_json_datetimes_and_booleans_like_sqlalchemy(app: Flask, client: FlaskClient,
                                                                          project: ProjectKeys) -> None:
    interaction = log_interaction(client, project)
    with app.app_context():
        session = get_db().session()
        view = projects.project_view(session, project.id)
        write = feedback_service.write_revision(session, view, interaction["id"], "direct-1", None, {
            "key": "helpfulness", "source": "end_user", "score": 1, "reasons": [], "comment": "ok",
            "metadata": {"nested": {"a": [1, 2]}}, "retracted": False})
        session.commit()
        stored = session.execute(select(_FB).where(_FB.c.feedback_uid == bindparam("uid")),
                                 {"uid": "direct-1"}).one()
        assert write.applied and write.feedback.id == stored.id
        assert stored.metadata == {"nested": {"a": [1, 2]}} and stored.retracted is False
        assert stored.created_at == write.feedback.created_at and stored.created_at.tzinfo == UTC

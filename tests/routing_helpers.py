"""Helpers for routing tests: connections stored without Label Studio, rules through the API."""

from __future__ import annotations

import uuid

from flask import Flask
from flask.testing import FlaskClient

from feedback.db import get_db
from feedback.models import LabelStudioConnection


def add_connection(app: Flask, project_id: int, url: str = "http://127.0.0.1:9", token: str = "unused-token",
                   ls_project_id: int = 1, template: str = "response_review") -> int:
    """Store a connection row directly (for tests that never talk to Label Studio); returns its id."""
    with app.app_context():
        session = get_db().session()
        row = LabelStudioConnection(project_id=project_id, name=f"c-{uuid.uuid4().hex[:8]}", url=url, token=token,
                                    token_kind="legacy", ls_project_id=ls_project_id, template=template)
        session.add(row)
        session.commit()
        return row.id


def add_rule(client: FlaskClient, headers: dict[str, str], connection_id: int, **fields) -> dict:
    """Create a rule through the API and return it."""
    body = {"name": f"r-{uuid.uuid4().hex[:8]}", "connection_id": connection_id} | fields
    answer = client.post("/api/v1/routing/rules", json=body, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def thumbs(client: FlaskClient, headers: dict[str, str], interaction_id: int, score: int = -1, **fields) -> dict:
    """Post end-user thumbs feedback on an interaction."""
    body = {"interaction_id": interaction_id, "score": score} | fields
    answer = client.post("/api/v1/feedback", json=body, headers=headers)
    assert answer.status_code in (200, 201), answer.get_json()
    return answer.get_json()

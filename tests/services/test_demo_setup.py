"""The run command's wiring: the demo project gets its keys once and a Label Studio connection with rules."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from feedback.models import OutboxItem, Project, RoutingRule
from feedback.services import demo_setup

pytestmark = pytest.mark.labelstudio


@pytest.fixture
def demo_keys(app, session, tmp_path):
    session.execute(delete(Project).where(Project.slug == demo_setup.DEMO_SLUG))  # one demo per database
    session.commit()
    keys = demo_setup.ensure_demo_project(session, tmp_path, ["http://127.0.0.1:5000"])
    yield keys
    session.rollback()
    session.execute(delete(Project).where(Project.slug == demo_setup.DEMO_SLUG))
    session.commit()


def test_demo_keys_are_issued_once_and_read_back(session, tmp_path, demo_keys):
    again = demo_setup.ensure_demo_project(session, tmp_path, ["http://127.0.0.1:5000"])
    assert again == demo_keys
    assert oct((tmp_path / demo_setup.KEYS_FILE).stat().st_mode & 0o777) == "0o600"


def test_demo_routing_connects_label_studio_once_and_routes_thumbs_down(app, client, session, demo_keys,
                                                                        labelstudio, live_server):
    first = demo_setup.ensure_demo_routing(session, labelstudio.url, labelstudio.token, live_server)
    again = demo_setup.ensure_demo_routing(session, labelstudio.url, labelstudio.token, live_server)
    assert first == again
    rules = session.scalars(select(RoutingRule).where(RoutingRule.connection_id == first)).all()
    assert sorted(r.name for r in rules) == ["demo-low-confidence", "demo-thumbs-down"]
    session.rollback()
    ingest = {"Authorization": f"Bearer {demo_keys.ingest_key}"}
    confident = client.post("/api/v1/interactions", json={"response": "Paris.", "confidence": 0.9},
                            headers=ingest).get_json()
    voted = client.post("/api/v1/feedback", json={"score": -1},
                        headers={"Authorization": f"Bearer {confident['feedback_token']}"})
    assert voted.status_code == 201, voted.get_json()
    doubtful = client.post("/api/v1/interactions", json={"response": "Maybe?", "confidence": 0.2},
                           headers=ingest).get_json()
    routed = set(session.scalars(select(OutboxItem.interaction_id).where(OutboxItem.connection_id == first)))
    assert routed == {confident["id"], doubtful["id"]}

"""Credentials and scopes: API keys, widget keys with origins, feedback tokens."""

from __future__ import annotations

import time

import pytest

from feedback import create_app
from feedback.services.tokens import TokenSigner
from tests.conftest import log_interaction, make_project


def test_missing_and_unknown_credentials_are_401(client):
    assert client.get("/api/v1/interactions").status_code == 401
    bad = client.get("/api/v1/interactions", headers={"Authorization": "Bearer fl_ingest_nope"})
    assert bad.status_code == 401 and bad.get_json()["error"]["code"] == "unauthorized"
    basic = client.get("/api/v1/interactions", headers={"Authorization": "Basic abc"})
    assert basic.status_code == 401


def test_revoked_key_is_refused_at_once(client, project):
    keys = client.get("/api/v1/keys", headers=project.headers("admin")).get_json()["items"]
    ingest = next(k for k in keys if k["scopes"] == ["ingest"])
    assert client.get("/api/v1/interactions", headers=project.headers()).status_code == 200
    revoked = client.post(f"/api/v1/keys/{ingest['id']}/revoke", headers=project.headers("admin"))
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    assert client.get("/api/v1/interactions", headers=project.headers()).status_code == 401


def test_rotation_issues_new_secret_and_expires_old_after_grace(client, project):
    keys = client.get("/api/v1/keys", headers=project.headers("admin")).get_json()["items"]
    ingest = next(k for k in keys if k["scopes"] == ["ingest"])
    rotated = client.post(f"/api/v1/keys/{ingest['id']}/rotate", json={"grace_seconds": 0},
                          headers=project.headers("admin"))
    assert rotated.status_code == 201
    new_secret = rotated.get_json()["secret"]
    assert client.get("/api/v1/interactions", headers=project.headers()).status_code == 401
    ok = client.get("/api/v1/interactions", headers={"Authorization": f"Bearer {new_secret}"})
    assert ok.status_code == 200


def test_rotation_grace_keeps_old_key_working(client, project):
    keys = client.get("/api/v1/keys", headers=project.headers("admin")).get_json()["items"]
    ingest = next(k for k in keys if k["scopes"] == ["ingest"])
    client.post(f"/api/v1/keys/{ingest['id']}/rotate", json={"grace_seconds": 600}, headers=project.headers("admin"))
    assert client.get("/api/v1/interactions", headers=project.headers()).status_code == 200


def test_scopes(client, project):
    # ingest keys cannot manage keys; widget keys can only create feedback.
    assert client.get("/api/v1/keys", headers=project.headers("ingest")).status_code == 403
    widget = project.headers("widget")
    assert client.get("/api/v1/interactions", headers=widget).status_code == 403
    assert client.post("/api/v1/interactions", json={"response": "x"}, headers=widget).status_code == 403
    assert client.get("/api/v1/feedback", headers=widget).status_code == 403
    interaction = log_interaction(client, project)
    created = client.post("/api/v1/feedback", json={"interaction_id": interaction["id"], "score": 1}, headers=widget)
    assert created.status_code == 201
    annotator = client.post("/api/v1/feedback", json={"interaction_id": interaction["id"], "score": 1,
                                                      "source": "annotator"}, headers=widget)
    assert annotator.status_code == 403


def test_widget_key_needs_an_allowed_origin(client, project):
    interaction = log_interaction(client, project)
    body = {"interaction_id": interaction["id"], "score": 1}
    headers = project.headers("widget")
    for origin in ("https://evil.example.com", "https://chat.example.com.evil.com", "null"):
        answer = client.post("/api/v1/feedback", json=body, headers=headers | {"Origin": origin})
        assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "origin_not_allowed"
    no_origin = {"Authorization": headers["Authorization"]}
    assert client.post("/api/v1/feedback", json=body, headers=no_origin).status_code == 403
    assert client.post("/api/v1/feedback", json=body, headers=headers).status_code == 201


def test_token_is_scoped_to_its_interaction(client, project):
    a = log_interaction(client, project)
    b = log_interaction(client, project)
    auth = {"Authorization": f"Bearer {a['feedback_token']}"}
    answer = client.post("/api/v1/feedback", json={"interaction_id": b["id"], "score": 1}, headers=auth)
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "token_scope"
    # and cannot retract feedback on another interaction
    fb = client.post("/api/v1/feedback", json={"score": 1},
                     headers={"Authorization": f"Bearer {b['feedback_token']}"}).get_json()
    refused = client.post(f"/api/v1/feedback/{fb['feedback_id']}/retract", json={}, headers=auth)
    assert refused.status_code == 403


def test_token_cannot_read_or_write_interactions(client, project):
    token = log_interaction(client, project)["feedback_token"]
    auth = {"X-Feedback-Token": token}
    assert client.get("/api/v1/interactions", headers=auth).status_code == 403
    assert client.post("/api/v1/feedback", json={"score": -1}, headers=auth).status_code == 201


def test_token_for_another_end_user_is_refused(client, project):
    token = log_interaction(client, project, end_user_id="alice")["feedback_token"]
    answer = client.post("/api/v1/feedback", json={"score": 1, "end_user_id": "mallory"},
                         headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 403


def test_expired_and_forged_tokens(client, project, settings):
    short_lived = create_app(settings.with_overrides(token_ttl_seconds=1)).test_client()
    old = log_interaction(short_lived, project)["feedback_token"]
    time.sleep(2.1)
    expired = short_lived.post("/api/v1/feedback", json={"score": 1}, headers={"Authorization": f"Bearer {old}"})
    assert expired.status_code == 401 and expired.get_json()["error"]["code"] == "token_expired"
    interaction = log_interaction(client, project)
    forged = TokenSigner("another-secret", 3600).mint(project.id, interaction["id"], None)
    bad = client.post("/api/v1/feedback", json={"score": 1}, headers={"Authorization": f"Bearer {forged}"})
    assert bad.status_code == 401 and bad.get_json()["error"]["code"] == "token_invalid"


@pytest.mark.parametrize("scope", ["ingest", "widget"])
def test_non_admin_cannot_manage_projects(client, project, scope):
    assert client.get("/api/v1/project", headers=project.headers(scope)).status_code == 403
    assert client.post("/api/v1/projects", json={"slug": "zz", "name": "z"},
                       headers=project.headers(scope)).status_code == 403


def test_keys_of_another_project_are_invisible(client, project, app):
    other = make_project(app)
    theirs = client.get("/api/v1/keys", headers=other.headers("admin")).get_json()["items"][0]
    assert client.post(f"/api/v1/keys/{theirs['id']}/revoke", headers=project.headers("admin")).status_code == 404

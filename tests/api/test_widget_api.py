"""The widget's service side: bundles, the config endpoint, CORS (with preflight), origins and rate limits."""

from __future__ import annotations

import time

import pytest
from itsdangerous import TimestampSigner

from feedback.db import get_db
from feedback.services import projects
from feedback.services.tokens import TokenSigner
from tests.conftest import log_interaction


def test_bundles_are_served_with_etag_and_caching(client):
    for name in ("feedback-widget.mjs", "feedback-widget.js"):
        first = client.get(f"/widget/v1/{name}")
        assert first.status_code == 200
        assert first.mimetype == "text/javascript"
        assert b"feedback-widget" in first.data
        assert "max-age=3600" in first.headers["Cache-Control"]
        assert first.headers["Access-Control-Allow-Origin"] == "*"
        etag = first.headers["ETag"]
        again = client.get(f"/widget/v1/{name}", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b""
    missing = client.get("/widget/v1/other.js")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"


def test_config_lists_reasons_by_thumb_with_localised_labels(app, client, project):
    with app.app_context():
        session = get_db().session()
        row = projects.get_project(session, project.id)
        settings = dict(row.settings)
        settings["reasons"] = [
            {"id": "accurate", "labels": {"en": "Accurate", "de": "Korrekt"}, "polarity": "positive"},
            {"id": "wrong", "labels": {"en": "Wrong"}, "polarity": "negative"},
            {"id": "other", "labels": {"en": "Other", "de-AT": "Sonstiges"}, "polarity": "any"},
        ]
        projects.update_project(session, row, settings=settings)
        session.commit()
    token = log_interaction(client, project)["feedback_token"]
    answer = client.get("/api/v1/widget/config?lang=de-AT", headers={"X-Feedback-Token": token})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["reasons"]["positive"] == [{"id": "accurate", "label": "Korrekt"},
                                           {"id": "other", "label": "Sonstiges"}]
    assert body["reasons"]["negative"] == [{"id": "wrong", "label": "Wrong"}, {"id": "other", "label": "Sonstiges"}]
    assert body["keys"]["helpfulness"] == "thumbs"
    assert body["scales"]["rating"] == [1.0, 5.0]
    widget = client.get("/api/v1/widget/config", headers=project.headers("widget"))
    assert widget.status_code == 200
    assert widget.headers["Access-Control-Allow-Origin"] == project.origin


def test_config_needs_credentials_and_a_valid_lang(client, project):
    assert client.get("/api/v1/widget/config").status_code == 401
    bad = client.get("/api/v1/widget/config?lang=<script>", headers=project.headers("widget"))
    assert bad.status_code == 422
    assert bad.get_json()["error"]["code"] == "validation_error"


def test_preflight_allows_exact_origins_only(client, project):
    ok = client.options("/api/v1/feedback", headers={
        "Origin": project.origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert ok.status_code == 204
    assert ok.headers["Access-Control-Allow-Origin"] == project.origin
    assert "Authorization" in ok.headers["Access-Control-Allow-Headers"]
    assert "POST" in ok.headers["Access-Control-Allow-Methods"]
    assert "Origin" in ok.headers["Vary"]
    for origin in ("https://evil.example.com", project.origin + ".evil.example", "null"):
        denied = client.options("/api/v1/feedback/abc/retract", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST"})
        assert denied.status_code == 403
        assert "Access-Control-Allow-Origin" not in denied.headers


def _vote(client, headers, interaction_id, **extra):
    body = {"interaction_id": interaction_id, "feedback_id": f"fw-{time.time_ns()}", "revision": 1,
            "score": 1} | extra
    return client.post("/api/v1/feedback", json=body, headers=headers)


def test_widget_key_only_from_its_allowed_origin(client, project):
    interaction = log_interaction(client, project)
    ok = _vote(client, project.headers("widget"), interaction["id"], end_user_id="u1")
    assert ok.status_code == 201, ok.get_json()
    assert ok.headers["Access-Control-Allow-Origin"] == project.origin
    headers = project.headers("widget") | {"Origin": "https://other.example.com"}
    denied = _vote(client, headers, interaction["id"], end_user_id="u1")
    assert denied.status_code == 403
    assert denied.get_json()["error"]["code"] == "origin_not_allowed"
    no_origin = {"Authorization": project.headers("widget")["Authorization"]}
    assert _vote(client, no_origin, interaction["id"]).status_code == 403


def test_token_rejected_for_another_interaction_foreign_origin_or_when_expired(app, client, project):
    first = log_interaction(client, project)
    second = log_interaction(client, project)
    token = {"X-Feedback-Token": first["feedback_token"]}
    other = _vote(client, token, second["id"])
    assert other.status_code == 403 and other.get_json()["error"]["code"] == "token_scope"
    foreign = _vote(client, token | {"Origin": "https://other.example.com"}, first["id"])
    assert foreign.status_code == 403 and foreign.get_json()["error"]["code"] == "origin_not_allowed"
    assert _vote(client, token | {"Origin": project.origin}, first["id"]).status_code == 201

    settings = app.config["SETTINGS"]
    signer = TokenSigner(settings.resolved_secret_key(), settings.token_ttl_seconds)
    real = TimestampSigner.get_timestamp
    try:
        TimestampSigner.get_timestamp = lambda self: int(time.time()) - settings.token_ttl_seconds - 60
        expired = signer.mint(project.id, first["id"], None)
    finally:
        TimestampSigner.get_timestamp = real
    answer = _vote(client, {"X-Feedback-Token": expired}, first["id"])
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "token_expired"


@pytest.fixture
def limited_client(settings):
    from feedback import create_app

    return create_app(settings, widget_rate_user="2/60", widget_rate_key="3/60").test_client()


def test_rate_limits_per_end_user_and_per_key_answer_429_with_retry_after(limited_client, project):
    interaction = log_interaction(limited_client, project)
    headers = project.headers("widget")
    statuses = [_vote(limited_client, headers, interaction["id"], end_user_id="alice").status_code
                for _ in range(3)]
    assert statuses == [201, 201, 429]
    denied = _vote(limited_client, headers, interaction["id"], end_user_id="alice")
    assert denied.status_code == 429
    assert 1 <= int(denied.headers["Retry-After"]) <= 60
    assert denied.headers["Access-Control-Allow-Origin"] == project.origin
    assert denied.get_json()["error"]["details"]["scope"] == "end user"
    # Another end user is still within their own limit, but the key's limit (3/min) is now exhausted.
    key_denied = _vote(limited_client, headers, interaction["id"], end_user_id="bob")
    assert key_denied.status_code == 429
    assert key_denied.get_json()["error"]["details"]["scope"] == "key"
    # Server-side keys are not rate limited by the widget limits.
    assert _vote(limited_client, project.headers("ingest"), interaction["id"]).status_code == 201

"""Bad input never yields a 500 or a half-written row: every error is a 4xx JSON body."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedback.api import _at_most
from tests.conftest import log_interaction


def _assert_error(answer, status):
    assert answer.status_code == status, answer.get_data(as_text=True)[:300]
    body = answer.get_json()
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    return body["error"]


def test_malformed_json(client, project):
    for raw in ("{bad", "", "[1, 2", '{"response": "x",}'):
        answer = client.post("/api/v1/interactions", data=raw, content_type="application/json",
                             headers=project.headers())
        assert _assert_error(answer, 400)["code"] == "invalid_json"


@pytest.mark.parametrize("payload", [[], "text", None, 5, [{"response": "x"}]])
def test_non_object_bodies(client, project, payload):
    answer = client.post("/api/v1/interactions", data=json.dumps(payload), content_type="application/json",
                         headers=project.headers())
    _assert_error(answer, 422)


def test_wrong_types_missing_and_unknown_fields(client, project):
    cases = [
        {"messages": []},  # response missing
        {"response": 5},
        {"response": "x", "confidence": "high"},
        {"response": "x", "confidence": 1.5},
        {"response": "x", "messages": [{"role": "wizard", "content": "hi"}]},
        {"response": "x", "messages": "hi"},
        {"response": "x", "metadata": []},
        {"response": "x", "prompt_tokens": -1},
        {"response": "x", "completion_tokens": 2**63},
        {"response": "x", "surprise": True},
        {"response": "x", "created_at": "2024-01-01T00:00:00"},
        {"response": "x", "latency_ms": "Infinity"},
        {"response": "x", "external_id": "e" * 201},
    ]
    for body in cases:
        answer = client.post("/api/v1/interactions", json=body, headers=project.headers())
        error = _assert_error(answer, 422)
        assert error["code"] == "validation_error" and error["details"], body
    assert client.get("/api/v1/interactions", headers=project.headers()).get_json()["items"] == []


def test_non_finite_numbers_are_rejected(client, project):
    raw = '{"response": "x", "latency_ms": Infinity}'
    answer = client.post("/api/v1/interactions", data=raw, content_type="application/json", headers=project.headers())
    assert answer.status_code in (400, 422)
    raw = '{"response": "x", "confidence": NaN}'
    answer = client.post("/api/v1/interactions", data=raw, content_type="application/json", headers=project.headers())
    assert answer.status_code in (400, 422)


def test_nul_characters_and_lone_surrogates(client, project):
    raw = '{"response": "a\\u0000b"}'
    answer = client.post("/api/v1/interactions", data=raw, content_type="application/json", headers=project.headers())
    assert _assert_error(answer, 422)["code"] == "nul_character"
    raw = '{"response": "a\\ud800b"}'
    answer = client.post("/api/v1/interactions", data=raw, content_type="application/json", headers=project.headers())
    assert answer.status_code in (400, 422)
    assert client.get("/api/v1/interactions", headers=project.headers()).get_json()["items"] == []


def test_unicode_round_trips(client, project):
    text = "Grüße 👋 — 你好 \u200b \\u0000 literal"
    body = log_interaction(client, project, response=text, metadata={"emoji": "🦜"})
    fetched = client.get(f"/api/v1/interactions/{body['id']}", headers=project.headers()).get_json()
    assert fetched["response"] == text and fetched["metadata"] == {"emoji": "🦜"}


def test_unknown_interaction_is_404(client, project):
    for path in ("/api/v1/interactions/999999999", f"/api/v1/interactions/{2**70}"):
        assert _assert_error(client.get(path, headers=project.headers()), 404)["code"] in (
            "interaction_not_found", "not_found")
    answer = client.post("/api/v1/feedback", json={"interaction_id": 999999999, "score": 1},
                         headers=project.headers())
    assert _assert_error(answer, 404)["code"] == "interaction_not_found"
    huge = client.post("/api/v1/feedback", json={"interaction_id": 2**70, "score": 1}, headers=project.headers())
    _assert_error(huge, 422)
    gone = client.post("/api/v1/feedback/nope/retract", json={}, headers=project.headers())
    assert _assert_error(gone, 404)["code"] == "feedback_not_found"


def test_oversize_body_is_413(client, project, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    raw = json.dumps({"response": "x" * (limit + 10)})
    answer = client.post("/api/v1/interactions", data=raw, content_type="application/json", headers=project.headers())
    assert _assert_error(answer, 413)["code"] == "payload_too_large"


def test_content_type_method_and_route_errors(client, project):
    answer = client.post("/api/v1/interactions", data="response=x", headers=project.headers())
    assert _assert_error(answer, 415)["code"] == "unsupported_media_type"
    assert _assert_error(client.delete("/api/v1/interactions", headers=project.headers()), 405)["code"] == (
        "method_not_allowed")
    assert _assert_error(client.get("/api/v1/nothing-here"), 404)["code"] == "not_found"


def test_bad_query_parameters(client, project):
    for query in ("limit=0", "limit=abc", "limit=100000", "since=yesterday", "since=2024-01-01T00:00:00",
                  "colour=blue", "until=0001-01-01T00:00:00%2B01:00", "since=9999-12-31T23:59:59-05:00"):
        _assert_error(client.get(f"/api/v1/interactions?{query}", headers=project.headers()), 422)
    assert _assert_error(client.get("/api/v1/interactions?cursor=%%%", headers=project.headers()), 400)["code"] == (
        "invalid_cursor")
    assert _assert_error(client.get("/api/v1/feedback?cursor=WzEsIjIiXQ", headers=project.headers()), 400)


def test_feedback_bad_input_leaves_nothing(client, project):
    interaction = log_interaction(client, project)
    bodies = [{"interaction_id": interaction["id"], "score": "up"},
              {"interaction_id": interaction["id"], "score": 1, "reasons": "not_helpful"},
              {"interaction_id": interaction["id"], "score": 1, "revision": 0},
              {"interaction_id": interaction["id"], "score": 1, "source": "robot"},
              {"interaction_id": interaction["id"], "interaction_external_id": "x", "score": 1},
              {"score": 1}]
    for body in bodies:
        answer = client.post("/api/v1/feedback", json=body, headers=project.headers())
        assert 400 <= answer.status_code < 500, body
    listed = client.get("/api/v1/feedback?include_retracted=true", headers=project.headers()).get_json()
    assert listed["items"] == []


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v1/jobs/{}"), ("POST", "/api/v1/jobs/{}/retry"), ("GET", "/api/v1/interactions/{}"),
    ("GET", "/api/v1/labelstudio/connections/{}"), ("PATCH", "/api/v1/routing/rules/{}"),
    ("DELETE", "/api/v1/routing/rules/{}"), ("GET", "/api/v1/datasets/exports/{}"),
])
@pytest.mark.parametrize("number", [2**63, 10**40])
def test_ids_beyond_the_database_range_are_not_found(client, project, method, path, number):
    """Found by fuzzing: such ids reached the database, which cannot bind them (500)."""
    answer = client.open(path.format(number), method=method, json={},
                         headers=project.headers("ingest" if "interactions" in path else "admin"))
    _assert_error(answer, 404)


@pytest.mark.parametrize(("field", "value", "code"), [
    ("token", "tökén-with-accents", "validation_error"),  # could not go into an HTTP header (was a 500)
    ("token", "two\nlines", "validation_error"),
    ("url", "http://" + "a" * 64 + ".example", "labelstudio_unreachable"),  # IDNA label too long (was a 500)
])
def test_label_studio_connection_input_that_cannot_be_used_is_refused(client, project, field, value, code):
    body = {"name": "bad-input", "url": "http://127.0.0.1:9", "token": "a-good-token"} | {field: value}
    answer = client.post("/api/v1/labelstudio/connections", json=body, headers=project.headers("admin"))
    _assert_error(answer, 422)
    assert answer.get_json()["error"]["code"] == code


@given(st.one_of(st.integers(0, 2**64), st.integers(2**63 - 10**6, 2**63 + 10**6)),
       st.sampled_from([0, 7, 10, 305, 2**63 - 1]))
def test_the_id_pattern_accepts_exactly_the_numbers_up_to_its_limit(number, limit):
    assert bool(re.fullmatch(_at_most(limit), str(number))) == (number <= limit)


@pytest.mark.parametrize("path", [
    "/api/v1/jobs?name=a%00b", "/api/v1/datasets/a%00b/diff?a=1&b=2", "/api/v1/routing/outbox?status=x%00",
    "/api/v1/datasets/a%00b/versions/1/download",
])
def test_nul_in_the_query_or_path_is_refused(client, project, path):
    """Found by fuzzing on PostgreSQL, whose text columns cannot hold NUL (500)."""
    assert _assert_error(client.get(path, headers=project.headers("admin")), 422)["code"] == "nul_character"


@pytest.mark.parametrize("path", ["/api/v1/datasets/x/versions/2147483648/download",
                                  "/api/v1/datasets/x/versions/1171608343993020416/download"])
def test_versions_beyond_the_column_range_are_not_found(client, project, path):
    _assert_error(client.get(path, headers=project.headers("admin")), 404)


def test_diff_versions_beyond_the_column_range_are_invalid(client, project):
    answer = client.get("/api/v1/datasets/x/diff?a=1&b=4314246188177090136137701026430976",
                        headers=project.headers("admin"))
    _assert_error(answer, 422)

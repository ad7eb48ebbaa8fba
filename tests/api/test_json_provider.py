"""Responses serialised by orjson keep Flask's JSON semantics."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from flask.json.provider import DefaultJSONProvider

from feedback.api.json_provider import OrjsonProvider


@pytest.mark.once
def test_same_json_as_flask_for_what_endpoints_return(app):
    assert isinstance(app.json, OrjsonProvider)
    flask_default = DefaultJSONProvider(app)
    value = {"b": 1, "a": [1.5, None, True, "é ✓"], "when": datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
             "nested": {"x": {"y": []}}}
    ours = app.json.dumps(value, separators=(",", ":"))
    assert json.loads(ours) == json.loads(flask_default.dumps(value))  # datetimes as Flask writes them
    assert list(json.loads(ours)) == ["b", "a", "when", "nested"]  # insertion order, not sorted


@pytest.mark.once
def test_falls_back_to_flask_for_what_orjson_refuses(app):
    assert json.loads(app.json.dumps({"big": 2**70})) == {"big": 2**70}
    assert json.loads(app.json.dumps({"p": 1}, indent=2)) == {"p": 1}
    with pytest.raises(TypeError):
        app.json.dumps({"x": object()})


@pytest.mark.once
def test_responses_are_compact_json(client):
    answer = client.get("/healthz")
    assert answer.is_json and b": " not in answer.data

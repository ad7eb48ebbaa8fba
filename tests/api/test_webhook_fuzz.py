"""Property-based fuzzing of the Label Studio webhook receiver (not in the OpenAPI document, so the schema fuzz
does not reach it): with the right secret, no payload, however malformed, may produce a 5xx or store a row
that does not belong to the connection's project."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from feedback.db import get_db, utcnow
from feedback.models import LabelStudioConnection, OutboxItem
from feedback.models.annotation import LSAnnotationRecord
from feedback.services.labelstudio_templates import INTERACTION_ID_FIELD, ITEM_ID_FIELD
from tests.conftest import log_interaction, make_project

SECRET = "fuzz-webhook-secret"
LS_PROJECT = 4242


def _examples(backend: str) -> int:
    default = 150 if backend == "sqlite" else 60
    return int(os.environ.get("FEEDBACK_FUZZ_EXAMPLES", default))


@pytest.fixture(scope="module")
def hook(app) -> dict[str, Any]:
    """A connection with a known webhook secret and one delivered outbox item (no Label Studio needed)."""
    keys = make_project(app)
    interaction = log_interaction(app.test_client(), keys, external_id="hook-fuzz")
    with app.app_context():
        session = get_db().session()
        connection = LabelStudioConnection(
            project_id=keys.id, name="fuzz", url="http://127.0.0.1:9", token="t0ken-unused", token_kind="legacy",
            ls_project_id=LS_PROJECT, template="response_review",
            webhook_secret_digest=hashlib.sha256(SECRET.encode()).hexdigest())
        session.add(connection)
        session.flush()
        item = OutboxItem(project_id=keys.id, interaction_id=interaction["id"], connection_id=connection.id,
                          trigger="interaction", status="delivered", ls_task_id=77, delivered_at=utcnow())
        session.add(item)
        session.commit()
        return {"connection_id": connection.id, "item_id": item.id, "project_id": keys.id,
                "interaction_id": interaction["id"]}


FLOATS = st.floats(allow_nan=False, allow_infinity=False)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), FLOATS,
                    st.text(max_size=30))
JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                    max_leaves=12)


def mostly(valid: st.SearchStrategy[Any], junk: st.SearchStrategy[Any] = JSON) -> st.SearchStrategy[Any]:
    """`valid` about four times in five, else `junk`: most events get past validation and reach storage."""
    return st.one_of(valid, valid, valid, valid, junk)


BIG = st.integers(-(2**70), 2**70)
STAMPS = st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat())
RESULT_ITEM = st.one_of(
    st.fixed_dictionaries({"from_name": st.just("verdict"), "to_name": st.just("response"), "type": st.just("choices"),
                           "value": mostly(st.fixed_dictionaries({"choices": st.lists(
                               st.sampled_from(["good", "bad", "meh", ""]), max_size=2)}))}),
    st.fixed_dictionaries({"from_name": st.just("rating"), "to_name": st.just("response"), "type": st.just("rating"),
                           "value": mostly(st.fixed_dictionaries({"rating": mostly(st.integers(1, 5), SCALARS)}))}),
    st.fixed_dictionaries({"from_name": st.just("reasons"), "to_name": st.just("response"), "type": st.just("choices"),
                           "value": mostly(st.fixed_dictionaries({"choices": st.lists(st.text(max_size=12),
                                                                                      max_size=3)}))}),
    st.fixed_dictionaries({"from_name": st.just("corrected"), "to_name": st.just("response"),
                           "type": st.just("textarea"),
                           "value": mostly(st.fixed_dictionaries({"text": st.lists(st.text(max_size=40),
                                                                                    max_size=2)}))}),
    st.fixed_dictionaries({"from_name": st.just("preference"), "to_name": st.just("response"),
                           "type": st.just("choices"),
                           "value": mostly(st.fixed_dictionaries({"choices": st.lists(st.sampled_from(["a", "b", "c"]),
                                                                                      max_size=2)}))}),
    JSON,
)


PATHS = [("action",), ("project", "id"), ("annotation", "id"), ("annotation", "task"), ("annotation", "project"),
         ("annotation", "result"), ("annotation", "completed_by"), ("annotation", "was_cancelled"),
         ("annotation", "lead_time"), ("annotation", "updated_at"), ("annotation", "created_at"), ("task", "id"),
         ("task", "project"), ("task", "data", ITEM_ID_FIELD), ("task", "data", INTERACTION_ID_FIELD),
         ("task", "data", "response_b"), ("annotations",), ("annotation",), ("task",), ("task", "data")]


def _mutated(event: dict[str, Any], mutations: list[tuple[tuple[str, ...], Any]]) -> dict[str, Any]:
    event = json.loads(json.dumps(event))
    for path, junk in mutations:
        target = event
        for key in path[:-1]:
            if not isinstance(target.get(key), dict):
                break
            target = target[key]
        else:
            target[path[-1]] = junk
    return event


def _payloads(hook: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Valid annotation events with up to two fields replaced by junk (huge numbers, wrong types, any JSON),
    plus junk of any shape: most events get past validation, so storage and resolution are exercised."""
    task_data = st.fixed_dictionaries({
        ITEM_ID_FIELD: st.just(str(hook["item_id"])), INTERACTION_ID_FIELD: st.just(hook["interaction_id"]),
        "response_b": st.text(max_size=40)})
    valid = st.fixed_dictionaries({
        "action": st.sampled_from(["ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED"]),
        "project": st.just({"id": LS_PROJECT}),
        "annotation": st.fixed_dictionaries({
            "id": st.integers(1, 10**6), "task": st.just(77), "project": st.just(LS_PROJECT),
            "result": st.lists(RESULT_ITEM, max_size=4),
            "completed_by": st.one_of(st.integers(1, 1000), st.fixed_dictionaries({"id": st.integers(1, 9)})),
            "was_cancelled": st.booleans(), "lead_time": FLOATS, "updated_at": STAMPS, "created_at": STAMPS}),
        "task": st.fixed_dictionaries({"id": st.just(77), "project": st.just(LS_PROJECT), "data": task_data}),
        "annotations": st.lists(st.fixed_dictionaries({"id": st.integers(1, 10**6)}), min_size=1, max_size=3),
    })
    junk = st.one_of(BIG, BIG.map(str), st.text(max_size=25), JSON)
    mutation = st.tuples(st.sampled_from(PATHS), junk)
    return st.one_of(st.builds(_mutated, valid, st.lists(mutation, max_size=2)), JSON)


def test_no_payload_makes_a_server_error_or_strays(app, hook, backend) -> None:
    client = app.test_client()
    path = f"/api/v1/labelstudio/webhook/{hook['connection_id']}"

    @given(payload=_payloads(hook))
    @settings(max_examples=_examples(backend), deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(payload: Any) -> None:
        body = json.dumps(payload, allow_nan=False).encode() if not isinstance(payload, bytes) else payload
        answer = client.post(path, data=body, headers={"X-Feedback-Loop-Secret": SECRET,
                                                       "Content-Type": "application/json"})
        assert answer.status_code < 500, answer.get_data(as_text=True)[:500]
        if answer.status_code >= 400:
            assert set(answer.get_json()["error"]) == {"code", "message", "details"}

    check()
    with app.app_context():  # whatever was stored belongs to this connection's project and interaction
        session = get_db().session()
        strays = session.scalar(select(func.count()).select_from(LSAnnotationRecord).where(
            LSAnnotationRecord.connection_id == hook["connection_id"],
            (LSAnnotationRecord.project_id != hook["project_id"])
            | LSAnnotationRecord.interaction_id.not_in([hook["interaction_id"]])))
        session.rollback()
    assert strays == 0


def _event(hook: dict[str, Any], **annotation: Any) -> dict[str, Any]:
    return {"action": "ANNOTATION_CREATED", "project": {"id": LS_PROJECT},
            "annotation": {"id": 5, "task": 77, "project": LS_PROJECT, "result": []} | annotation,
            "task": {"id": 77, "project": LS_PROJECT, "data": {ITEM_ID_FIELD: str(hook["item_id"])}}}


RATING = {"from_name": "rating", "to_name": "response", "type": "rating"}


@pytest.mark.parametrize("annotation", [
    {"result": [RATING | {"value": {"rating": ""}}]},  # was float('') -> 500
    {"result": [RATING | {"value": {"rating": [4]}}]},
    {"result": [RATING | {"value": {"rating": True}}]},
    {"result": [{"from_name": "verdict", "to_name": "response", "type": "choices", "value": {"choices": 7}}]},
    {"id": 2**31},  # beyond the INTEGER column (was a 500 on PostgreSQL, and beyond 2**63 on SQLite)
    {"completed_by": 2**70},
    {"lead_time": "NaN"},
])
def test_annotations_that_cannot_be_stored_are_malformed(app, hook, annotation) -> None:
    answer = app.test_client().post(f"/api/v1/labelstudio/webhook/{hook['connection_id']}",
                                    json=_event(hook, **annotation), headers={"X-Feedback-Loop-Secret": SECRET})
    assert answer.status_code == 400, answer.get_data(as_text=True)[:300]
    assert answer.get_json()["error"]["code"] == "malformed_webhook"


def test_a_well_formed_rating_is_stored(app, hook) -> None:
    answer = app.test_client().post(
        f"/api/v1/labelstudio/webhook/{hook['connection_id']}", headers={"X-Feedback-Loop-Secret": SECRET},
        json=_event(hook, id=6, result=[RATING | {"value": {"rating": 4}}], updated_at="2031-01-01T00:00:00Z"))
    assert answer.status_code == 200 and answer.get_json()["stored"] == 1, answer.get_json()

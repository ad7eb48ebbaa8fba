"""Annotations made in a real Label Studio come back (webhook and listing) and normalise correctly."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from feedback.services.annotations import (
    AnnotationPayloadError,
    normalise_annotation,
    normalise_task_annotations,
    parse_webhook,
)
from feedback.services.labelstudio_templates import pairwise_task, review_task

pytestmark = pytest.mark.once  # backend-independent: runs in the SQLite pass only

CONVERSATION = [{"role": "user", "content": "Is it safe to mix bleach and vinegar?"}]
REASONS = [{"id": "unsafe", "label": "Unsafe"}, {"id": "incorrect", "label": "Incorrect"}]
BAD_REVIEW = [
    {"from_name": "verdict", "to_name": "response", "type": "choices", "value": {"choices": ["bad"]}},
    {"from_name": "rating", "to_name": "response", "type": "rating", "value": {"rating": 1}},
    {"from_name": "reasons", "to_name": "response", "type": "choices",
     "value": {"choices": ["unsafe", "incorrect"]}},
    {"from_name": "corrected", "to_name": "response", "type": "textarea",
     "value": {"text": ["No. It releases toxic chlorine gas."]}},
]


def _wait_for(received, count, timeout=10.0):
    deadline = time.monotonic() + timeout
    while len(received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(received) >= count, f"expected {count} webhook calls, got {len(received)}"


@pytest.mark.labelstudio
def test_annotator_review_arrives_by_webhook_and_normalises(
    labelstudio_client, labelstudio_project, webhook_receiver
):
    project_id = labelstudio_project(reasons=REASONS)
    url, received = webhook_receiver
    labelstudio_client.register_webhook(project_id, url, secret="hook-secret")
    (task_id,) = labelstudio_client.import_tasks(
        project_id, [review_task(4242, conversation=CONVERSATION, response="Yes", confidence=0.4)]
    )
    annotator = labelstudio_client.create_user("reviewer-webhook@example.com")
    created = labelstudio_client.create_annotation(task_id, BAD_REVIEW, lead_time=17.5, completed_by=annotator)

    _wait_for(received, 1)
    headers, body = received[0]
    assert headers["X-Feedback-Loop-Secret"] == "hook-secret"
    event = parse_webhook(body)
    assert event.action == "ANNOTATION_CREATED" and event.project_id == project_id
    norm = normalise_annotation(event.annotation, event.task)
    assert norm.annotation_id == created["id"] and norm.task_id == task_id and norm.item_id == "4242"
    assert (norm.verdict, norm.rating, norm.reasons) == ("bad", 1.0, ["unsafe", "incorrect"])
    assert norm.corrected_text == "No. It releases toxic chlorine gas."
    assert norm.annotator_id == annotator and norm.lead_time == pytest.approx(17.5)
    assert not norm.was_cancelled and norm.raw == BAD_REVIEW and norm.ls_project_id == project_id

    labelstudio_client._ls.annotations.update(created["id"], result=[BAD_REVIEW[0] | {
        "value": {"choices": ["good"]}}])
    labelstudio_client._ls.annotations.delete(created["id"])
    _wait_for(received, 3)
    updated, deleted = parse_webhook(received[1][1]), parse_webhook(received[2][1])
    assert updated.action == "ANNOTATION_UPDATED"
    assert normalise_annotation(updated.annotation, updated.task).verdict == "good"
    assert deleted.action == "ANNOTATIONS_DELETED" and [a.id for a in deleted.annotations] == [created["id"]]


@pytest.mark.labelstudio
def test_reconcile_listing_returns_only_annotated_tasks(labelstudio_client, labelstudio_project):
    project_id = labelstudio_project(reasons=REASONS)
    tasks = [review_task(i, conversation=CONVERSATION, response=f"answer {i}", confidence=0.5) for i in range(5)]
    task_ids = labelstudio_client.import_tasks(project_id, tasks)
    first = labelstudio_client.create_user("reviewer-a@example.com")
    second = labelstudio_client.create_user("reviewer-b@example.com")
    labelstudio_client.create_annotation(task_ids[1], BAD_REVIEW, completed_by=first)
    labelstudio_client.create_annotation(
        task_ids[1], [{"from_name": "verdict", "to_name": "response", "type": "choices",
                       "value": {"choices": ["good"]}}], completed_by=second)
    labelstudio_client._ls.annotations.create(id=task_ids[3], result=[], was_cancelled=True, completed_by=first)

    listed = list(labelstudio_client.iter_annotated_tasks(project_id))
    assert [task["id"] for task in listed] == [task_ids[1]]  # the cancelled-only task is not "annotated"
    norms = normalise_task_annotations(listed[0])
    assert {(n.annotator_id, n.verdict) for n in norms} == {(first, "bad"), (second, "good")}
    assert {n.item_id for n in norms} == {"1"}
    now = datetime.now(UTC)
    recent = list(labelstudio_client.iter_annotated_tasks(project_id, updated_since=now - timedelta(hours=1)))
    assert [task["id"] for task in recent] == [task_ids[1]]
    assert list(labelstudio_client.iter_annotated_tasks(project_id, updated_since=now + timedelta(hours=1))) == []


@pytest.mark.labelstudio
def test_pairwise_preference_and_cancelled_annotation(labelstudio_client, labelstudio_project):
    project_id = labelstudio_project("pairwise")
    (task_id,) = labelstudio_client.import_tasks(
        project_id, [pairwise_task(9, conversation=CONVERSATION, response_a="No.", response_b="Yes.")]
    )
    pick = labelstudio_client.create_annotation(task_id, [
        {"from_name": "preference", "to_name": "response_a,response_b", "type": "pairwise",
         "value": {"selected": "left"}}])
    norm = normalise_annotation(pick, labelstudio_client._ls.tasks.get(id=task_id))
    assert (norm.preference, norm.compared_response, norm.item_id) == ("a", "Yes.", "9")
    skipped = labelstudio_client._ls.annotations.create(id=task_id, result=[], was_cancelled=True)
    norm = normalise_annotation(skipped)  # an SDK model, not a dict
    assert norm.was_cancelled and norm.preference is None and norm.verdict is None


def _payload(**overrides):
    body = {
        "action": "ANNOTATION_CREATED",
        "annotation": {"id": 1, "result": BAD_REVIEW, "was_cancelled": False, "completed_by": {"id": 5},
                       "task": 2, "project": 3, "lead_time": 4.0},
        "task": {"id": 2, "data": {"fl_item_id": "77"}, "project": 3},
        "project": {"id": 3},
    }
    body.update(overrides)
    return body


def test_parse_webhook_accepts_a_minimal_valid_payload():
    event = parse_webhook(json.dumps(_payload()).encode())
    norm = normalise_annotation(event.annotation, event.task)
    assert (norm.annotator_id, norm.item_id, norm.verdict) == (5, "77", "bad")


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (_payload(action="PROJECT_CREATED"), "action"),
        (_payload(annotation=None), "needs 'annotation'"),
        (_payload(task={"data": {}}), "task.id"),
        (_payload(annotation={"id": "x"}), "annotation.id"),
        (_payload(annotation={"id": 1, "result": [{"type": "choices", "value": {}}]}), "from_name"),
        ({"action": "ANNOTATIONS_DELETED"}, "annotations"),
    ],
)
def test_malformed_webhook_payloads_raise_clear_errors(body, needle):
    with pytest.raises(AnnotationPayloadError) as info:
        parse_webhook(body if isinstance(body, bytes) else json.dumps(body))
    text = str(info.value) + json.dumps(info.value.details)
    assert needle in text

"""The Label Studio adapter against a real local Label Studio server (no mocks)."""

from __future__ import annotations

import pytest

from feedback.services.labelstudio_client import (
    LabelStudioAuthError,
    LabelStudioClient,
    LabelStudioRejected,
    LabelStudioUnreachable,
)
from feedback.services.labelstudio_local import free_port
from feedback.services.labelstudio_templates import pairwise_task, review_task

pytestmark = [pytest.mark.labelstudio, pytest.mark.once]

CONVERSATION = [{"role": "user", "content": "What is the capital of Australia?"}]


def _tasks(item_ids, confidence=0.25):
    return [
        review_task(i, conversation=CONVERSATION, response="Sydney", confidence=confidence, model_version="m-1",
                    feedback=[{"key": "helpfulness", "score": -1, "reasons": ["incorrect"], "comment": "no"}])
        for i in item_ids
    ]


def test_legacy_and_personal_access_tokens_both_authenticate(labelstudio, labelstudio_client):
    assert labelstudio_client.token_kind == "legacy"
    assert labelstudio_client.whoami()["email"] == labelstudio.username

    pat = labelstudio_client.create_personal_access_token()
    with_pat = LabelStudioClient(labelstudio.url, pat)
    assert with_pat.token_kind == "personal_access_token"
    assert with_pat.whoami()["email"] == labelstudio.username


def test_wrong_token_is_rejected_not_retryable(labelstudio):
    client = LabelStudioClient(labelstudio.url, "not-a-valid-token")
    with pytest.raises(LabelStudioAuthError) as info:
        client.whoami()
    assert info.value.status_code == 401
    assert not info.value.retryable


def test_server_down_is_unreachable_and_retryable():
    client = LabelStudioClient(f"http://127.0.0.1:{free_port()}", "whatever", timeout=2)
    with pytest.raises(LabelStudioUnreachable) as info:
        client.import_tasks(1, _tasks([1]))
    assert info.value.retryable


def test_review_project_gets_reason_taxonomy_as_choices(labelstudio_client, labelstudio_project):
    reasons = [{"id": "wrong_facts", "label": "Wrong facts & figures"}, {"id": "too_long", "label": "Too long"}]
    project_id = labelstudio_project("response_review", reasons=reasons)
    config = labelstudio_client.get_project(project_id)["label_config"]
    assert 'alias="wrong_facts"' in config and 'alias="too_long"' in config
    assert "Wrong facts &amp; figures" in config
    assert '<Paragraphs name="conversation"' in config and 'layout="dialogue"' in config
    for control in ('name="verdict"', '<Rating name="rating"', '<TextArea name="corrected"'):
        assert control in config


def test_pairwise_project_and_task(labelstudio_client, labelstudio_project):
    project_id = labelstudio_project("pairwise")
    assert "<Pairwise" in labelstudio_client.get_project(project_id)["label_config"]
    task = pairwise_task(7, conversation=CONVERSATION, response_a="Canberra", response_b="Sydney")
    (task_id,) = labelstudio_client.import_tasks(project_id, [task])
    assert labelstudio_client.existing_items(project_id, ["7"]) == {"7": task_id}


def test_custom_xml_is_validated_by_label_studio(labelstudio_client, labelstudio_project):
    good = ('<View><Text name="text" value="$response"/><Choices name="ok" toName="text">'
            '<Choice value="yes"/><Choice value="no"/></Choices></View>')
    project_id = labelstudio_project("custom", label_config=good)
    assert labelstudio_client.get_project(project_id)["label_config"] == good

    bad = '<View><Choices name="ok" toName="missing"></Choices></View>'
    with pytest.raises(LabelStudioRejected) as info:
        labelstudio_client.create_project("broken config", template="custom", label_config=bad)
    assert info.value.status_code == 400
    with pytest.raises(LabelStudioRejected):
        labelstudio_client.create_project("no xml", template="custom")
    with pytest.raises(LabelStudioRejected):
        labelstudio_client.create_project("unknown", template="nonsense")


def test_bulk_import_then_dedup_lookup_and_delete(labelstudio, labelstudio_client, labelstudio_project):
    project_id = labelstudio_project()
    item_ids = list(range(10_000, 11_200))  # > one import batch and > one lookup chunk
    task_ids = labelstudio_client.import_tasks(project_id, _tasks(item_ids, confidence=0.31))
    assert len(task_ids) == len(set(task_ids)) == 1200

    probe = [*range(10_000, 11_200, 3), 99_999, 10]  # 400 present, 2 absent
    found = labelstudio_client.existing_items(project_id, probe)
    assert set(found) == {str(i) for i in range(10_000, 11_200, 3)}
    assert found["10000"] == task_ids[0] and found["11197"] == task_ids[1197]

    from label_studio_sdk import LabelStudio

    task = LabelStudio(base_url=labelstudio.url, api_key=labelstudio.token).tasks.get(id=str(task_ids[0]))
    assert task.data["fl_item_id"] == "10000"
    assert "thumbs down" in task.data["user_feedback"]
    assert task.predictions[0].score == pytest.approx(0.31)
    assert task.predictions[0].model_version == "m-1"

    assert labelstudio_client.delete_items(project_id, ["10000", "10001", "55555"]) == 2
    assert labelstudio_client.existing_items(project_id, ["10000", "10001", "10002"]) == {"10002": task_ids[2]}


def test_webhook_registration_carries_secret_header(labelstudio_client, labelstudio_project, webhook_receiver):
    project_id = labelstudio_project()
    url, _ = webhook_receiver
    hook_id = labelstudio_client.register_webhook(project_id, url, secret="s3cret-value")
    (hook,) = labelstudio_client.list_webhooks(project_id)
    assert hook["id"] == hook_id and hook["url"] == url and hook["is_active"]
    assert hook["headers"] == {"X-Feedback-Loop-Secret": "s3cret-value"}
    assert set(hook["actions"]) == {"ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED"}

    labelstudio_client.set_webhook_active(hook_id, False)
    assert labelstudio_client.list_webhooks(project_id)[0]["is_active"] is False
    labelstudio_client.delete_webhook(hook_id)
    assert labelstudio_client.list_webhooks(project_id) == []

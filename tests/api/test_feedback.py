"""Feedback: thumbs and ratings, revisions (newest wins), idempotent re-sends, retract, listing."""

from __future__ import annotations

from tests.conftest import log_interaction


def _post(client, headers, **body):
    return client.post("/api/v1/feedback", json=body, headers=headers)


def test_token_feedback_then_vote_change_keeps_one_feedback(client, project):
    token = log_interaction(client, project, end_user_id="u1")["feedback_token"]
    auth = {"Authorization": f"Bearer {token}"}
    down = _post(client, auth, score=-1, reasons=["not_helpful"], comment="wrong")
    assert down.status_code == 201
    up = _post(client, auth, score=1, reasons=["accurate_information"])
    assert up.status_code == 201
    assert up.get_json()["feedback_id"] == down.get_json()["feedback_id"]
    assert up.get_json()["revision"] == 2 and up.get_json()["reasons"] == ["accurate_information"]
    assert up.get_json()["end_user_id"] == "u1"
    listed = client.get("/api/v1/feedback", headers=project.headers()).get_json()["items"]
    assert len(listed) == 1 and listed[0]["score"] == 1 and listed[0]["comment"] is None


def test_same_revision_resent_is_a_duplicate_not_a_new_row(client, project):
    interaction = log_interaction(client, project)
    body = {"interaction_id": interaction["id"], "feedback_id": "fb-1", "revision": 1, "score": -1}
    first = _post(client, project.headers(), **body)
    again = _post(client, project.headers(), **body)
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["duplicate"] is True and again.get_json()["revision"] == 1


def test_same_revision_with_other_content_conflicts(client, project):
    interaction = log_interaction(client, project)
    _post(client, project.headers(), interaction_id=interaction["id"], feedback_id="fb-2", revision=1, score=-1)
    clash = _post(client, project.headers(), interaction_id=interaction["id"], feedback_id="fb-2", revision=1,
                  score=1)
    assert clash.status_code == 409 and clash.get_json()["error"]["code"] == "conflict"


def test_older_revision_never_overwrites_newer(client, project):
    interaction = log_interaction(client, project)
    base = {"interaction_id": interaction["id"], "feedback_id": "fb-3"}
    assert _post(client, project.headers(), **base, revision=3, score=1).status_code == 201
    late = _post(client, project.headers(), **base, revision=2, score=-1)
    assert late.status_code == 200
    assert late.get_json()["applied"] is False and late.get_json()["score"] == 1 and late.get_json()["revision"] == 3


def test_retract_clears_vote_and_is_listed_only_on_request(client, project):
    token = log_interaction(client, project)["feedback_token"]
    auth = {"Authorization": f"Bearer {token}"}
    created = _post(client, auth, score=-1, reasons=["too_verbose"]).get_json()
    retracted = client.post(f"/api/v1/feedback/{created['feedback_id']}/retract", json={}, headers=auth)
    assert retracted.status_code == 201
    data = retracted.get_json()
    assert data["retracted"] is True and data["score"] is None and data["reasons"] == [] and data["revision"] == 2
    assert client.get("/api/v1/feedback", headers=project.headers()).get_json()["items"] == []
    everything = client.get("/api/v1/feedback?include_retracted=true", headers=project.headers()).get_json()
    assert len(everything["items"]) == 1
    revote = _post(client, auth, score=1)
    assert revote.get_json()["revision"] == 3 and revote.get_json()["retracted"] is False


def test_rating_scale_and_unknown_key_or_reason(client, project):
    interaction = log_interaction(client, project)
    ok = _post(client, project.headers(), interaction_id=interaction["id"], key="rating", score=4)
    assert ok.status_code == 201
    out = _post(client, project.headers(), interaction_id=interaction["id"], key="rating", score=9)
    assert out.status_code == 422
    thumbs = _post(client, project.headers(), interaction_id=interaction["id"], score=0.5)
    assert thumbs.status_code == 422
    unknown_key = _post(client, project.headers(), interaction_id=interaction["id"], key="nope", score=1)
    assert unknown_key.status_code == 422 and "declared_keys" in unknown_key.get_json()["error"]["details"]
    reason = _post(client, project.headers(), interaction_id=interaction["id"], score=-1, reasons=["made_up"])
    assert reason.status_code == 422 and reason.get_json()["error"]["details"] == {"unknown": ["made_up"]}


def test_feedback_by_external_id_with_correction_and_annotator_source(client, project):
    log_interaction(client, project, external_id="resp-9")
    answer = _post(client, project.headers(), interaction_external_id="resp-9", source="annotator", score=-1,
                   correction="The answer is 4.")
    assert answer.status_code == 201
    assert answer.get_json()["source"] == "annotator" and answer.get_json()["correction"] == "The answer is 4."


def test_list_filters(client, project):
    a = log_interaction(client, project, end_user_id="alice")
    b = log_interaction(client, project, end_user_id="bob")
    for item in (a, b):
        _post(client, {"Authorization": f"Bearer {item['feedback_token']}"}, score=-1)
    _post(client, project.headers(), interaction_id=a["id"], key="rating", score=2)
    by_user = client.get("/api/v1/feedback?end_user_id=alice", headers=project.headers()).get_json()["items"]
    assert {f["end_user_id"] for f in by_user} == {"alice"} and len(by_user) == 1
    by_key = client.get("/api/v1/feedback?key=rating", headers=project.headers()).get_json()["items"]
    assert [f["score"] for f in by_key] == [2]
    by_interaction = client.get(f"/api/v1/feedback?interaction_id={a['id']}", headers=project.headers())
    assert len(by_interaction.get_json()["items"]) == 2


def test_empty_feedback_is_rejected(client, project):
    interaction = log_interaction(client, project)
    answer = _post(client, project.headers(), interaction_id=interaction["id"])
    assert answer.status_code == 422

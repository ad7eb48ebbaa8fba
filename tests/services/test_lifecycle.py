"""Erasing an end user (API and CLI) against a real Label Studio, the retention job, and the withdrawal of
dataset snapshots that held erased data."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
import redis
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from rq import SimpleWorker
from sqlalchemy import func, select

import jobs.base
from feedback.cli import main
from feedback.db import get_db, utcnow
from feedback.logging_setup import ContextFilter, JsonFormatter
from feedback.models import (
    AuditEvent,
    Feedback,
    FeedbackRevision,
    Interaction,
    JobRecord,
    LabelStudioConnection,
    OutboxItem,
    Project,
)
from feedback.models.annotation import LSAnnotationRecord
from feedback.queue import enqueue, get_queue, get_redis
from feedback.services import dashboard, lifecycle
from feedback.services.dashboard_sql import Window
from feedback.services.labelstudio_client import LabelStudioClient
from feedback.services.labelstudio_templates import INTERACTION_ID_FIELD
from feedback.services.outbox_tasks import build_tasks
from jobs.retention import enforce_retention
from jobs.scheduler import build_cron
from tests.conftest import ProjectKeys, log_interaction
from tests.jobs.delivery_helpers import ls_tasks


def _give_feedback(client: FlaskClient, project: ProjectKeys, interaction_id: int, user: str, score: int) -> None:
    for revision_score in (score, -score, score):  # three revisions each
        answer = client.post("/api/v1/feedback", headers=project.headers("ingest"), json={
            "interaction_id": interaction_id, "score": revision_score, "end_user_id": user,
            "comment": f"from {user}"})
        assert answer.status_code == 201, answer.get_json()


def _deliver(app: Flask, project: ProjectKeys, ls: LabelStudioClient, url: str, token: str, ls_project: int,
             interaction_ids: list[int], template: str = "response_review") -> int:
    """Route the interactions to Label Studio the way the outbox does: items, real tasks, task ids stored."""
    with app.app_context():
        session = get_db().session()
        conn = LabelStudioConnection(project_id=project.id, name=template, url=url, token=token,
                                     token_kind="legacy", ls_project_id=ls_project, template=template)
        session.add(conn)
        session.flush()
        items = [OutboxItem(project_id=project.id, interaction_id=i, connection_id=conn.id, trigger="interaction")
                 for i in interaction_ids]
        session.add_all(items)
        session.flush()
        task_ids = ls.import_tasks(ls_project, build_tasks(session, items, conn))
        for item, task_id in zip(items, task_ids, strict=True):
            item.status, item.ls_task_id, item.delivered_at = "delivered", task_id, utcnow()
        first = items[0]
        session.add(LSAnnotationRecord(project_id=project.id, connection_id=conn.id,
                                       interaction_id=first.interaction_id, item_id=str(first.id),
                                       ls_project_id=ls_project, ls_task_id=first.ls_task_id, ls_annotation_id=1,
                                       annotator_id=1, verdict="bad", reasons=[], raw=[], received_via="webhook"))
        session.commit()
        return conn.id


def _dashboard_volume(app: Flask, project_id: int) -> int:
    """End-user feedback the dashboard's daily rollups count, read without refreshing them."""
    with app.app_context():
        session = get_db().session()
        series = dashboard.version_series(session, session.get(Project, project_id), Window.named("7d"))
        session.rollback()
        return sum(s.volume_total for s in series)


def _counts(app: Flask, project_id: int, user: str) -> dict[str, int]:
    with app.app_context():
        session = get_db().session()
        own = select(Interaction.id).where(Interaction.project_id == project_id, Interaction.end_user_id == user)
        result = {
            "interactions": session.scalar(select(func.count()).select_from(own.subquery())),
            "feedback": session.scalar(select(func.count()).select_from(Feedback).where(
                Feedback.project_id == project_id, Feedback.end_user_id == user)),
            "revisions_on_own": session.scalar(select(func.count()).select_from(FeedbackRevision).where(
                FeedbackRevision.interaction_id.in_(own))),
            "outbox": session.scalar(select(func.count()).select_from(OutboxItem).where(
                OutboxItem.interaction_id.in_(own))),
            "annotations": session.scalar(select(func.count()).select_from(LSAnnotationRecord).where(
                LSAnnotationRecord.interaction_id.in_(own))),
        }
        session.rollback()
        return result


def _task_data(ls: LabelStudioClient, ls_project: int, interaction_id: int) -> dict:
    """The data of the Label Studio task made for one interaction."""
    found = [t["data"] for t in ls_tasks(ls, ls_project) if t["data"].get(INTERACTION_ID_FIELD) == interaction_id]
    assert len(found) == 1, found
    return found[0]


def _item_ids(app: Flask, interaction_ids: list[int]) -> set[str]:
    with app.app_context():
        return {str(i) for i in get_db().session().scalars(select(OutboxItem.id).where(
            OutboxItem.interaction_id.in_(interaction_ids)))}


@pytest.mark.labelstudio
def test_deleting_an_end_user_removes_their_rows_and_tasks_only(
        app: Flask, client: FlaskClient, project: ProjectKeys, runner: CliRunner, labelstudio,
        labelstudio_client: LabelStudioClient, labelstudio_project: Callable[..., int]) -> None:
    alice = [log_interaction(client, project, end_user_id="alice", external_id=f"a{i}")["id"] for i in range(3)]
    bob = [log_interaction(client, project, end_user_id="bob", external_id=f"b{i}")["id"] for i in range(2)]
    for i in alice:
        _give_feedback(client, project, i, "alice", -1)
    _give_feedback(client, project, bob[0], "bob", 1)
    _give_feedback(client, project, bob[1], "alice", 1)  # alice's vote on bob's answer goes too
    ls_project = labelstudio_project()
    _deliver(app, project, labelstudio_client, labelstudio.url, labelstudio.token, ls_project, alice + bob)
    alice_items, bob_items = _item_ids(app, alice), _item_ids(app, bob)
    assert labelstudio_client.existing_items(ls_project, alice_items | bob_items).keys() == alice_items | bob_items
    assert "from alice" in json.dumps(_task_data(labelstudio_client, ls_project, bob[1]))  # her vote on bob's
    bob_before = _counts(app, project.id, "bob")
    assert client.get("/dashboard", headers=project.headers("admin")).status_code == 200  # builds the rollups
    assert _dashboard_volume(app, project.id) == 5

    refused = client.delete("/api/v1/end-users/alice", headers=project.headers("ingest"))
    assert refused.status_code == 403
    answer = client.delete("/api/v1/end-users/alice", headers=project.headers("admin"))
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["deleted"] | {"labelstudio_tasks": None} == {
        "interactions": 3, "feedback": 4, "revisions": 12, "outbox_items": 3, "annotations": 1,
        "labelstudio_tasks": None, "labelstudio_tasks_rewritten": 1, "dataset_versions_withdrawn": 0,
        "withdrawn_versions": []}
    assert body["deleted"]["labelstudio_tasks"] == {f"response_review#{ls_project}": 3}
    assert body["audit_event"]["action"] == "end_user.deleted"
    assert body["audit_event"]["subject"] == lifecycle.subject_digest("alice")
    assert "alice" not in json.dumps(body["audit_event"])

    assert _counts(app, project.id, "alice") == {"interactions": 0, "feedback": 0, "revisions_on_own": 0,
                                                  "outbox": 0, "annotations": 0}
    assert _dashboard_volume(app, project.id) == 1  # erased votes leave the dashboard's rollups at once
    # Bob keeps everything; only alice's three revisions on bob's answer are gone.
    assert _counts(app, project.id, "bob") == bob_before | {"revisions_on_own": bob_before["revisions_on_own"] - 3}
    remaining = labelstudio_client.existing_items(ls_project, alice_items | bob_items)
    assert remaining.keys() == bob_items
    # bob's task that showed alice's vote is rewritten without it; bob's own feedback stays on his other task
    rewritten = json.dumps(_task_data(labelstudio_client, ls_project, bob[1]))
    assert "alice" not in rewritten and str(bob[1]) in rewritten
    assert "from bob" in json.dumps(_task_data(labelstudio_client, ls_project, bob[0]))

    result = runner.invoke(main, ["users", "delete", "--project", project.slug, "--end-user", "bob"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["deleted"]["interactions"] == 2 and printed["deleted"]["labelstudio_tasks"] == {
        f"response_review#{ls_project}": 2}
    assert labelstudio_client.existing_items(ls_project, alice_items | bob_items) == {}
    with app.app_context():
        events = get_db().session().scalars(select(AuditEvent).where(AuditEvent.project_id == project.id)
                                             .order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor.split(":")[0]) for e in events] == [("end_user.deleted", "api-key"),
                                                                   ("end_user.deleted", "cli")]
    listed = client.get("/api/v1/audit-events", headers=project.headers("admin")).get_json()["items"]
    assert [e["subject"] for e in listed] == [lifecycle.subject_digest("bob"), lifecycle.subject_digest("alice")]


@pytest.mark.labelstudio
def test_a_pairwise_task_that_may_show_an_erased_correction_is_deleted(
        app: Flask, client: FlaskClient, project: ProjectKeys, labelstudio, labelstudio_client: LabelStudioClient,
        labelstudio_project: Callable[..., int]) -> None:
    corrected, voted = (log_interaction(client, project, end_user_id="dora", external_id=f"d{i}")["id"]
                        for i in range(2))
    for interaction_id, correction in ((corrected, "erin's own wording"), (voted, None)):
        answer = client.post("/api/v1/feedback", headers=project.headers("ingest"), json={
            "interaction_id": interaction_id, "score": -1, "end_user_id": "erin", "correction": correction})
        assert answer.status_code == 201, answer.get_json()
    ls_project = labelstudio_project("pairwise")
    _deliver(app, project, labelstudio_client, labelstudio.url, labelstudio.token, ls_project, [corrected, voted],
             template="pairwise")
    assert _task_data(labelstudio_client, ls_project, corrected)["response_b"] == "erin's own wording"
    kept_item = _item_ids(app, [voted])
    with app.app_context():  # stored pairwise judgements: one compared with erin's correction, two not
        session = get_db().session()
        first = session.scalars(select(LSAnnotationRecord).where(LSAnnotationRecord.project_id == project.id)).one()
        for n, (interaction_id, compared) in enumerate(((corrected, "erin's own wording"),
                                                        (corrected, "model B's answer"), (voted, "model B's answer"))):
            session.add(LSAnnotationRecord(project_id=project.id, connection_id=first.connection_id,
                                           interaction_id=interaction_id, ls_project_id=ls_project,
                                           ls_annotation_id=100 + n, annotator_id=1, preference="a",
                                           compared_response=compared, reasons=[], raw=[], received_via="webhook"))
        session.commit()

    answer = client.delete("/api/v1/end-users/erin", headers=project.headers("admin"))
    assert answer.status_code == 200, answer.get_json()
    deleted = answer.get_json()["deleted"]
    assert deleted["interactions"] == 0 and deleted["feedback"] == 2
    assert deleted["labelstudio_tasks"] == {f"pairwise#{ls_project}": 1}
    assert deleted["labelstudio_tasks_rewritten"] == 0  # a pairwise task shows no votes, only a correction
    assert labelstudio_client.existing_items(ls_project, kept_item | {"0"}).keys() == kept_item
    assert "erin" not in json.dumps([t["data"] for t in ls_tasks(labelstudio_client, ls_project)])
    assert _item_ids(app, [corrected]) == set()  # its outbox item went with the task: it can be routed again
    assert _counts(app, project.id, "dora")["interactions"] == 2
    assert deleted["annotations"] == 1
    with app.app_context():
        left = get_db().session().execute(select(LSAnnotationRecord.interaction_id,
                                                 LSAnnotationRecord.compared_response).where(
            LSAnnotationRecord.project_id == project.id)).all()
    assert sorted(left, key=repr) == sorted([(corrected, None), (corrected, "model B's answer"),
                                             (voted, "model B's answer")], key=repr)


def test_label_studio_down_means_nothing_is_deleted(app: Flask, client: FlaskClient, project: ProjectKeys) -> None:
    ids = [log_interaction(client, project, end_user_id="carol", external_id=f"c{i}")["id"] for i in range(2)]
    with app.app_context():
        session = get_db().session()
        conn = LabelStudioConnection(project_id=project.id, name="gone", url="http://127.0.0.1:9", token="t",
                                     token_kind="legacy", ls_project_id=3, template="response_review")
        session.add(conn)
        session.flush()
        session.add_all([OutboxItem(project_id=project.id, interaction_id=i, connection_id=conn.id,
                                    trigger="interaction") for i in ids])
        session.commit()
    answer = client.delete("/api/v1/end-users/carol", headers=project.headers("admin"))
    assert answer.status_code == 503
    assert answer.get_json()["error"]["code"] == "labelstudio_unavailable"
    assert _counts(app, project.id, "carol")["interactions"] == 2
    assert client.delete("/api/v1/end-users/nobody-here", headers=project.headers("admin")).get_json()[
        "deleted"]["interactions"] == 0


def test_unknown_project_in_cli_is_a_clean_error(runner: CliRunner) -> None:
    result = runner.invoke(main, ["users", "delete", "--project", "no-such-project", "--end-user", "x"])
    assert result.exit_code == 2 and "no project" in result.output


def test_retention_job_deletes_only_old_interactions(app: Flask, client: FlaskClient, project: ProjectKeys,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    old = log_interaction(client, project, external_id="old", end_user_id="dave",
                          created_at=(utcnow() - timedelta(days=40)).isoformat())["id"]
    new = log_interaction(client, project, external_id="new", end_user_id="dave",
                          created_at=(utcnow() - timedelta(days=2)).isoformat())["id"]
    _give_feedback(client, project, old, "dave", 1)
    _give_feedback(client, project, new, "dave", 1)
    patched = client.get("/api/v1/project", headers=project.headers("admin")).get_json()["settings"]
    assert client.patch("/api/v1/project", headers=project.headers("admin"),
                        json={"settings": patched | {"retention_days": 30}}).status_code == 200
    monkeypatch.setattr(jobs.base, "_app", app)  # the worker runs jobs with the test app
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    job_log = logging.getLogger("jobs.retention")
    job_log.addHandler(handler)
    try:
        with app.app_context():
            record = enqueue(get_db().session(), "jobs.retention.enforce_retention", retries=0)
            SimpleWorker([get_queue("default")], connection=get_redis()).work(burst=True)
    finally:
        job_log.removeHandler(handler)
    with app.app_context():
        session = get_db().session()
        job = session.scalar(select(JobRecord).where(JobRecord.rq_job_id == record.rq_job_id))
        assert job.status == "finished", job.error
        results = job.result
        assert results[project.slug]["interactions"] == 1 and results[project.slug]["revisions"] == 3
        left = session.scalars(select(Interaction.id).where(Interaction.project_id == project.id)).all()
        assert left == [new]
        event = session.scalars(select(AuditEvent).where(AuditEvent.project_id == project.id)).one()
        assert event.action == "retention.applied" and event.details["retention_days"] == 30
        assert session.get(Project, project.id).settings["retention_days"] == 30
        session.rollback()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    mine = [line for line in lines if project.slug in line["message"]]
    assert mine and all(line["job_id"] == record.rq_job_id for line in mine)
    again = enforce_retention()
    assert again[project.slug]["interactions"] == 0


def test_retention_is_registered_with_the_periodic_scheduler(redis_url: str, queue_prefix: str) -> None:
    connection = redis.Redis.from_url(redis_url)
    cron = build_cron(connection, queue_prefix, threading.Event())
    registered = {job.func_name: (job.interval, job.queue_name) for job in cron._cron_jobs}
    assert registered["jobs.retention.enforce_retention"] == (21600, f"{queue_prefix}default")
    assert registered["jobs.dashboard.refresh_rollups"] == (300, f"{queue_prefix}default")
    connection.close()

"""Routing administration through the API and the CLI: outbox inspection and retry, job status and retry."""

from __future__ import annotations

import json

from rq import SimpleWorker
from sqlalchemy import update

import jobs.base
from feedback.cli import main
from feedback.db import get_db
from feedback.models import OutboxItem
from feedback.queue import enqueue, get_redis, queue_name
from tests.conftest import free_port, log_interaction
from tests.routing_helpers import add_connection, add_rule


def _drain(app, queue: str) -> None:
    jobs.base._app = app
    with app.app_context():
        SimpleWorker([queue_name(queue)], connection=get_redis()).work(burst=True)


def test_outbox_listing_stats_and_retry_of_failed_items(app, client, project):
    admin = project.headers("admin")
    conn = add_connection(app, project.id)
    add_rule(client, admin, conn, conditions={"confidence_below": 0.5})
    ids = [log_interaction(client, project, confidence=0.1)["id"] for _ in range(3)]
    with app.app_context():
        session = get_db().session()
        session.execute(update(OutboxItem).where(OutboxItem.project_id == project.id).values(
            status="failed", last_error="LabelStudioRejected: HTTP 400"))
        session.commit()
    listed = client.get("/api/v1/routing/outbox?status=failed", headers=admin).get_json()["items"]
    assert sorted(i["interaction_id"] for i in listed) == ids and listed[0]["last_error"].endswith("400")
    stats = client.get("/api/v1/routing/outbox/stats", headers=admin).get_json()
    assert stats == {"connections": {str(conn): {"pending": 0, "delivered": 0, "failed": 3}}}
    assert client.post("/api/v1/routing/outbox/retry", json={"ids": [listed[0]["id"]]},
                       headers=admin).get_json() == {"retried": 1}
    assert client.post("/api/v1/routing/outbox/retry", json={}, headers=admin).get_json() == {"retried": 2}
    assert {i["status"] for i in client.get("/api/v1/routing/outbox", headers=admin).get_json()["items"]} == {
        "pending"}
    bad = client.get("/api/v1/routing/outbox?status=lost", headers=admin)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "validation_error"


def test_failed_job_is_inspectable_and_retryable(app, client, project):
    admin = project.headers("admin")
    with app.app_context():
        record = enqueue(get_db().session(), "jobs.labelstudio_delivery.backfill_rules", project.id,
                         since="not-a-date", retries=0, project_id=project.id)
    _drain(app, "default")
    shown = client.get(f"/api/v1/jobs/{record.id}", headers=admin).get_json()
    assert shown["status"] == "failed" and "ValueError" in shown["error"]
    assert shown["rq"]["status"] == "failed" and "not-a-date" in shown["rq"]["exc_info"]
    listed = client.get("/api/v1/jobs?status=failed", headers=admin).get_json()["items"]
    assert [j["id"] for j in listed] == [record.id]
    retried = client.post(f"/api/v1/jobs/{record.id}/retry", headers=admin)
    assert retried.status_code == 202 and retried.get_json()["status"] == "queued"
    again = client.post(f"/api/v1/jobs/{retried.get_json()['id']}/retry", headers=admin)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "job_not_failed"
    assert client.get("/api/v1/jobs/999999", headers=admin).status_code == 404


def test_cli_rules_backfill_outbox_and_bad_input(app, client, project, runner):
    conn = add_connection(app, project.id)
    logged = log_interaction(client, project, confidence=0.2)
    added = runner.invoke(main, ["routing", "add-rule", "--project", project.slug, "--name", "low",
                                 "--connection", str(conn), "--conditions", '{"confidence_below": 0.5}',
                                 "--daily-budget", "10"])
    assert added.exit_code == 0, added.output
    listed = json.loads(runner.invoke(main, ["routing", "rules", "--project", project.slug]).output)
    assert [(r["name"], r["daily_budget"], r["used_today"]) for r in listed] == [("low", 10, 0)]
    filled = runner.invoke(main, ["routing", "backfill", "--project", project.slug])
    assert json.loads(filled.output) == {"evaluated": 1, "routed": 1}
    shown = json.loads(runner.invoke(main, ["routing", "outbox", "--project", project.slug]).output)
    assert [(i["interaction_id"], i["trigger"]) for i in shown] == [(logged["id"], "backfill")]
    bad = runner.invoke(main, ["routing", "add-rule", "--project", project.slug, "--name", "x",
                               "--connection", str(conn), "--conditions", "{not json"])
    assert bad.exit_code == 2 and "not valid JSON" in bad.output
    bad = runner.invoke(main, ["routing", "add-rule", "--project", project.slug, "--name", "y",
                               "--connection", str(conn), "--sample-rate", "1.5"])
    assert bad.exit_code == 2 and "invalid options" in bad.output
    missing = runner.invoke(main, ["routing", "update-rule", "--project", project.slug, "nope", "--priority", "1"])
    assert missing.exit_code == 2 and "no routing rule named" in missing.output


def test_a_label_studio_url_that_does_not_answer_is_bad_input_and_stores_nothing(client, project) -> None:
    admin = project.headers("admin")
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    answer = client.post("/api/v1/labelstudio/connections", headers=admin,
                         json={"name": "nowhere", "url": url, "token": "some-token-123"})
    assert answer.status_code == 422, answer.get_json()
    error = answer.get_json()["error"]
    assert error["code"] == "labelstudio_unreachable" and error["details"] == {"url": url}
    assert url in error["message"]
    assert client.get("/api/v1/labelstudio/connections", headers=admin).get_json()["items"] == []

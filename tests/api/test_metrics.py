"""/metrics scraped and parsed with prometheus_client's own parser; request ids and JSON logs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue

from feedback.db import get_db, utcnow
from feedback.logging_setup import JsonFormatter
from feedback.models import JobRecord, LabelStudioConnection, OutboxItem
from feedback.queue import get_redis, queue_name
from tests.conftest import ProjectKeys, free_port, log_interaction


def scrape(client: FlaskClient) -> dict[str, dict[tuple, float]]:
    """GET /metrics and parse it: {sample name: {sorted label items: value}}."""
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(answer.get_data(as_text=True)):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    """One sample's value, 0 when absent."""
    return samples.get(name, {}).get(tuple(sorted(labels.items())), 0.0)


def test_requests_latency_and_ingest_are_counted(client: FlaskClient, project: ProjectKeys) -> None:
    before = scrape(client)
    created = log_interaction(client, project)
    batch = client.post("/api/v1/interactions/batch", headers=project.headers("ingest"), json={"items": [
        {"messages": [], "response": "a", "external_id": "m-1"}, {"messages": [], "response": "b",
                                                                  "external_id": "m-2"}]})
    assert batch.status_code == 200
    again = client.post("/api/v1/interactions/batch", headers=project.headers("ingest"),
                        json={"items": [{"messages": [], "response": "a", "external_id": "m-1"}]})
    assert again.status_code == 200  # an idempotent re-send creates nothing
    fb = client.post("/api/v1/feedback", headers=project.headers("ingest"),
                     json={"interaction_id": created["id"], "score": 1})
    assert fb.status_code == 201
    assert client.get("/api/v1/interactions/999999999", headers=project.headers("ingest")).status_code == 404
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("feedback_http_requests_total", method="POST", endpoint="/api/v1/interactions", status="201") == 1
    assert delta("feedback_http_requests_total", method="POST", endpoint="/api/v1/interactions/batch",
                 status="200") == 2
    assert delta("feedback_http_requests_total", method="GET", endpoint="/api/v1/interactions/<int:interaction_id>",
                 status="404") == 1
    assert delta("feedback_http_request_duration_seconds_count", method="POST", endpoint="/api/v1/feedback") == 1
    assert delta("feedback_http_request_duration_seconds_sum", method="POST", endpoint="/api/v1/feedback") > 0
    assert delta("feedback_ingested_total", kind="interaction") == 3
    assert delta("feedback_ingested_total", kind="feedback") == 1
    assert value(after, "feedback_dependency_up", dependency="database") == 1
    assert value(after, "feedback_dependency_up", dependency="redis") == 1


def test_outbox_jobs_and_queues_are_read_at_scrape_time(app: Flask, client: FlaskClient,
                                                        project: ProjectKeys) -> None:
    ids = [log_interaction(client, project, external_id=f"o-{i}")["id"] for i in range(5)]
    job_name = f"jobs.test.duration_{uuid.uuid4().hex[:6]}"
    with app.app_context():
        session = get_db().session()
        conn = LabelStudioConnection(project_id=project.id, name="m", url="http://127.0.0.1:1", token="t",
                                     token_kind="legacy", ls_project_id=1, template="response_review")
        session.add(conn)
        session.flush()
        for i, interaction_id in enumerate(ids):
            status = ["pending", "pending", "delivered", "failed", "pending"][i]
            session.add(OutboxItem(project_id=project.id, interaction_id=interaction_id, connection_id=conn.id,
                                   trigger="interaction", status=status, attempts=1 if i == 1 else 0,
                                   created_at=utcnow() - timedelta(minutes=10 - i)))
        start = utcnow() - timedelta(minutes=1)
        for seconds in (2.5, 1.5):
            session.add(JobRecord(rq_job_id=uuid.uuid4().hex, name=job_name, queue="default", status="finished",
                                  started_at=start, finished_at=start + timedelta(seconds=seconds)))
        session.commit()
        queue = Queue(queue_name("export"), connection=get_redis())
        waiting = queue.count
        job = queue.enqueue("jobs.does_not_matter", job_id=f"metrics-{uuid.uuid4().hex}")
    try:
        samples = scrape(client)
    finally:
        job.delete()
    pid = str(project.id)
    assert value(samples, "feedback_outbox_items", project_id=pid, status="pending") == 3
    assert value(samples, "feedback_outbox_items", project_id=pid, status="failed") == 1
    assert 590 < value(samples, "feedback_outbox_oldest_pending_age_seconds", project_id=pid) < 700
    assert value(samples, "feedback_labelstudio_delivery_failures", project_id=pid, kind="failed") == 1
    assert value(samples, "feedback_labelstudio_delivery_failures", project_id=pid, kind="retrying") == 1
    assert value(samples, "feedback_job_duration_seconds_count", job=job_name) == 2
    assert value(samples, "feedback_job_duration_seconds_sum", job=job_name) == pytest.approx(4.0, abs=0.01)
    assert value(samples, "feedback_jobs", job=job_name, status="finished") == 2
    assert value(samples, "feedback_queue_length", queue="export") == waiting + 1


def test_request_id_is_echoed_or_generated_and_logged(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="feedback.access"):
        given = client.get("/healthz", headers={"X-Request-ID": "req-abc.123"})
        bad = client.get("/healthz", headers={"X-Request-ID": "spaces and <html> are refused"})
    assert given.headers["X-Request-ID"] == "req-abc.123"
    generated = bad.headers["X-Request-ID"]
    assert len(generated) == 32 and generated != "spaces and <html> are refused"
    records = [r for r in caplog.records if r.name == "feedback.access"]
    assert [r.request_id for r in records[-2:]] == ["req-abc.123", generated]
    line = json.loads(JsonFormatter().format(records[-2]))
    assert line["request_id"] == "req-abc.123" and line["status"] == 200 and line["path"] == "/healthz"
    assert line["level"] == "info" and line["duration_ms"] >= 0


def test_gunicorn_workers_share_counters_through_the_multiprocess_dir(tmp_path: Path,
                                                                      cli_env: dict[str, str]) -> None:
    port = free_port()
    multiproc = tmp_path / "prom"
    multiproc.mkdir()
    env = {**os.environ, **cli_env, "PROMETHEUS_MULTIPROC_DIR": str(multiproc), "FEEDBACK_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--graceful-timeout", "2", "--bind",
         f"127.0.0.1:{port}", "feedback:create_app()"],
        env=env, cwd=Path(__file__).resolve().parents[2], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).read()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, server.stderr.read().decode()[-2000:]
                time.sleep(0.2)
        for _ in range(40):
            urllib.request.urlopen(base + "/healthz", timeout=5).read()
        text = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
    finally:
        server.terminate()
        server.wait(10)
    counts = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "feedback_http_requests_total" and sample.labels["endpoint"] == "/healthz":
                counts[sample.labels.get("pid", "all")] = sample.value
    # 41 = the readiness probe loop's first success plus 40 requests, summed over both workers' files.
    assert sum(counts.values()) >= 41
    assert len(list(multiproc.glob("counter_*.db"))) >= 1

"""Dashboard access control, security headers, and the SQL aggregations checked against Python on real rows."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rq import SimpleWorker
from sqlalchemy import select

import jobs.base
from feedback.db import get_db, utcnow
from feedback.models import Feedback, Interaction, JobRecord, Project, RollupState
from feedback.queue import enqueue, get_queue, get_redis
from feedback.services import dashboard, dashboard_review, dashboard_rollup
from feedback.services.dashboard_auth import COOKIE_NAME
from feedback.services.dashboard_sql import Window, wilson
from tests.api.dashboard_seed import seed
from tests.conftest import ProjectKeys, make_project


def _login(client: FlaskClient, key: str):
    return client.post("/dashboard/login", data={"api_key": key})


def test_no_data_without_an_admin_key(client: FlaskClient, app: Flask, project: ProjectKeys) -> None:
    seed(app, client, project, n=24)
    anonymous = client.get("/dashboard")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].endswith("/dashboard/login")
    assert b"Thumbs" not in anonymous.data
    wrong = client.get("/dashboard", headers={"Authorization": "Bearer fl_admin_wrong"})
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "unauthorized"
    ingest = client.get("/dashboard", headers=project.headers("ingest"))
    assert ingest.status_code == 403 and ingest.get_json()["error"]["code"] == "insufficient_scope"
    assert _login(client, project.ingest_key).status_code == 403
    assert client.get_cookie(COOKIE_NAME, path="/dashboard") is None
    refused = client.get("/dashboard/datasets/anything/v1.zip")
    assert refused.status_code == 401
    bearer = client.get("/dashboard", headers=project.headers("admin"))
    assert bearer.status_code == 200 and project.slug.encode() in bearer.data


def test_session_cookie_is_strict_and_ends_when_the_key_is_revoked(client: FlaskClient, app: Flask) -> None:
    project = make_project(app)
    answer = _login(client, project.admin_key)
    assert answer.status_code == 302
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/dashboard" in cookie
    assert project.admin_key not in cookie
    page = client.get("/dashboard")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "'unsafe-inline'" not in csp
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"

    keys = client.get("/api/v1/keys", headers=project.headers("admin")).get_json()
    admin_id = next(k["id"] for k in (keys["items"] if isinstance(keys, dict) else keys) if "admin" in k["scopes"])
    other = client.application.test_client()
    other.set_cookie(COOKIE_NAME, client.get_cookie(COOKIE_NAME, path="/dashboard").value, path="/dashboard")
    assert client.post(f"/api/v1/keys/{admin_id}/revoke", headers=project.headers("admin")).status_code == 200
    assert other.get("/dashboard").status_code == 302

    tampered = app.test_client()
    tampered.set_cookie(COOKIE_NAME, "eyJrIjoxfQ.forged.sig", path="/dashboard")
    assert tampered.get("/dashboard").status_code == 302


def test_cross_site_login_posts_and_bad_ranges_are_refused(client: FlaskClient, project: ProjectKeys) -> None:
    cross = client.post("/dashboard/login", data={"api_key": project.admin_key},
                        headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403 and cross.get_json()["error"]["code"] == "origin_not_allowed"
    empty = _login(client, "")
    assert empty.status_code == 422 and b"enter an admin API key" in empty.data
    bad = client.get("/dashboard?range=1y", headers=project.headers("admin"))
    assert bad.status_code == 422 and bad.get_json()["error"]["details"]["allowed"] == ["24h", "7d", "30d", "90d"]


def test_empty_project_shows_none_yet_panels(client: FlaskClient, project: ProjectKeys) -> None:
    page = client.get("/dashboard?range=24h", headers=project.headers("admin"))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for phrase in ("No end-user feedback in this range", "No review pipeline yet", "No comments yet",
                   "Selection runs appear here", "Exported dataset versions appear here"):
        assert phrase in text


def test_wilson_interval_matches_the_textbook_values() -> None:
    low, high = wilson(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    assert wilson(0, 0) == (0.0, 0.0)
    low, high = wilson(0, 20)
    assert low == 0.0 and 0.16 < high < 0.17


def _expected(session, project_id: int):
    joined = select(Feedback, Interaction).join(Interaction, Interaction.id == Feedback.interaction_id)
    rows = session.execute(joined.where(Feedback.project_id == project_id, Feedback.source == "end_user",
                                        Feedback.retracted.is_(False))).all()
    versions: dict[str, list[int]] = {}
    reasons: Counter[str] = Counter()
    bins: dict[int, list[int]] = {}
    for fb, it in rows:
        tally = versions.setdefault(it.model_version, [0, 0])
        tally[0] += int(fb.score > 0)
        tally[1] += 1
        if fb.score < 0:
            reasons.update(fb.reasons)
        index = min(int(it.confidence * 10), 9)
        bins.setdefault(index, [0, 0])
        bins[index][0] += int(fb.score > 0)
        bins[index][1] += 1
    return len(rows), versions, dict(reasons), bins


def _actual(session, project: Project, window: Window):
    series = dashboard.version_series(session, project, window)
    top = dashboard.top_negative_reasons(session, project, window, limit=10)
    assert [r.count for r in top] == sorted((r.count for r in top), reverse=True)
    calibration = dashboard.calibration(session, project, window)
    return (sum(s.volume_total for s in series), {s.version: [s.total.ups, s.total.n] for s in series},
            {r.id: r.count for r in top}, {i: [b.rate.ups, b.rate.n] for i, b in enumerate(calibration) if b.rate.n})


def test_aggregations_match_python_over_the_same_rows(app: Flask, client: FlaskClient, project: ProjectKeys) -> None:
    seed(app, client, project)
    with app.app_context():
        session = get_db().session()
        # Noise that must not count: a retracted vote and an annotator's vote.
        first = session.scalars(select(Feedback).where(Feedback.project_id == project.id)).first()
        first.retracted, first.score = True, None
        session.add(Feedback(project_id=project.id, interaction_id=first.interaction_id, feedback_uid="annot",
                             revision=1, key="helpfulness", source="annotator", score=-1, reasons=["not_helpful"],
                             meta={}))
        session.commit()
        proj = session.get(Project, project.id)
        window = Window.named("7d")
        assert dashboard_rollup.refresh(session, project.id) == -1  # first refresh builds every day
        assert _actual(session, proj, window) == _expected(session, project.id)

        # A changed vote on an old day: the next refresh recomputes only the days with changed feedback.
        changed = session.scalars(select(Feedback).where(Feedback.project_id == project.id, Feedback.score < 0)
                                  .order_by(Feedback.created_at)).first()
        changed.score, changed.reasons, changed.updated_at = 1.0, [], utcnow()
        session.commit()
        recomputed = dashboard_rollup.refresh(session, project.id)
        assert 1 <= recomputed <= 8
        assert _actual(session, proj, window) == _expected(session, project.id)

        pipeline = dashboard_review.pipeline(session, project.id)
        assert [(p.routed, p.queued, p.delivered, p.failed) for p in pipeline] == [(60, 12, 45, 3)]
        assert pipeline[0].oldest_queued_seconds > 30 * 60
        agreement = dashboard_review.annotator_agreement(session, project.id)
        assert agreement.pairs == 15 and agreement.agreed == 10
        session.rollback()


def test_hourly_buckets_for_a_day(app: Flask, client: FlaskClient, project: ProjectKeys) -> None:
    seed(app, client, project, n=60)
    with app.app_context():
        session = get_db().session()
        window = Window.named("24h")
        assert window.bucket == "hour" and len(window.labels()) in (24, 25)
        series = dashboard.version_series(session, session.get(Project, project.id), window)
        labels = set(window.labels())
        assert all(set(s.volume) <= labels for s in series)
        session.rollback()


@pytest.mark.parametrize("version", [1, 2])
def test_dataset_download_needs_the_right_project(client: FlaskClient, app: Flask, project: ProjectKeys,
                                                  tmp_path: Path, version: int) -> None:
    seed(app, client, project, n=12, snapshot_dir=tmp_path)
    answer = client.get(f"/dashboard/datasets/support-sft/v{version}.zip", headers=project.headers("admin"))
    if version == 1:
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/zip"
    else:
        assert answer.status_code == 404
    stranger = make_project(app)
    assert client.get("/dashboard/datasets/support-sft/v1.zip",
                      headers=stranger.headers("admin")).status_code == 404


def test_rollup_job_refreshes_through_a_real_worker(app: Flask, client: FlaskClient, project: ProjectKeys,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    seed(app, client, project, n=30)
    monkeypatch.setattr(jobs.base, "_app", app)  # the worker runs jobs with the test app
    with app.app_context():
        session = get_db().session()
        record = enqueue(session, "jobs.dashboard.refresh_rollups", retries=0)
        SimpleWorker([get_queue("default")], connection=get_redis()).work(burst=True)
        session.expire_all()
        job = session.scalar(select(JobRecord).where(JobRecord.rq_job_id == record.rq_job_id))
        assert job.status == "finished", job.error
        assert job.result[str(project.id)] == -1  # first build of this project's rollups
        assert session.get(RollupState, project.id).watermark is not None
        assert sum(s.volume_total for s in dashboard.version_series(
            session, session.get(Project, project.id), Window.named("7d"))) == 25
        session.rollback()

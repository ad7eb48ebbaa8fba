"""Erasure and retention withdraw the published dataset snapshots that hold the erased data."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from feedback.db import get_db, utcnow
from feedback.models import AuditEvent, DatasetVersion, Project
from feedback.services import lifecycle
from feedback.services.datasets import service as datasets_service
from tests.conftest import ProjectKeys, log_interaction
from tests.services.datasets import erasure_seed


def _export(app: Flask, project_id: int, name: str, **filters) -> DatasetVersion:
    with app.app_context():
        session = get_db().session()
        result = datasets_service.run_export(session, project_id, {"name": name, "formats": ["openai_sft", "csv"],
                                                                   "filters": filters},
                                             app.config["SETTINGS"].data_dir)
        row = datasets_service.get_version(session, project_id, result.name, result.version)
        session.expunge(row)  # keep its loaded attributes
        session.rollback()
        return row


def _version(app: Flask, row: DatasetVersion) -> DatasetVersion:
    with app.app_context():
        session = get_db().session()
        fresh = session.get(DatasetVersion, row.id)
        session.expunge(fresh)
        session.rollback()
        return fresh


def test_erasure_withdraws_the_snapshots_that_hold_the_users_data(app: Flask, client: FlaskClient,
                                                                    project: ProjectKeys) -> None:
    seeded = erasure_seed.seed(client, project)
    holding = _export(app, project.id, "all")  # xavier's interactions are in it
    voted = _export(app, project.id, "voted", models=["model-y"])  # bob's, with xavier's votes and corrections
    clean = _export(app, project.id, "clean", models=["model-z"])
    assert holding.rows == 12 and voted.rows == len(seeded.voted_on) and clean.rows == len(seeded.untouched)
    clean_files = {p: (Path(clean.path) / p).read_bytes() for p in erasure_seed.files(clean.path)}

    answer = client.delete("/api/v1/end-users/xavier", headers=project.headers("admin"))
    assert answer.status_code == 200, answer.get_json()
    deleted = answer.get_json()["deleted"]
    assert deleted["interactions"] == 4
    assert deleted["dataset_versions_withdrawn"] == 2
    assert deleted["withdrawn_versions"] == [{"name": "all", "version": 1}, {"name": "voted", "version": 1}]
    assert answer.get_json()["audit_event"]["details"]["withdrawn_versions"] == deleted["withdrawn_versions"]

    for row in (holding, voted):
        after = _version(app, row)
        assert after.withdrawn_at is not None and after.withdrawn_reason == "end_user.deleted"
        assert erasure_seed.files(row.path) == {"manifest.json", "WITHDRAWN.json"}
        marker = json.loads((Path(row.path) / "WITHDRAWN.json").read_text())
        assert marker["name"] == row.name and marker["version"] == 1 and marker["reason"] == "end_user.deleted"
        assert marker["withdrawn_at"] == after.withdrawn_at.isoformat()
    after_clean = _version(app, clean)
    assert after_clean.withdrawn_at is None and after_clean.withdrawn_reason is None
    assert {p: (Path(clean.path) / p).read_bytes() for p in erasure_seed.files(clean.path)} == clean_files
    with app.app_context():
        event = get_db().session().scalars(select(AuditEvent).where(AuditEvent.project_id == project.id)).one()
        assert event.details["dataset_versions_withdrawn"] == 2
        assert event.details["withdrawn_versions"] == deleted["withdrawn_versions"]
        get_db().session().rollback()

    # A later erasure that touches no snapshot withdraws nothing more.
    again = client.delete("/api/v1/end-users/nobody", headers=project.headers("admin")).get_json()["deleted"]
    assert again["dataset_versions_withdrawn"] == 0 and again["withdrawn_versions"] == []


def test_retention_withdraws_snapshots_of_expired_interactions(app: Flask, client: FlaskClient,
                                                              project: ProjectKeys) -> None:
    now = utcnow()
    for i, age in enumerate((40, 41, 2, 3, 4)):
        iid = log_interaction(client, project, external_id=f"r{i}", end_user_id=f"user-{i}",
                              messages=[{"role": "user", "content": f"Retention question {i}, case {i * 97}"}],
                              response=f"Retention answer {i}: step {i * 31}.",
                              created_at=(now - timedelta(days=age)).isoformat())["id"]
        erasure_seed.feedback(client, project, iid, 1, f"user-{i}")
    everything = _export(app, project.id, "everything")
    recent = _export(app, project.id, "recent", since=(now - timedelta(days=10)).isoformat())
    assert (everything.rows, recent.rows) == (5, 3)
    recent_files = erasure_seed.files(recent.path)
    with app.app_context():
        session = get_db().session()
        stored = session.get(Project, project.id)
        stored.settings = {**stored.settings, "retention_days": 30}
        session.commit()
        report, event = lifecycle.apply_retention(session, stored, now=now)
        assert report.interactions == 2
        assert report.withdrawn_versions == [{"name": "everything", "version": 1}]
        assert event.details["dataset_versions_withdrawn"] == 1
        assert event.details["withdrawn_versions"] == [{"name": "everything", "version": 1}]
        session.rollback()
    withdrawn = _version(app, everything)
    assert withdrawn.withdrawn_at is not None and withdrawn.withdrawn_reason == "retention.applied"
    assert erasure_seed.files(everything.path) == {"manifest.json", "WITHDRAWN.json"}
    assert _version(app, recent).withdrawn_at is None and erasure_seed.files(recent.path) == recent_files

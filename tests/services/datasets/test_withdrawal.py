"""Withdrawn dataset versions: removal is idempotent and sweeps leftovers; an export that raced an erasure is
published withdrawn; the index scan tolerates missing files."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import select

import jobs.base
from feedback.db import get_db, utcnow
from feedback.models import DatasetVersion
from feedback.services import lifecycle
from feedback.services.datasets import service, versions, withdrawal
from jobs.retention import enforce_retention
from tests.services.datasets.erasure_seed import files, seed

KEPT = {"manifest.json", "WITHDRAWN.json"}


def _export(session, app, project_id: int, name: str, **filters) -> DatasetVersion:
    result = service.run_export(session, project_id, {"name": name, "formats": ["trl_kto", "hf_dataset"],
                                                      "filters": filters}, app.config["SETTINGS"].data_dir)
    return service.get_version(session, project_id, result.name, result.version)


def _mark_withdrawn(session, row: DatasetVersion) -> None:
    """What a committed erasure leaves when the process dies before removing the files."""
    row.withdrawn_at, row.withdrawn_reason = utcnow(), "end_user.deleted"
    session.commit()


def test_removal_is_idempotent_and_sweeps_leftovers(app, client, project, session, monkeypatch) -> None:
    seed(client, project)
    first = _export(session, app, project.id, "sweep")
    second = _export(session, app, project.id, "sweep", models=["model-z"])
    kept_files = files(second.path)
    _mark_withdrawn(session, first)
    assert "index.tsv" in files(first.path) and any(f.startswith("hf_dataset/") for f in files(first.path))

    # The next erasure of the project, even one that erases nothing, removes what the crash left.
    lifecycle.delete_end_user(session, project.id, "nobody", "test")
    assert files(first.path) == KEPT
    marker = (Path(first.path) / "WITHDRAWN.json").read_bytes()
    assert json.loads(marker)["reason"] == "end_user.deleted"
    assert withdrawal.remove_withdrawn_files(session, project.id) == []  # nothing left to do
    assert files(first.path) == KEPT and (Path(first.path) / "WITHDRAWN.json").read_bytes() == marker
    assert files(second.path) == kept_files  # never touches a version that is not withdrawn

    # Files reappearing in a withdrawn version (a half-finished removal) go on the next sweep; so does a
    # missing marker. The periodic retention job sweeps every project.
    (Path(first.path) / "csv").mkdir()
    (Path(first.path) / "csv" / "train.csv").write_text("prompt,response\nleft,over\n")
    (Path(first.path) / "index.tsv").write_text("interaction_id\n1\n")
    (Path(first.path) / "WITHDRAWN.json").unlink()
    monkeypatch.setattr(jobs.base, "_app", app)
    enforce_retention()
    assert files(first.path) == KEPT and (Path(first.path) / "WITHDRAWN.json").read_bytes() == marker
    assert withdrawal.sweep_all(session) == {}


def test_missing_version_directory_or_index_is_tolerated(app, client, project, session) -> None:
    seeded = seed(client, project)
    row = _export(session, app, project.id, "gone")
    index = Path(row.path) / "index.tsv"
    assert withdrawal.lists_any(index, {seeded.erased_user[0]})
    assert not withdrawal.lists_any(index, {max(seeded.untouched) + 1000})
    assert not withdrawal.lists_any(index, set())
    index.unlink()
    assert not withdrawal.lists_any(index, {seeded.erased_user[0]})
    assert withdrawal.affected_versions(session, project.id, seeded.erased_user) == []
    session.rollback()
    _mark_withdrawn(session, row)
    shutil.rmtree(row.path)  # an operator removed the directory by hand
    assert withdrawal.remove_withdrawn_files(session, project.id) == []  # directory gone: nothing to do


def test_export_that_raced_an_erasure_is_published_withdrawn(app, client, project, session, monkeypatch) -> None:
    seed(client, project)
    real_export = service.export_snapshot

    def export_then_erase(*args, **kwargs):
        result = real_export(*args, **kwargs)  # has read xavier's interactions
        with app.app_context(), get_db().transaction() as other:
            lifecycle.delete_end_user(other, project.id, "xavier", "test")
        return result

    monkeypatch.setattr(service, "export_snapshot", export_then_erase)
    result = service.run_export(session, project.id, {"name": "raced", "formats": ["csv"]},
                                app.config["SETTINGS"].data_dir)
    row = session.scalar(select(DatasetVersion).where(DatasetVersion.project_id == project.id,
                                                      DatasetVersion.name == "raced"))
    assert row.version == result.version == 1
    assert row.withdrawn_at is not None and row.withdrawn_reason == "erased during export"
    assert files(row.path) == KEPT
    with pytest.raises(withdrawal.DatasetWithdrawn) as refused:
        service.get_available_version(session, project.id, "raced", 1)
    assert refused.value.status == 410 and refused.value.code == "dataset_withdrawn"

    monkeypatch.setattr(service, "export_snapshot", real_export)  # no erasure meanwhile: published as usual
    clean = service.run_export(session, project.id, {"name": "raced", "formats": ["csv"]},
                               app.config["SETTINGS"].data_dir)
    assert clean.version == 2
    assert service.get_available_version(session, project.id, "raced", 2).withdrawn_at is None


def test_the_retention_job_removes_stale_builds_of_killed_exports(app, project, monkeypatch) -> None:
    root = service.export_root(app.config["SETTINGS"].data_dir, project.id)
    stale, fresh = root / "killed" / ".tmp-v0001-abc", root / "running" / ".tmp-v0001-def"
    for build in (stale, fresh):
        (build / "csv").mkdir(parents=True)
        (build / "csv" / "train.csv").write_text("prompt,response\nerased,row\n")
    old = time.time() - versions.STALE_BUILD_SECONDS - 60
    os.utime(stale, (old, old))
    (root / "killed" / "v0002").mkdir()  # a published version is never a build
    os.utime(root / "killed" / "v0002", (old, old))
    monkeypatch.setattr(jobs.base, "_app", app)
    enforce_retention()
    assert not stale.exists() and (fresh / "csv" / "train.csv").is_file()
    assert (root / "killed" / "v0002").is_dir()
    assert versions.discard_stale_builds(root.parent) == []

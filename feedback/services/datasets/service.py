"""Database-facing dataset operations: run an export for a project, list and diff its versions, enqueue jobs.

Snapshots of project P live under `<data_dir>/exports/project-<P>/<name>/vNNNN`; each published snapshot also
gets a `dataset_versions` row so the API and CLI can list versions without walking the disk. A version that
held data erased later is withdrawn (`withdrawal`): still listed, never served again.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from feedback.db import utcnow
from feedback.errors import Conflict, NotFound
from feedback.models import AuditEvent, DatasetVersion, Feedback, Interaction, JobRecord, Project
from feedback.queue import enqueue
from feedback.services.datasets.diff import diff_snapshots
from feedback.services.datasets.errors import DatasetError
from feedback.services.datasets.export import ExportResult, export_snapshot
from feedback.services.datasets.params import ExportParams, parse_params
from feedback.services.datasets.prefetch import RecordSource
from feedback.services.datasets.records import Record
from feedback.services.datasets.source import stream_records
from feedback.services.datasets.versions import load_manifest
from feedback.services.datasets.withdrawal import ensure_available, lists_erased, lock_project, remove_withdrawn_files

EXPORT_JOB = "jobs.export.run_export"
PARALLEL = hasattr(os, "fork")  # the front stage of a database export runs in a forked reader process


MAX_VERSION = 2**31 - 1  # dataset_versions.version is an INTEGER column

def exports_dir(data_dir: Path) -> Path:
    """Where every project's snapshots are written (one folder per project)."""
    return Path(data_dir) / "exports"


def export_root(data_dir: Path, project_id: int) -> Path:
    """Where a project's snapshots are written."""
    return exports_dir(data_dir) / f"project-{project_id}"


def estimate_rows(session: Session, project_id: int, params: ExportParams) -> int:
    """Interactions with feedback on the export's key inside the pushed-down filters (for progress bars)."""
    f = params.filters
    query = (select(func.count(func.distinct(Feedback.interaction_id)))
             .join(Interaction, Interaction.id == Feedback.interaction_id)
             .where(Feedback.project_id == project_id, Feedback.key == params.feedback_key))
    if f.since:
        query = query.where(Interaction.created_at >= f.since)
    if f.until:
        query = query.where(Interaction.created_at < f.until)
    if f.models:
        query = query.where(Interaction.model.in_(f.models))
    if f.model_versions:
        query = query.where(Interaction.model_version.in_(f.model_versions))
    return int(session.scalar(query) or 0)


def run_export(session: Session, project_id: int, raw_params: ExportParams | dict[str, Any], data_dir: Path,
               progress: Callable[[int], None] | None = None) -> ExportResult:
    """Stream the project's data through the pipeline, publish a snapshot and record its version row."""
    params = parse_params(raw_params)
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"project {project_id} does not exist")
    if params.filters.project_id not in (None, project_id):
        raise NotFound("filters.project_id does not match the export's project",
                       details={"project_id": params.filters.project_id})
    session.expunge(project)  # keep its loaded attributes without reopening a transaction to refresh them
    session.commit()  # end the lookup transaction: on SQLite it would otherwise hold the write lock
    latest = session.scalar(select(func.max(DatasetVersion.version)).where(
        DatasetVersion.project_id == project_id, DatasetVersion.name == params.name)) or 0
    erasures_before = _last_audit_event(session, project_id)
    session.commit()
    stats: dict[str, Any] = {"project": project.slug}
    records: Iterator[Record] | RecordSource
    if PARALLEL:  # read + resolve + filter + scrub in a forked reader process (its own connection)
        url = session.get_bind().url.render_as_string(hide_password=False)
        records = RecordSource(lambda: (_read(url, project, params, stats), stats), stats)
    else:
        records = stream_records(session, project, params, stats)
    result = export_snapshot(records, params, export_root(data_dir, project_id), source=stats,
                             progress=progress, min_version=latest + 1)
    manifest = result.manifest
    row = DatasetVersion(project_id=project_id, name=result.name, version=result.version,
                         path=str(result.path), formats=list(params.formats),
                         params=manifest["params"], counts=manifest["counts"],
                         rows=manifest["counts"]["rows"], fingerprint=manifest["fingerprint"])
    # An erasure or retention run that committed while this export read the data did not see this snapshot:
    # if the snapshot lists an interaction that is gone now, it is published withdrawn.
    lock_project(session, project_id)
    erased_meanwhile = _last_audit_event(session, project_id) != erasures_before
    if ((project.settings or {}).get("retention_days") or erased_meanwhile) and lists_erased(
            session, project_id, result.path / "index.tsv"):
        row.withdrawn_at, row.withdrawn_reason = utcnow(), "erased during export"
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        shutil.rmtree(result.path, ignore_errors=True)
        raise Conflict(f"another export published {result.name} v{result.version} at the same time; retry",
                       details={"name": result.name, "version": result.version}) from None
    if row.withdrawn_at is not None:
        remove_withdrawn_files(session, project_id)
    return result


def _last_audit_event(session: Session, project_id: int) -> int:
    return session.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.project_id == project_id)) or 0


def _read(url: str, project: Project, params: ExportParams, stats: dict[str, Any]) -> Iterator[Record]:
    """Stream records through a connection of this process's own (for the reader process)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with Session(engine) as session:
            yield from stream_records(session, project, params, stats)
    finally:
        engine.dispose()


def version_out(row: DatasetVersion) -> dict[str, Any]:
    """The JSON form of a dataset version."""
    return {"id": row.id, "name": row.name, "version": row.version, "formats": row.formats, "rows": row.rows,
            "fingerprint": row.fingerprint, "counts": row.counts, "created_at": row.created_at.isoformat(),
            "path": row.path, "withdrawn_at": row.withdrawn_at.isoformat() if row.withdrawn_at else None,
            "withdrawn_reason": row.withdrawn_reason}


def list_dataset_versions(session: Session, project_id: int, name: str | None = None) -> list[DatasetVersion]:
    """The project's published versions, by name then version."""
    query = select(DatasetVersion).where(DatasetVersion.project_id == project_id)
    if name:
        query = query.where(DatasetVersion.name == name)
    return list(session.scalars(query.order_by(DatasetVersion.name, DatasetVersion.version)))


def get_version(session: Session, project_id: int, name: str, version: int) -> DatasetVersion:
    """One version; `NotFound` when it does not exist in this project."""
    if not 1 <= version <= MAX_VERSION:  # no such row, and PostgreSQL could not even compare it with the column
        raise NotFound(f"dataset {name!r} has no version {version}", details={"name": name, "version": version})
    row = session.scalar(select(DatasetVersion).where(
        DatasetVersion.project_id == project_id, DatasetVersion.name == name, DatasetVersion.version == version))
    if row is None:
        raise NotFound(f"dataset {name!r} has no version {version}", details={"name": name, "version": version})
    return row


def get_available_version(session: Session, project_id: int, name: str, version: int) -> DatasetVersion:
    """One version whose data can be served: `NotFound`, or `DatasetWithdrawn` (410) once withdrawn."""
    return ensure_available(get_version(session, project_id, name, version))


def version_manifest(session: Session, project_id: int, name: str,
                     version: int) -> tuple[DatasetVersion, dict[str, Any]]:
    """A version's row and its `manifest.json` (kept when the version is withdrawn); `NotFound` when it is gone."""
    row = get_version(session, project_id, name, version)
    try:
        manifest = load_manifest(Path(row.path))
    except DatasetError:
        raise NotFound(f"the manifest of {name} v{version} is missing or unreadable", code="dataset_files_gone",
                       details={"name": name, "version": version}) from None
    return row, manifest


def version_zip(session: Session, project_id: int, name: str, version: int) -> Path:
    """A served version's snapshot directory zipped into a temporary file (entries under `<name>-vNNNN/`); the
    caller deletes it. `session` only looks the version up (a read session will do).

    `DatasetWithdrawn` (410) for a withdrawn version, also when it is withdrawn while being zipped (its files
    disappear); `NotFound` when its files are gone for another reason.
    """
    folder, prefix = Path(get_available_version(session, project_id, name, version).path), f"{name}-v{version:04d}"
    session.rollback()  # hold no transaction while zipping (on SQLite a write session would block every writer)
    handle = tempfile.NamedTemporaryFile(suffix=".zip", delete=False)  # noqa: SIM115 - the caller removes it
    try:
        if not folder.is_dir():
            raise FileNotFoundError(folder)
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                archive.write(path, f"{prefix}/{path.relative_to(folder)}")
    except FileNotFoundError:
        handle.close()
        Path(handle.name).unlink(missing_ok=True)
        get_available_version(session, project_id, name, version)  # withdrawn meanwhile: 410
        raise NotFound(f"the files of {name} v{version} are gone from the export directory",
                       code="dataset_files_gone", details={"name": name, "version": version}) from None
    handle.close()
    return Path(handle.name)


def diff_versions(session: Session, project_id: int, name: str, a: int, b: int) -> dict[str, Any]:
    """Differences between two versions of one dataset (neither may be withdrawn)."""
    return diff_snapshots(Path(get_available_version(session, project_id, name, a).path),
                          Path(get_available_version(session, project_id, name, b).path))


def enqueue_export(session: Session, project_id: int, raw_params: dict[str, Any]) -> JobRecord:
    """Validate parameters now (bad ones fail the request, not the job) and enqueue the export job."""
    params = parse_params(raw_params)
    return enqueue(session, EXPORT_JOB, project_id, params.model_dump(mode="json"), project_id=project_id,
                   retries=0, timeout=3600)

"""/api/v1/datasets: run exports as background jobs, poll their status, list, diff and download versions."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, after_this_request, send_file, url_for
from pydantic import BaseModel, Field
from sqlalchemy import select

from feedback.api.request import parse_body, parse_query, principal
from feedback.api.spec import route
from feedback.db import get_read_session, get_session
from feedback.errors import NotFound
from feedback.models import JobRecord
from feedback.services.auth import require_scope
from feedback.services.datasets import service
from feedback.services.datasets.params import ExportParams

bp = Blueprint("datasets", __name__, url_prefix="/api/v1")
WITHDRAWN = "Withdrawn: the version held data erased since (`dataset_withdrawn`)"


class VersionFilter(BaseModel):
    """Query of the version list."""

    name: str | None = Field(default=None, max_length=64)


class DiffQuery(BaseModel):
    """Two versions to compare."""

    a: int = Field(ge=1, le=service.MAX_VERSION)
    b: int = Field(ge=1, le=service.MAX_VERSION)


def _admin() -> int:
    caller = principal()
    require_scope(caller, "admin")
    return caller.project_id


def _job_out(record: JobRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"job_id": record.id, "status": record.status, "progress": record.progress,
                           "error": record.error, "result": record.result,
                           "status_url": url_for("datasets.export_status", job_id=record.id)}
    if record.status == "finished" and record.result:
        out["download_url"] = url_for("datasets.download", name=record.result["name"],
                                      version=record.result["version"])
    return out


@route(bp, "/datasets/exports", "POST", summary="Start a dataset export", tag="datasets", body=ExportParams,
       responses={202: None})
def start_export():
    """Validate the parameters and enqueue the export; poll `status_url` until `download_url` appears."""
    project_id = _admin()
    params = parse_body(ExportParams)
    record = service.enqueue_export(get_session(), project_id, params.model_dump(mode="json"))
    return _job_out(record), 202


@route(bp, "/datasets/exports/<int:job_id>", "GET", summary="Export job status", tag="datasets")
def export_status(job_id: int):
    """Status and progress of an export job, with a download link once it has finished."""
    project_id = _admin()
    record = get_read_session().scalar(select(JobRecord).where(
        JobRecord.id == job_id, JobRecord.project_id == project_id, JobRecord.name == service.EXPORT_JOB))
    if record is None:
        raise NotFound(f"no export job {job_id}")
    return _job_out(record)


@route(bp, "/datasets", "GET", summary="List dataset versions", tag="datasets", query=VersionFilter)
def list_versions():
    """Every published version of the project's datasets (optionally one name); a withdrawn version (it held
    erased data) shows `withdrawn_at` and `withdrawn_reason` and has no `download_url`."""
    project_id = _admin()
    query = parse_query(VersionFilter)
    rows = service.list_dataset_versions(get_read_session(), project_id, query.name)
    return {"items": [{**service.version_out(r), "download_url": None if r.withdrawn_at else url_for(
        "datasets.download", name=r.name, version=r.version)} for r in rows]}


@route(bp, "/datasets/<name>/diff", "GET", summary="Diff two versions", tag="datasets", query=DiffQuery,
       errors={410: WITHDRAWN})
def diff(name: str):
    """Parameter, count, file and row differences between versions `a` and `b` (410 `dataset_withdrawn` when
    either was withdrawn)."""
    project_id = _admin()
    query = parse_query(DiffQuery)
    return service.diff_versions(get_read_session(), project_id, name, query.a, query.b)


@route(bp, "/datasets/<name>/versions/<int:version>/download", "GET", summary="Download a version",
       tag="datasets", errors={410: WITHDRAWN})
def download(name: str, version: int):
    """The snapshot directory as a zip archive (manifest, index and every format folder); 410
    `dataset_withdrawn` when the version held erased data and was withdrawn."""
    project_id = _admin()
    archive = service.version_zip(get_read_session(), project_id, name, version)

    @after_this_request
    def _cleanup(response: Any) -> Any:
        archive.unlink(missing_ok=True)
        return response

    return send_file(archive, mimetype="application/zip", as_attachment=True,
                     download_name=f"{name}-v{version:04d}.zip")

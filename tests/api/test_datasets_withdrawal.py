"""A dataset version that held an erased end user's data is listed as withdrawn, and download and diff answer
410 `dataset_withdrawn`; the versions without that data stay downloadable."""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from pathlib import Path

from feedback.db import utcnow
from feedback.services.datasets import service
from tests.services.datasets.erasure_seed import seed


def test_withdrawn_version_is_listed_and_refused_with_410(app, client, project, session) -> None:
    seed(client, project)
    data_dir = app.config["SETTINGS"].data_dir
    service.run_export(session, project.id, {"name": "api", "formats": ["csv"]}, data_dir)  # has xavier
    service.run_export(session, project.id, {"name": "api", "formats": ["csv"],
                                             "filters": {"models": ["model-z"]}}, data_dir)
    headers = project.headers("admin")
    assert client.get("/api/v1/datasets/api/versions/1/download", headers=headers).status_code == 200
    assert client.get("/api/v1/datasets/api/diff?a=1&b=2", headers=headers).status_code == 200

    erased = client.delete("/api/v1/end-users/xavier", headers=headers)
    assert erased.status_code == 200 and erased.get_json()["deleted"]["withdrawn_versions"] == [
        {"name": "api", "version": 1}]

    items = client.get("/api/v1/datasets?name=api", headers=headers).get_json()["items"]
    assert [(i["version"], i["withdrawn_reason"]) for i in items] == [(1, "end_user.deleted"), (2, None)]
    assert items[0]["withdrawn_at"] and items[0]["download_url"] is None
    assert items[1]["withdrawn_at"] is None and items[1]["download_url"].endswith("/api/versions/2/download")

    download = client.get("/api/v1/datasets/api/versions/1/download", headers=headers)
    assert download.status_code == 410
    error = download.get_json()["error"]
    assert error["code"] == "dataset_withdrawn" and "withdrawn" in error["message"]
    assert error["details"]["name"] == "api" and error["details"]["version"] == 1
    assert error["details"]["withdrawn_reason"] == "end_user.deleted"
    for a, b in ((1, 2), (2, 1)):
        diff = client.get(f"/api/v1/datasets/api/diff?a={a}&b={b}", headers=headers)
        assert diff.status_code == 410 and diff.get_json()["error"]["code"] == "dataset_withdrawn"

    kept = client.get("/api/v1/datasets/api/versions/2/download", headers=headers)
    assert kept.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(kept.data)).namelist()
    assert "api-v0002/index.tsv" in names and any(n.startswith("api-v0002/csv/") for n in names)
    assert client.get("/api/v1/datasets/api/versions/9/download", headers=headers).status_code == 404
    # the operators' dashboard: no download link for the withdrawn version, and its zip answers 410
    dashboard = client.get("/dashboard/", headers=headers)
    assert dashboard.status_code == 200
    page = dashboard.get_data(as_text=True)
    assert "Withdrawn " in page and 'href="/dashboard/datasets/api/v2.zip"' in page
    assert 'href="/dashboard/datasets/api/v1.zip"' not in page
    assert client.get("/dashboard/datasets/api/v1.zip", headers=headers).status_code == 410
    assert client.get("/dashboard/datasets/api/v2.zip", headers=headers).status_code == 200


def test_files_that_vanish_give_404_or_410_never_500(app, client, project, session, monkeypatch) -> None:
    seed(client, project)
    data_dir = app.config["SETTINGS"].data_dir
    gone = service.run_export(session, project.id, {"name": "vanish", "formats": ["csv"]}, data_dir)
    racing = service.run_export(session, project.id, {"name": "vanish", "formats": ["csv"]}, data_dir)
    headers = project.headers("admin")
    shutil.rmtree(gone.path)
    for url in ("/api/v1/datasets/vanish/versions/1/download", "/dashboard/datasets/vanish/v1.zip"):
        answer = client.get(url, headers=headers)
        assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "dataset_files_gone"

    def withdrawn_while_zipping(archive, filename, arcname=None, *args, **kwargs):
        with app.app_context(), app.extensions["feedback.db"].transaction() as other:
            row = service.get_version(other, project.id, "vanish", racing.version)
            row.withdrawn_at, row.withdrawn_reason = utcnow(), "end_user.deleted"
        raise FileNotFoundError(filename)

    monkeypatch.setattr(zipfile.ZipFile, "write", withdrawn_while_zipping)
    before = set(Path(tempfile.gettempdir()).glob("*.zip"))
    answer = client.get(f"/api/v1/datasets/vanish/versions/{racing.version}/download", headers=headers)
    assert answer.status_code == 410 and answer.get_json()["error"]["code"] == "dataset_withdrawn"
    assert set(Path(tempfile.gettempdir()).glob("*.zip")) <= before  # the partial archive is removed

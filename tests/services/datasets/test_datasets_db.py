"""Exports from the real database: label resolution from stored feedback, CLI, API job, versions and diff."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import datasets
import pytest
from rq import SimpleWorker
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from feedback.cli import main
from feedback.db import get_db
from feedback.models import DatasetVersion, Project
from feedback.queue import get_queue, get_redis
from feedback.services.datasets import query, service
from feedback.services.datasets.params import parse_params
from tests.conftest import log_interaction, make_project


def _post_feedback(client, project, interaction_id: int, score: int, user: str, **extra) -> None:
    body = {"interaction_id": interaction_id, "score": score, "end_user_id": user} | extra
    answer = client.post("/api/v1/feedback", json=body, headers=project.headers("ingest"))
    assert answer.status_code in (200, 201), answer.get_json()


def _seed(client, project, n: int = 24) -> list[int]:
    ids = []
    for i in range(n):
        created = log_interaction(
            client, project, conversation_id=f"conv-{i // 2}", model="gpt-4o-mini" if i % 4 else "llama-3",
            messages=[{"role": "user",
                       "content": f"Question {i}: how do I configure widget {i * 37}? mail ops{i}@corp.io"}],
            response=f"Answer {i}: open settings page {i * 13}, choose option {i * 7} and save twice.",
            metadata={"tags": ["beta"] if i % 3 == 0 else []})
        iid = created["id"]
        ids.append(iid)
        _post_feedback(client, project, iid, 1 if i % 3 else -1, "u1")
        if i % 5 == 0:  # an annotator overrules the end user
            _post_feedback(client, project, iid, -1 if i % 3 else 1, "ann-1", source="annotator")
        if i % 6 == 1:
            _post_feedback(client, project, iid, -1, "u2", correction=f"Corrected answer {i}: use the CLI.")
    return ids


def test_service_export_resolves_labels_and_records_versions(app, client, project, session) -> None:
    _seed(client, project)
    data_dir = app.config["SETTINGS"].data_dir
    params = {"name": "db", "formats": ["openai_sft", "openai_dpo", "hf_dataset"], "seed": 1}
    first = service.run_export(session, project.id, params, data_dir)
    m = first.manifest
    assert m["source"]["interactions_scanned"] == 24 and m["counts"]["rows"] == 24
    assert m["label_provenance"]["annotator:single"] == 5
    assert m["pii"]["replacements"]["email"] == 24
    assert m["counts"]["pairs"]["by_origin"]["correction"] == 4
    loaded = datasets.load_dataset(str(first.path / "hf_dataset"))
    assert sum(s.num_rows for s in loaded.values()) == 24
    second = service.run_export(session, project.id, {**params, "filters": {"models": ["llama-3"]}}, data_dir)
    assert second.manifest["counts"]["rows"] == 6 and second.version == 2
    rows = session.scalars(select(DatasetVersion).where(DatasetVersion.project_id == project.id)).all()
    assert [(r.name, r.version, r.rows) for r in rows] == [("db", 1, 24), ("db", 2, 6)]
    delta = service.diff_versions(session, project.id, "db", 1, 2)
    assert delta["rows"]["counts"]["removed"] == 18 and delta["params"]["filters.models"] == [[], ["llama-3"]]


def test_cli_export_list_and_diff(app, client, project, runner) -> None:
    _seed(client, project, 12)
    args = ["export", "--project", project.slug, "--name", "cli", "--format", "trl_kto", "--format", "csv",
            "--quiet"]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "exported cli v1" in first.output and "train" in first.output
    assert runner.invoke(main, [*args, "--verdict", "good"]).exit_code == 0
    listed = runner.invoke(main, ["datasets", "list", "--project", project.slug])
    assert "cli\tv1\t12 rows" in listed.output and "cli\tv2" in listed.output
    diffed = runner.invoke(main, ["datasets", "diff", "--project", project.slug, "cli", "1", "2"])
    assert diffed.exit_code == 0 and json.loads(diffed.output)["rows"]["counts"]["removed"] == 7
    bad = runner.invoke(main, [*args, "--since", "2030-01-01T00:00:00Z", "--until", "2029-01-01T00:00:00Z"])
    assert bad.exit_code == 2 and "conflicting filters" in bad.output
    empty = runner.invoke(main, [*args, "--model", "nope"])
    assert empty.exit_code == 2 and "selection is empty" in empty.output
    assert runner.invoke(main, [*args[:6], "--format", "xml"]).exit_code == 2

    shown = runner.invoke(main, ["datasets", "show", "--project", project.slug, "cli", "2"])
    assert shown.exit_code == 0, shown.output
    assert "cli v2 -> " in shown.output and "formats csv, trl_kto" in shown.output
    assert "'verdicts': ['good']" in shown.output and "train" in shown.output and "PII replaced" in shown.output
    missing = runner.invoke(main, ["datasets", "show", "--project", project.slug, "cli", "9"])
    assert missing.exit_code == 2 and "has no version 9" in missing.output
    with app.app_context():  # a manifest that went missing is a clean error too
        row = service.get_version(get_db().session(), project.id, "cli", 1)
        (Path(row.path) / "manifest.json").unlink()
        get_db().session().rollback()
    gone = runner.invoke(main, ["datasets", "show", "--project", project.slug, "cli", "1"])
    assert gone.exit_code == 2 and "manifest of cli v1 is missing" in gone.output


def test_api_runs_export_job_with_status_and_download(app, client, project, monkeypatch) -> None:
    import jobs.base

    monkeypatch.setattr(jobs.base, "_app", app)  # the worker runs jobs with the test app
    _seed(client, project, 12)
    headers = project.headers("admin")
    bad = client.post("/api/v1/datasets/exports", json={"name": "api", "formats": ["yaml"]}, headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"]
    started = client.post("/api/v1/datasets/exports", json={"name": "api", "formats": ["inspect", "csv"]},
                          headers=headers)
    assert started.status_code == 202, started.get_json()
    status_url = started.get_json()["status_url"]
    with app.app_context():
        SimpleWorker([get_queue("default")], connection=get_redis()).work(burst=True)
    status = client.get(status_url, headers=headers).get_json()
    assert status["status"] == "finished", status
    download = client.get(status["download_url"], headers=headers)
    assert download.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(download.data)).namelist()
    assert "api-v0001/manifest.json" in names and any(n.startswith("api-v0001/inspect/") for n in names)
    listed = client.get("/api/v1/datasets?name=api", headers=headers).get_json()["items"]
    assert [item["version"] for item in listed] == [1] and Path(listed[0]["path"]).is_dir()
    assert client.get("/api/v1/datasets/api/diff?a=1&b=9", headers=headers).status_code == 404
    assert client.get(status_url, headers=project.headers("ingest")).status_code == 403


def _pairwise_annotation(session, project_id: int, interaction_id: int, annotation_id: int, preference: str,
                         compared: str | None, **fields) -> None:
    from feedback.db import utcnow
    from feedback.models import LabelStudioConnection, LSAnnotationRecord

    connection = session.scalar(select(LabelStudioConnection).where(LabelStudioConnection.project_id == project_id))
    if connection is None:
        connection = LabelStudioConnection(project_id=project_id, name="compare", url="http://ls.invalid",
                                           token="t", token_kind="legacy", ls_project_id=1, template="pairwise")
        session.add(connection)
        session.flush()
    now = utcnow()
    session.add(LSAnnotationRecord(
        project_id=project_id, connection_id=connection.id, interaction_id=interaction_id, ls_project_id=1,
        ls_annotation_id=annotation_id, annotator_id=7, preference=preference, compared_response=compared,
        reasons=[], raw=[], received_via="webhook", ls_updated_at=now, created_at=now, updated_at=now, **fields))
    session.commit()


def test_pairwise_annotations_become_preference_pairs(app, client, project, session) -> None:
    ids = []
    for i in range(4):
        created = log_interaction(client, project, conversation_id=f"pw-{i}", response=f"Original answer {i}.",
                                  messages=[{"role": "user", "content": f"Pairwise question {i}?"}])
        ids.append(created["id"])
        _post_feedback(client, project, created["id"], -1 if i % 2 else 1, "u1")
    _pairwise_annotation(session, project.id, ids[0], 1, "b", "The compared answer 0 was better.")
    _pairwise_annotation(session, project.id, ids[1], 2, "a", "The compared answer 1 was worse.")
    _pairwise_annotation(session, project.id, ids[2], 3, "b", "Cancelled comparison.", was_cancelled=True)
    _pairwise_annotation(session, project.id, ids[3], 4, "b", None)  # a comparison without its other text
    params = {"name": "pw", "formats": ["openai_dpo"], "seed": 3, "pair_origins": ["pairwise"],
              "dedup_near": False}
    result = service.run_export(session, project.id, params, app.config["SETTINGS"].data_dir)
    assert result.manifest["counts"]["pairs"]["by_origin"]["pairwise"] == 2
    rows = [json.loads(line) for path in sorted((result.path / "openai_dpo").glob("*.jsonl"))
            for line in path.read_text().splitlines()]
    pairs = {row["input"]["messages"][-1]["content"]: (row["preferred_output"][0]["content"],
                                                       row["non_preferred_output"][0]["content"]) for row in rows}
    assert pairs == {
        "Pairwise question 0?": ("The compared answer 0 was better.", "Original answer 0."),
        "Pairwise question 1?": ("Original answer 1.", "The compared answer 1 was worse."),
    }


def test_sqlite_statement_gives_the_rows_of_the_joined_statement(app, client, session, backend) -> None:
    """The SQLite-shaped export query (one arm per signal table, merged in id order) against the plain joined
    query, on interleaved projects with several signals per interaction, other keys, retracted feedback and
    deleted, cancelled and pairwise annotations, with and without filters."""
    if backend != "sqlite":
        pytest.skip("the SQLite-shaped statement runs on SQLite only")
    first, second = make_project(app), make_project(app)
    for i in range(30):
        owner = first if i % 3 else second  # interleaved ids
        iid = log_interaction(client, owner, model="m-a" if i % 2 else "m-b", response=f"answer {i}",
                              messages=[{"role": "user", "content": f"q {i}"}])["id"]
        for voter in range(i % 4):  # 0..3 signals
            _post_feedback(client, owner, iid, 1 if (i + voter) % 2 else -1, f"u{voter}")
        if i % 5 in (0, 1):
            _post_feedback(client, owner, iid, 4, "rater", key="rating")
        if i % 7 == 0:
            created = client.post("/api/v1/feedback", headers=owner.headers("ingest"), json={
                "interaction_id": iid, "score": 1, "end_user_id": "retractor"}).get_json()
            assert client.post(f"/api/v1/feedback/{created['feedback_id']}/retract", json={},
                               headers=owner.headers("ingest")).status_code == 201
        if i % 4 == 1:
            _pairwise_annotation(session, owner.id, iid, 1000 + i, "a" if i % 8 == 1 else "b", f"other {i}",
                                 deleted=i % 12 == 5, was_cancelled=i % 16 == 9)
            session.commit()  # on SQLite the session holds the write lock the next request needs
    # a plain engine, as the export's reader uses: the app's SQLite sessions take the write lock on begin
    plain = create_engine(session.get_bind().url, poolclass=NullPool)
    compared = 0
    with Session(plain) as reader:
        for owner in (first, second):
            project = reader.get(Project, owner.id)
            for filters in ({}, {"models": ["m-a"]}):
                conditions = [query.Interaction.project_id == project.id] + (
                    [query.Interaction.model.in_(["m-a"])] if filters else [])
                for key in ("helpfulness", "rating"):
                    params = parse_params({"name": "q", "formats": ["openai_sft"], "feedback_key": key,
                                           "filters": filters})
                    shaped = reader.execute(query.build_query(reader, project.id, params)).all()
                    joined = reader.execute(query._joined_query(reader, project.id, key, conditions)).all()
                    assert shaped == joined and len(joined) >= 2, (owner.id, filters, key)
                    compared += len(joined)
    plain.dispose()
    assert compared > 60

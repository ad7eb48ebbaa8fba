"""Seed a project with a realistic week of traffic for the dashboard tests.

Interactions go through the real batch API; feedback rows are written with the models so their timestamps
spread over the week (the API stamps "now"). Review-side rows (connection, outbox, annotations, dataset
version) are added when their tables exist in this checkout.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from feedback.db import get_db, utcnow
from feedback.models import DatasetVersion, Feedback, Interaction, LabelStudioConnection, OutboxItem
from feedback.models.annotation import LSAnnotationRecord
from feedback.models.selection import SelectionRun
from tests.conftest import ProjectKeys

NEGATIVE = ["not_factually_correct", "not_helpful", "too_verbose", "didnt_fully_follow_instructions"]


@dataclass
class Seeded:
    """What was written, for the assertions."""

    interactions: int
    feedback: int
    ups_by_version: dict[str, tuple[int, int]]
    comment: str
    connection: str


def seed(app: Flask, client: FlaskClient, project: ProjectKeys, n: int = 360, rng_seed: int = 7,
         snapshot_dir: Path | None = None) -> Seeded:
    """Log `n` interactions over seven days on two model versions and give most of them feedback."""
    rng = random.Random(rng_seed)
    now = utcnow()
    items = []
    for i in range(n):
        version = "2024-06-v2" if i % 3 else "2024-05-v1"
        at = now - timedelta(hours=rng.uniform(0.5, 165))
        items.append({"external_id": f"seed-{i}", "messages": [{"role": "user", "content": f"question {i}"}],
                      "response": f"Answer number {i} about refunds and shipping.", "model": "support-bot",
                      "model_version": version, "confidence": round(rng.betavariate(4, 2), 3),
                      "end_user_id": f"user-{i % 40}", "created_at": at.isoformat()})
    answer = client.post("/api/v1/interactions/batch", json={"items": items}, headers=project.headers("ingest"))
    assert answer.status_code == 200, answer.get_json()
    ups: dict[str, list[int]] = {}
    comment = "The refund policy it quoted is from last year."
    with app.app_context():
        session = get_db().session()
        rows = session.query(Interaction).filter(Interaction.project_id == project.id).order_by(Interaction.id).all()
        count = 0
        for i, it in enumerate(rows):
            if i % 6 == 5:
                continue
            better = it.model_version == "2024-06-v2"
            up = rng.random() < (0.35 + (0.3 if better else 0.1) + 0.3 * (it.confidence or 0))
            tally = ups.setdefault(it.model_version or "", [0, 0])
            tally[0] += int(up)
            tally[1] += 1
            text = comment if i == 1 else (f"comment {i}" if i % 25 == 0 else None)
            reasons = [] if up else rng.sample(NEGATIVE, k=rng.choice([0, 1, 1, 2]))
            at = it.created_at + timedelta(minutes=2)
            session.add(Feedback(project_id=project.id, interaction_id=it.id, feedback_uid=f"seed-fb-{i}",
                                 revision=1, key="helpfulness", source="end_user", score=1.0 if up else -1.0,
                                 reasons=sorted(reasons), comment=text, end_user_id=it.end_user_id, meta={},
                                 created_at=at, updated_at=at))
            count += 1
        connection = _review_rows(session, project.id, rows[:60])
        if snapshot_dir is not None:
            _activity_rows(session, project.id, snapshot_dir)
        session.commit()
    return Seeded(n, count, {k: (v[0], v[1]) for k, v in ups.items()}, comment, connection)


def _review_rows(session, project_id: int, rows: list[Interaction]) -> str:
    conn = LabelStudioConnection(project_id=project_id, name="support-review", url="http://127.0.0.1:8080",
                                 token="t", token_kind="legacy", ls_project_id=12, template="response_review")
    session.add(conn)
    session.flush()
    for i, it in enumerate(rows):
        status = "failed" if i % 20 == 0 else ("pending" if i % 4 == 0 else "delivered")
        session.add(OutboxItem(project_id=project_id, interaction_id=it.id, connection_id=conn.id,
                               trigger="interaction", status=status, ls_task_id=1000 + i if status == "delivered"
                               else None, created_at=utcnow() - timedelta(minutes=30 + i)))
        if status == "delivered" and i % 3 == 0:
            for annotator, verdict in ((1, "good" if i % 2 else "bad"), (2, "good")):
                session.add(LSAnnotationRecord(
                    project_id=project_id, connection_id=conn.id, interaction_id=it.id, item_id=str(i),
                    ls_project_id=12, ls_task_id=1000 + i, ls_annotation_id=5000 + i * 2 + annotator,
                    annotator_id=annotator, verdict=verdict, reasons=[], raw=[], received_via="webhook"))
    return conn.name


def _activity_rows(session, project_id: int, snapshot_dir: Path) -> None:
    """One active-learning run and one published dataset version with real files."""
    conn_id = session.query(LabelStudioConnection.id).filter_by(project_id=project_id).scalar()
    session.add(SelectionRun(project_id=project_id, strategy="uncertainty", effective_strategy="uncertainty",
                             budget=50, seed=1, pool_size=300, selected_count=50, routed_count=48,
                             n_strong_labels=120, connection_id=conn_id, model_version="quality-3"))
    folder = snapshot_dir / "support-sft" / "v0001"
    (folder / "sft").mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"name": "support-sft", "version": 1}))
    (folder / "sft" / "train.jsonl").write_text('{"messages": []}\n')
    session.add(DatasetVersion(project_id=project_id, name="support-sft", version=1, path=str(folder),
                               formats=["sft", "dpo"], params={}, counts={}, rows=240, fingerprint="0" * 64))

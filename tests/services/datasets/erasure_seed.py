"""Seed for the erasure/withdrawal tests: interactions of two end users with feedback, exported to snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask.testing import FlaskClient

from tests.conftest import ProjectKeys, log_interaction


@dataclass
class Seeded:
    """Interaction ids by role."""

    erased_user: list[int]  # interactions of "xavier" (model-x)
    voted_on: list[int]  # bob's interactions xavier voted on (model-y)
    untouched: list[int]  # bob's other interactions (model-z)


def feedback(client: FlaskClient, project: ProjectKeys, interaction_id: int, score: int, user: str,
             **extra) -> None:
    """Post one piece of end-user feedback."""
    body = {"interaction_id": interaction_id, "score": score, "end_user_id": user} | extra
    answer = client.post("/api/v1/feedback", json=body, headers=project.headers("ingest"))
    assert answer.status_code in (200, 201), answer.get_json()


def seed(client: FlaskClient, project: ProjectKeys, **created: str) -> Seeded:
    """Xavier's interactions, bob's with a vote (and a correction) from xavier, bob's without."""
    out = Seeded([], [], [])
    for i in range(12):
        user, model, bucket = (("xavier", "model-x", out.erased_user) if i < 4 else
                               ("bob", "model-y", out.voted_on) if i < 6 else ("bob", "model-z", out.untouched))
        iid = log_interaction(client, project, end_user_id=user, model=model, external_id=f"e-{i}",
                              messages=[{"role": "user", "content": f"Question {i} from {user}: my id is {i * 71}"}],
                              response=f"Answer {i}: open page {i * 13}, pick option {i * 7}.", **created)["id"]
        bucket.append(iid)
        feedback(client, project, iid, 1 if i % 3 else -1, user)
    for iid in out.voted_on:
        feedback(client, project, iid, -1, "xavier", correction=f"Xavier's private correction for {iid}")
    return out


def files(path: str | Path) -> set[str]:
    """Relative paths of every file under a snapshot directory."""
    root = Path(path)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}

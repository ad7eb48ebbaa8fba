"""A fresh, migrated bench database (SQLite file or a uniquely named PostgreSQL database) seeded with a project,
ingest keys, interactions and their feedback tokens."""

from __future__ import annotations

import secrets
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from feedback.db import make_engine
from feedback.models import FeedbackRevision, Interaction
from feedback.schemas.interaction import InteractionCreate
from feedback.services import interactions, keys, migrations, projects
from feedback.services.tokens import TokenSigner
from tests.databases import temporary_database


@dataclass(frozen=True)
class Credential:
    """One way to post feedback on one interaction: an ingest key (by interaction id) or its feedback token."""

    kind: str  # "key" or "token"
    authorization: str
    interaction_id: int


@dataclass
class BenchData:
    """What the load generators need: the database URL, the signing secret and credentials to post with."""

    backend: str
    database_url: str
    secret_key: str
    data_dir: Path
    project_id: int = 0
    ingest_keys: list[str] = field(default_factory=list)
    credentials: list[Credential] = field(default_factory=list)


@contextmanager
def bench_database(backend: str, interactions_count: int = 2000, key_count: int = 3) -> Iterator[BenchData]:
    """A migrated database with one project, `key_count` ingest keys and `interactions_count` interactions."""
    workdir = Path(tempfile.mkdtemp(prefix="fl-bench-ingest-", dir=Path.home() / ".cache"))
    try:
        with temporary_database(backend, workdir, prefix="fl_bench") as url:
            migrations.upgrade(url)
            data = BenchData(backend=backend, database_url=url, secret_key=secrets.token_urlsafe(32),
                             data_dir=workdir / "data")
            _seed(data, interactions_count, key_count)
            yield data
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _seed(data: BenchData, interactions_count: int, key_count: int) -> None:
    engine = make_engine(data.database_url)
    signer = TokenSigner(data.secret_key, 86400)
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            project, _admin = projects.create_project(session, f"bench-{uuid.uuid4().hex[:8]}", "Ingest bench")
            data.project_id = project.id
            data.ingest_keys = [keys.create_key(session, project.id, f"bench-{i}", ["ingest"]).secret
                                for i in range(key_count)]
            items = [InteractionCreate(
                external_id=f"seed-{i}", conversation_id=f"conv-{i // 4}", end_user_id=f"user-{i % 97}",
                messages=[{"role": "system", "content": "You are a helpful assistant."},
                          {"role": "user", "content": f"Question number {i}: how do I reset my password?"}],
                response="Open Settings, choose Security, then Reset password and follow the e-mail link.",
                model="bench-model", model_version="1", confidence=(i % 100) / 100)
                for i in range(interactions_count)]
            recorded = []
            for start in range(0, len(items), 1000):
                recorded += interactions.record_interactions(session, project.id, items[start:start + 1000])
        for n, rec in enumerate(recorded):
            row = rec.interaction
            if n % 2:
                token = signer.mint(project.id, row.id, row.end_user_id)
                data.credentials.append(Credential("token", f"Bearer {token}", row.id))
            else:
                key = data.ingest_keys[n % len(data.ingest_keys)]
                data.credentials.append(Credential("key", f"Bearer {key}", row.id))
    finally:
        engine.dispose()


def count_rows(database_url: str) -> tuple[int, int]:
    """(interactions, feedback revisions) stored in the bench database: proof that writes happened."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return (session.scalar(select(func.count()).select_from(Interaction)) or 0,
                    session.scalar(select(func.count()).select_from(FeedbackRevision)) or 0)
    finally:
        engine.dispose()

"""First-run setup of the demo project: its keys are kept in the data dir so every run can print them."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from feedback.errors import NotFound, Unauthorized
from feedback.services import keys, projects

DEMO_SLUG = "demo"
KEYS_FILE = "demo-keys.json"


@dataclass(frozen=True)
class DemoKeys:
    """The demo project's secrets (local, single-user setup only)."""

    project: str
    admin_key: str
    ingest_key: str
    widget_key: str


def ensure_demo_project(session: Session, data_dir: Path, origins: list[str]) -> DemoKeys:
    """Create the demo project and its keys once; later runs read the keys back from the data dir.

    If the keys file is lost (or the database was reset), fresh keys are issued and the file rewritten.
    """
    path = data_dir / KEYS_FILE
    try:
        project = projects.get_project_by_slug(session, DEMO_SLUG)
    except NotFound:
        project, admin = projects.create_project(session, DEMO_SLUG, "Demo chat", {"allowed_origins": origins})
        admin_secret = admin.secret
    else:
        if path.exists():
            stored = DemoKeys(**json.loads(path.read_text()))
            try:
                keys.authenticate(session, stored.ingest_key)
                return stored
            except Unauthorized:
                pass  # a stale file: issue new keys below
        admin_secret = keys.create_key(session, project.id, "admin", ["admin"]).secret
    ingest = keys.create_key(session, project.id, "ingest", ["ingest"])
    widget = keys.create_key(session, project.id, "widget", ["widget"], origins)
    session.commit()
    demo = DemoKeys(DEMO_SLUG, admin_secret, ingest.secret, widget.secret)
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(demo), handle, indent=2)
    return demo

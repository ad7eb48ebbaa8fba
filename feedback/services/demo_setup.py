"""First-run setup of the demo project: its keys are kept in the data dir so every run can print them."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.errors import NotFound, Unauthorized
from feedback.models import LabelStudioConnection
from feedback.schemas.routing import ConnectionCreate, RuleConditions, RuleCreate
from feedback.services import keys, projects, routing_rules
from feedback.services import labelstudio_connections as connections

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


DEMO_CONNECTION = "demo-review"


def ensure_demo_routing(session: Session, labelstudio_url: str, token: str, service_url: str) -> int:
    """Connect the demo project to the local Label Studio (once) with two rules: thumbs down, and confidence
    below 0.5. Returns the connection id. A connection to another Label Studio address is replaced."""
    project = projects.get_project_by_slug(session, DEMO_SLUG)
    existing = session.scalar(select(LabelStudioConnection).where(
        LabelStudioConnection.project_id == project.id, LabelStudioConnection.name == DEMO_CONNECTION))
    if existing is not None and existing.url == labelstudio_url.rstrip("/"):
        return existing.id
    if existing is not None:
        connections.delete_connection(session, existing)
        session.flush()
    body = ConnectionCreate(name=DEMO_CONNECTION, url=labelstudio_url, token=token, title="feedback-loop demo review")
    connection = connections.create_connection(session, project.id, body, service_url,
                                               reasons=project.settings.get("reasons"))
    for name, conditions, priority in (("thumbs-down", {"thumbs_down": True}, 10),
                                       ("low-confidence", {"confidence_below": 0.5}, 20)):
        routing_rules.create_rule(session, project.id, RuleCreate(
            name=f"demo-{name}", connection_id=connection.id, priority=priority,
            conditions=RuleConditions(**conditions)))
    session.commit()
    return connection.id

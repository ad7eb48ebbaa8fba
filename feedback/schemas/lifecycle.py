"""Data-lifecycle answers: what an end-user deletion removed, and audit events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class WithdrawnVersion(BaseModel):
    """A dataset version withdrawn because it held erased data."""

    name: str
    version: int


class PurgeCounts(BaseModel):
    """Rows and Label Studio tasks removed, and dataset versions withdrawn."""

    interactions: int
    feedback: int
    revisions: int
    outbox_items: int
    annotations: int
    labelstudio_tasks: dict[str, int]
    labelstudio_tasks_rewritten: int
    dataset_versions_withdrawn: int
    withdrawn_versions: list[WithdrawnVersion]


class AuditEventOut(BaseModel):
    """One data-lifecycle action (end users appear only as `sha256:` digests of their id)."""

    id: int
    action: str
    actor: str
    subject: str | None
    details: dict[str, Any]
    created_at: datetime


class EndUserDeleted(BaseModel):
    """The outcome of erasing one end user."""

    deleted: PurgeCounts
    audit_event: AuditEventOut

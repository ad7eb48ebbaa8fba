"""Published dataset snapshots (one row per exported version; the files live under the data directory)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from feedback.db import Base, BigIntPK, JSONType, UTCDateTime, utcnow


class DatasetVersion(Base):
    """A numbered, immutable export of a project's curated feedback data (`<name>/vNNNN` on disk)."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("project_id", "name", "version"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text)
    formats: Mapped[list[str]] = mapped_column(JSONType, default=list)
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when erased data (an end user's erasure, retention) was in this version: its data files are removed
    # and it can no longer be downloaded or diffed; the row and the manifest stay so the number is never reused.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withdrawn_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)

"""Active-learning runs and dataset versions for the dashboard (newest first).

A database migrated before those parts landed has no such tables: the functions answer None then and the
dashboard shows "none yet".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.models import DatasetVersion
from feedback.models.selection import SelectionRun
from feedback.services.dashboard_sql import has_table

RUN_COLUMNS = ("id", "created_at", "strategy", "effective_strategy", "budget", "pool_size", "selected_count",
               "routed_count", "n_strong_labels", "model_version")
DATASET_COLUMNS = ("name", "version", "created_at", "rows", "formats", "withdrawn_at")


@dataclass
class TableView:
    """Rows of a table as plain values, restricted to the columns the dashboard shows."""

    table: str
    columns: list[str]
    rows: list[dict[str, Any]]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return value


def _view(session: Session, model: Any, columns: tuple[str, ...], project_id: int, limit: int) -> TableView | None:
    if not has_table(session, model.__tablename__):
        return None
    query = (select(model).where(model.project_id == project_id)
             .order_by(model.created_at.desc(), model.id.desc()).limit(limit))
    rows = [{name: _plain(getattr(row, name)) for name in columns} for row in session.scalars(query)]
    return TableView(model.__tablename__, list(columns), rows)


def selection_runs(session: Session, project_id: int, limit: int = 10) -> TableView | None:
    """The newest active-learning runs, or None when the selection tables do not exist."""
    return _view(session, SelectionRun, RUN_COLUMNS, project_id, limit)


def dataset_versions(session: Session, project_id: int, limit: int = 10) -> TableView | None:
    """The newest dataset versions, or None when the datasets table does not exist."""
    return _view(session, DatasetVersion, DATASET_COLUMNS, project_id, limit)

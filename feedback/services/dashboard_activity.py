"""Active-learning runs and dataset versions for the dashboard, read without depending on their modules.

The selection and dataset parts own these tables and may change their columns; the dashboard reflects the
table that exists in the database and shows the columns it recognises, so a schema change there never breaks
the dashboard, and a database without the table shows "none yet".
"""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, select
from sqlalchemy.orm import Session

from feedback.services.dashboard_sql import has_table

RUN_COLUMNS = ("id", "created_at", "strategy", "effective_strategy", "budget", "pool_size", "selected_count",
               "routed_count", "n_strong_labels", "model_version")
DATASET_COLUMNS = ("name", "version", "created_at", "rows", "formats")


@dataclass
class TableView:
    """Rows of a table, restricted to the recognised columns (in a fixed order)."""

    table: str
    columns: list[str]
    rows: list[dict[str, Any]]


def _view(session: Session, table_name: str, wanted: tuple[str, ...], project_id: int,
          limit: int) -> TableView | None:
    if not has_table(session, table_name):
        return None
    table = Table(table_name, MetaData(), autoload_with=session.connection())
    columns = [name for name in wanted if name in table.c]
    if not columns:
        return TableView(table_name, [], [])
    query = select(*(table.c[name] for name in columns))
    if "project_id" in table.c:
        query = query.where(table.c.project_id == project_id)
    order = table.c["created_at"] if "created_at" in table.c else table.c[columns[0]]
    query = query.order_by(order.desc()).limit(limit)
    rows = [{name: _plain(value) for name, value in row._mapping.items()} for row in session.execute(query)]
    return TableView(table_name, columns, rows)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in list(value.items())[:6])
    return value


def selection_runs(session: Session, project_id: int, limit: int = 10) -> TableView | None:
    """The newest active-learning runs, or None when the selection tables do not exist."""
    return _view(session, "selection_runs", RUN_COLUMNS, project_id, limit)


def dataset_versions(session: Session, project_id: int, limit: int = 10) -> TableView | None:
    """The newest dataset versions, or None when the datasets table does not exist."""
    return _view(session, "dataset_versions", DATASET_COLUMNS, project_id, limit)


def zip_snapshot(folder: Path, prefix: str) -> Path:
    """Write every file under a snapshot folder into a temporary zip (entries under `prefix/`); the caller
    deletes it."""
    handle = tempfile.NamedTemporaryFile(suffix=".zip", delete=False)  # noqa: SIM115 - caller removes it
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(path, f"{prefix}/{path.relative_to(folder)}")
    handle.close()
    return Path(handle.name)

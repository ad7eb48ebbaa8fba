"""Withdrawing published dataset snapshots that hold erased data.

When interactions are erased (an end user's erasure, a retention run), every not-yet-withdrawn version of the
project whose `index.tsv` lists one of them is withdrawn in two steps:

1. `withdraw` marks its `dataset_versions` row (`withdrawn_at`, `withdrawn_reason`) in the eraser's
   transaction, so the row deletes and the withdrawal commit together; from then on the API and CLI refuse to
   serve it (`ensure_available`).
2. After that commit `remove_withdrawn_files` deletes the version's data files: everything in the version
   directory except `manifest.json` (parameters, counts and hashes; no prompts or responses), and writes
   `WITHDRAWN.json` (time and reason). The directory stays, so its version number is never reused.

Step 2 sweeps every withdrawn version of the project whose data files are still there, so a process that dies
between the commit and the removal leaves nothing behind for long: the next erasure or retention run of the
project, or the periodic retention job (`sweep_all`), removes them. It is idempotent.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.db import utcnow
from feedback.errors import Gone
from feedback.models import DatasetVersion, Interaction, Project

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
MARKER = "WITHDRAWN.json"
_CHUNK = 1000


class DatasetWithdrawn(Gone):
    """The version held erased data; its files were removed."""

    code = "dataset_withdrawn"


def ensure_available(row: DatasetVersion) -> DatasetVersion:
    """`row` itself, or `DatasetWithdrawn` (410) when the version has been withdrawn."""
    if row.withdrawn_at is not None:
        raise DatasetWithdrawn(
            f"dataset {row.name!r} version {row.version} was withdrawn on {row.withdrawn_at.isoformat()} "
            f"({row.withdrawn_reason}): it contained erased data",
            details={"name": row.name, "version": row.version, "withdrawn_at": row.withdrawn_at.isoformat(),
                     "withdrawn_reason": row.withdrawn_reason})
    return row


def _index_ids(index: Path) -> Iterator[int]:
    """The interaction ids a snapshot index lists, in file order (none when the index is missing)."""
    try:
        with open(index, encoding="utf-8") as fh:
            fh.readline()  # header
            for line in fh:
                head = line.split("\t", 1)[0]
                if head.isdigit():
                    yield int(head)
    except FileNotFoundError:
        return


def lists_any(index: Path, ids: set[int]) -> bool:
    """Whether the snapshot index `index` lists one of `ids` (streamed; a missing index lists nothing).

    `index.tsv` is sorted by interaction id (the export enforces ascending ids, and `diff` relies on it), so
    reading stops once past the largest id asked about.
    """
    if not ids:
        return False
    highest = max(ids)
    for ident in _index_ids(index):
        if ident in ids:
            return True
        if ident > highest:
            return False
    return False


def affected_versions(session: Session, project_id: int, interaction_ids: Iterable[int]) -> list[DatasetVersion]:
    """The project's not-yet-withdrawn versions whose index lists any of `interaction_ids`."""
    ids = set(interaction_ids)
    if not ids:
        return []
    rows = session.scalars(select(DatasetVersion).where(
        DatasetVersion.project_id == project_id, DatasetVersion.withdrawn_at.is_(None))
        .order_by(DatasetVersion.name, DatasetVersion.version))
    return [row for row in rows if lists_any(Path(row.path) / "index.tsv", ids)]


def lock_project(session: Session, project_id: int) -> None:
    """Serialise erasures with the publication of new versions until the transaction ends.

    On PostgreSQL an erasure and an export committing at the same moment could otherwise each miss the other
    (the erasure does not see the new row, the export still sees the rows being deleted). `FOR NO KEY UPDATE`
    leaves inserts that reference the project (their foreign-key check takes a key-share lock) unblocked.
    SQLite needs nothing: its writers are serialised already.
    """
    session.execute(select(Project.id).where(Project.id == project_id).with_for_update(key_share=True))


def withdraw(session: Session, project_id: int, interaction_ids: Iterable[int], reason: str,
             now: datetime | None = None) -> list[DatasetVersion]:
    """Mark the versions that list any of `interaction_ids` withdrawn; the caller commits (then calls
    `remove_withdrawn_files`). Returns the rows marked."""
    ids = set(interaction_ids)
    if not ids:
        return []
    lock_project(session, project_id)
    rows = affected_versions(session, project_id, ids)
    when = now or utcnow()
    for row in rows:
        row.withdrawn_at, row.withdrawn_reason = when, reason[:200]
    session.flush()
    return rows


def lists_erased(session: Session, project_id: int, index: Path) -> bool:
    """Whether a snapshot index lists an interaction that no longer exists (erased while it was exported)."""
    chunk: list[int] = []
    for ident in _index_ids(index):
        chunk.append(ident)
        if len(chunk) >= _CHUNK:
            if _missing(session, project_id, chunk):
                return True
            chunk = []
    return bool(chunk) and _missing(session, project_id, chunk)


def _missing(session: Session, project_id: int, ids: list[int]) -> bool:
    found = session.scalars(select(Interaction.id).where(Interaction.project_id == project_id,
                                                         Interaction.id.in_(ids))).all()
    return len(found) < len(set(ids))


def _leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name not in (MANIFEST, MARKER)]


def _remove_files(folder: Path, name: str, version: int, withdrawn_at: datetime, reason: str | None) -> None:
    # The marker goes first: a removal cut short still leaves the directory marked as withdrawn.
    marker = {"name": name, "version": version, "withdrawn_at": withdrawn_at.isoformat(), "reason": reason,
              "message": "this version contained erased data; its data files were removed"}
    tmp = folder / f".{MARKER}.tmp"
    tmp.write_text(json.dumps(marker, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, folder / MARKER)
    for path in _leftovers(folder):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def remove_withdrawn_files(session: Session, project_id: int) -> list[str]:
    """Remove the data files of every withdrawn version of the project that still has them (idempotent).

    Call it after the withdrawal committed; it ends its own read transaction with a commit. Returns
    `<name> v<version>` of each version cleaned now. A version whose files cannot be removed is logged and
    left for the next sweep.
    """
    rows = session.execute(select(DatasetVersion.name, DatasetVersion.version, DatasetVersion.path,
                                  DatasetVersion.withdrawn_at, DatasetVersion.withdrawn_reason).where(
        DatasetVersion.project_id == project_id, DatasetVersion.withdrawn_at.is_not(None))
        .order_by(DatasetVersion.name, DatasetVersion.version)).all()
    session.commit()
    cleaned = []
    for name, version, path, withdrawn_at, reason in rows:
        folder = Path(path)
        if not folder.is_dir() or ((folder / MARKER).is_file() and not _leftovers(folder)):
            continue
        try:
            _remove_files(folder, name, version, withdrawn_at, reason)
        except OSError as exc:
            log.error("could not remove the files of withdrawn dataset %s v%s in %s: %s", name, version, folder,
                      exc)
            continue
        cleaned.append(f"{name} v{version}")
    if cleaned:
        log.info("removed the data files of withdrawn dataset versions of project %s: %s", project_id, cleaned)
    return cleaned


def sweep_all(session: Session) -> dict[int, list[str]]:
    """`remove_withdrawn_files` for every project with a withdrawn version (the periodic job's safety net)."""
    projects = session.scalars(select(DatasetVersion.project_id).where(DatasetVersion.withdrawn_at.is_not(None))
                               .distinct().order_by(DatasetVersion.project_id)).all()
    session.commit()
    return {project_id: cleaned for project_id in projects
            if (cleaned := remove_withdrawn_files(session, project_id))}

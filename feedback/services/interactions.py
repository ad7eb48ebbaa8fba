"""Recording interactions: idempotent by (project, external_id), one at a time or in batches."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session, make_transient_to_detached

from feedback.db import utcnow
from feedback.errors import NotFound
from feedback.models import Interaction
from feedback.schemas.interaction import InteractionCreate, InteractionFilters, Message
from feedback.services import bulk_insert, routing
from feedback.services.pagination import decode_cursor, encode_cursor


@dataclass(frozen=True)
class Recorded:
    """An interaction and whether this call created it."""

    interaction: Interaction
    created: bool


def _message_dicts(messages: list[Message]) -> list[dict[str, Any]]:
    """Messages as stored: `model_dump(exclude_none=True)` written out (pydantic's serializer cost more per
    message than the INSERT)."""
    return [{"role": m.role, "content": m.content} if m.name is None
            else {"role": m.role, "content": m.content, "name": m.name} for m in messages]


def _row(project_id: int, item: InteractionCreate, now: datetime, messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "external_id": item.external_id or uuid.uuid4().hex,
        "conversation_id": item.conversation_id,
        "messages": messages,
        "response": item.response,
        "model": item.model,
        "model_version": item.model_version,
        "prompt_version": item.prompt_version,
        "confidence": item.confidence,
        "latency_ms": item.latency_ms,
        "prompt_tokens": item.prompt_tokens,
        "completion_tokens": item.completion_tokens,
        "metadata": item.metadata,
        "end_user_id": item.end_user_id,
        "created_at": item.created_at or now,
    }


def _persistent(session: Session, pk: int, row: dict[str, Any]) -> Interaction:
    values = {**row, "created_at": row["created_at"].astimezone(UTC)}
    interaction = Interaction(id=pk, meta=values.pop("metadata"), **values)
    make_transient_to_detached(interaction)
    session.add(interaction)  # persistent, as if loaded: identity-mapped, nothing to flush
    return interaction


@dataclass(frozen=True, slots=True)
class Logged:
    """One item of a batch as stored: our id, the caller's id, the stored end user and whether it is new."""

    id: int
    external_id: str
    end_user_id: str | None
    created: bool


_IT = Interaction.__table__
_EXISTING = select(_IT.c.id, _IT.c.external_id, _IT.c.end_user_id).where(
    _IT.c.project_id == bindparam("pid"), _IT.c.external_id.in_(bindparam("ext", expanding=True)))
_ID_BY_EXTERNAL = select(_IT.c.id).where(_IT.c.project_id == bindparam("pid"), _IT.c.external_id == bindparam("ext"))


def _prepare(project_id: int, items: Sequence[InteractionCreate]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    now = utcnow()
    rows: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for item in items:
        row = _row(project_id, item, now, _message_dicts(item.messages))
        order.append(row["external_id"])
        rows.setdefault(row["external_id"], row)  # a repeated id inside one batch counts once
    return rows, order


def record_batch(session: Session, project_id: int, items: Sequence[InteractionCreate]) -> list[Logged]:
    """Like `record_interactions`, without ORM objects: what a batch answer needs, in request order.

    Routing objects are only built when the project has enabled rules that can match on arrival.
    """
    rows, order = _prepare(project_id, items)
    created_ids = bulk_insert.insert_interactions(session, list(rows.values()))
    stored = {ext: Logged(pk, ext, rows[ext]["end_user_id"], True) for ext, pk in created_ids.items()}
    existing = [ext for ext in rows if ext not in created_ids]
    for start in range(0, len(existing), 900):
        for pk, ext, user in session.connection().execute(
                _EXISTING, {"pid": project_id, "ext": existing[start:start + 900]}):
            stored[ext] = Logged(pk, ext, user, False)
    if created_ids and routing.applicable_rules(session, project_id, "interaction"):
        routing.on_interactions(session, project_id,
                                [_persistent(session, pk, rows[ext]) for ext, pk in created_ids.items()])
    seen: set[str] = set()
    results = []
    for ext in order:
        logged = stored[ext]
        if logged.created and ext in seen:
            logged = Logged(logged.id, ext, logged.end_user_id, False)
        seen.add(ext)
        results.append(logged)
    return results


def record_interactions(session: Session, project_id: int, items: Sequence[InteractionCreate]) -> list[Recorded]:
    """Insert interactions that do not exist yet; return every item's row in request order.

    Uses INSERT .. ON CONFLICT DO NOTHING, so concurrent duplicate posts never fail and never duplicate.
    Routing rules run on the new ones, so routing decisions commit with them. The caller commits.
    """
    rows, order = _prepare(project_id, items)
    created_ids = bulk_insert.insert_interactions(session, list(rows.values()))
    # Rows this call inserted become persistent objects from the values just written (no read-back: that
    # SELECT and ORM load cost more than the INSERT); only the ones that already existed are read.
    by_ext = {ext: _persistent(session, pk, rows[ext]) for ext, pk in created_ids.items()}
    existing = [ext for ext in rows if ext not in created_ids]
    if existing:
        by_ext.update((i.external_id, i) for i in session.scalars(select(Interaction).where(
            Interaction.project_id == project_id, Interaction.external_id.in_(existing))))
    seen: set[str] = set()
    results = []
    for ext in order:
        created = ext in created_ids and ext not in seen
        seen.add(ext)
        results.append(Recorded(by_ext[ext], created))
    if created_ids:
        routing.on_interactions(session, project_id, [r.interaction for r in results if r.created])
    return results


def id_by_external_id(session: Session, project_id: int, external_id: str) -> int:
    """Our id of an interaction given the caller's id, else NotFound."""
    found = session.connection().execute(_ID_BY_EXTERNAL, {"pid": project_id, "ext": external_id}).scalar()
    if found is None:
        raise NotFound(f"no interaction with external_id {external_id!r}", code="interaction_not_found")
    return found


def get_interaction(session: Session, project_id: int, interaction_id: int) -> Interaction:
    """One interaction of a project, else NotFound."""
    interaction = session.get(Interaction, interaction_id) if 0 < interaction_id < 2**63 else None
    if interaction is None or interaction.project_id != project_id:
        raise NotFound(f"no interaction {interaction_id} in this project", code="interaction_not_found")
    return interaction


def get_by_external_id(session: Session, project_id: int, external_id: str) -> Interaction:
    """One interaction by the caller's id, else NotFound."""
    interaction = session.scalar(select(Interaction).where(
        Interaction.project_id == project_id, Interaction.external_id == external_id))
    if interaction is None:
        raise NotFound(f"no interaction with external_id {external_id!r}", code="interaction_not_found")
    return interaction


def list_interactions(session: Session, project_id: int,
                      filters: InteractionFilters) -> tuple[list[Interaction], str | None]:
    """A page of interactions, newest first, and the cursor of the next page."""
    query = select(Interaction).where(Interaction.project_id == project_id)
    for column, value in (
        (Interaction.conversation_id, filters.conversation_id),
        (Interaction.end_user_id, filters.end_user_id),
        (Interaction.model, filters.model),
        (Interaction.model_version, filters.model_version),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.since:
        query = query.where(Interaction.created_at >= filters.since)
    if filters.until:
        query = query.where(Interaction.created_at < filters.until)
    if filters.cursor:
        at, row_id = decode_cursor(filters.cursor)
        query = query.where(or_(Interaction.created_at < at,
                                and_(Interaction.created_at == at, Interaction.id < row_id)))
    query = query.order_by(Interaction.created_at.desc(), Interaction.id.desc()).limit(filters.limit + 1)
    rows = list(session.scalars(query))
    if len(rows) > filters.limit:
        rows = rows[: filters.limit]
        return rows, encode_cursor(rows[-1].created_at, rows[-1].id)
    return rows, None

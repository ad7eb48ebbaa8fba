"""/api/v1/interactions: log LLM responses (one or a batch), read them back."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from feedback.api.metrics import BATCH_CREATED
from feedback.api.request import parse_body, parse_query, principal
from feedback.api.spec import route
from feedback.db import get_read_session, get_session, run_grouped
from feedback.schemas.interaction import (
    BatchResult,
    InteractionBatch,
    InteractionCreate,
    InteractionCreated,
    InteractionFilters,
    InteractionOut,
    InteractionPage,
)
from feedback.services import interactions
from feedback.services.auth import require_scope
from feedback.services.serializers import interaction_out

bp = Blueprint("interactions", __name__, url_prefix="/api/v1")


def _token(project_id: int, interaction_id: int, end_user_id: str | None) -> str:
    return current_app.extensions["feedback.signer"].mint(project_id, interaction_id, end_user_id)


@route(bp, "/interactions", "POST", summary="Log an interaction", tag="interactions", body=InteractionCreate,
       responses={201: InteractionCreated, 200: InteractionCreated})
def create_interaction():
    """Idempotent by `external_id`: re-sending answers 200 with the stored interaction and a fresh token."""
    caller = principal()
    require_scope(caller, "ingest")
    body = parse_body(InteractionCreate)
    (recorded,) = run_grouped(lambda session: interactions.record_interactions(session, caller.project_id, [body]))
    row = recorded.interaction
    out = interaction_out(row) | {"created": recorded.created,
                                  "feedback_token": _token(row.project_id, row.id, row.end_user_id)}
    return out, 201 if recorded.created else 200


@route(bp, "/interactions/batch", "POST", summary="Log up to 1,000 interactions", tag="interactions",
       body=InteractionBatch, responses={200: BatchResult})
def create_batch():
    """The whole batch is validated first; one transaction writes it. Results keep request order."""
    caller = principal()
    require_scope(caller, "ingest")
    body = parse_body(InteractionBatch)
    session = get_session()
    logged = interactions.record_batch(session, caller.project_id, body.items)
    session.commit()
    tokens = current_app.extensions["feedback.signer"].mint_many(
        caller.project_id, [(r.id, r.end_user_id) for r in logged])
    results = [{"id": r.id, "external_id": r.external_id, "created": r.created, "feedback_token": token}
               for r, token in zip(logged, tokens, strict=True)]
    created = sum(1 for r in logged if r.created)
    request.environ[BATCH_CREATED] = created  # counted by the metrics hook
    return {"results": results, "created": created, "existing": len(logged) - created}


@route(bp, "/interactions/<int:interaction_id>", "GET", summary="Get an interaction", tag="interactions",
       responses={200: InteractionOut})
def get_interaction(interaction_id: int):
    """One interaction of the caller's project."""
    caller = principal()
    require_scope(caller, "ingest")
    return interaction_out(interactions.get_interaction(get_read_session(), caller.project_id, interaction_id))


@route(bp, "/interactions", "GET", summary="List interactions", tag="interactions", query=InteractionFilters,
       responses={200: InteractionPage})
def list_interactions():
    """Newest first, with keyset cursor pagination (`next_cursor`)."""
    caller = principal()
    require_scope(caller, "ingest")
    filters = parse_query(InteractionFilters)
    rows, cursor = interactions.list_interactions(get_read_session(), caller.project_id, filters)
    return {"items": [interaction_out(r) for r in rows], "next_cursor": cursor}

"""Turning outbox items into Label Studio tasks (data + a prediction carrying the model's confidence)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.models import Feedback, Interaction, LabelStudioConnection, OutboxItem
from feedback.services.labelstudio_templates import pairwise_task, review_task


def _feedback_rows(rows: Sequence[Feedback]) -> list[dict[str, Any]]:
    return [{"key": f.key, "score": f.score, "reasons": list(f.reasons or []), "comment": f.comment,
             "correction": f.correction, "end_user_id": f.end_user_id}
            for f in sorted(rows, key=lambda f: f.id) if not f.retracted]


def _extra(item: OutboxItem, interaction: Interaction) -> dict[str, Any]:
    return {"fl_external_id": interaction.external_id,
            "fl_project_id": interaction.project_id, "fl_rule": (item.reason or {}).get("rule"),
            "model": interaction.model, "prompt_version": interaction.prompt_version}


def build_task(item: OutboxItem, interaction: Interaction, feedback: Sequence[Feedback],
               connection: LabelStudioConnection) -> dict[str, Any]:
    """One Label Studio task for `item` in the shape of the connection's template."""
    rows = _feedback_rows(feedback)
    if connection.template == "pairwise":
        corrections = [r["correction"] for r in rows if r.get("correction")]
        alternative = (interaction.meta or {}).get("alternative_response") or (corrections[-1] if corrections
                                                                               else "")
        return pairwise_task(item.id, conversation=interaction.messages or [], response_a=interaction.response,
                             response_b=str(alternative), interaction_id=interaction.id,
                             extra=_extra(item, interaction))
    return review_task(item.id, conversation=interaction.messages or [], response=interaction.response,
                       interaction_id=interaction.id, feedback=rows, confidence=interaction.confidence,
                       model_version=interaction.model_version,
                       extra=_extra(item, interaction), prediction=_selection_prediction(item))


def _selection_prediction(item: OutboxItem) -> tuple[float, str] | None:
    """Items picked by active learning carry the quality model's P(bad) as their prediction score."""
    reason = item.reason or {}
    if item.trigger != "selection" or reason.get("score") is None:
        return None
    return float(reason["score"]), f"quality-{reason.get('model_version') or 'unknown'}"


def build_tasks(session: Session, items: Sequence[OutboxItem],
                connection: LabelStudioConnection) -> list[dict[str, Any]]:
    """Tasks for `items` in order, loading their interactions and end-user feedback in bulk."""
    ids = sorted({item.interaction_id for item in items})
    interactions: dict[int, Interaction] = {}
    feedback: dict[int, list[Feedback]] = defaultdict(list)
    for start in range(0, len(ids), 900):
        part = ids[start:start + 900]
        interactions.update({i.id: i for i in session.scalars(select(Interaction).where(Interaction.id.in_(part)))})
        for row in session.scalars(select(Feedback).where(Feedback.interaction_id.in_(part),
                                                          Feedback.source == "end_user")):
            feedback[row.interaction_id].append(row)
    return [build_task(item, interactions[item.interaction_id], feedback[item.interaction_id], connection)
            for item in items]

"""Model rows to response schemas (explicit, because `metadata` is a reserved attribute on models)."""

from __future__ import annotations

from feedback.models import ApiKey, Feedback, Interaction, Project
from feedback.schemas.feedback import FeedbackOut
from feedback.schemas.interaction import InteractionOut
from feedback.schemas.project import KeyOut, ProjectOut


def interaction_out(row: Interaction) -> dict:
    """An interaction as its JSON response fields."""
    return InteractionOut(
        id=row.id, external_id=row.external_id, conversation_id=row.conversation_id, messages=row.messages,
        response=row.response, model=row.model, model_version=row.model_version,
        prompt_version=row.prompt_version, confidence=row.confidence, latency_ms=row.latency_ms,
        prompt_tokens=row.prompt_tokens, completion_tokens=row.completion_tokens, metadata=row.meta,
        end_user_id=row.end_user_id, created_at=row.created_at,
    ).model_dump(mode="json")


def feedback_out(row: Feedback) -> dict:
    """A feedback's current state as JSON response fields."""
    return FeedbackOut(
        id=row.id, feedback_id=row.feedback_uid, interaction_id=row.interaction_id, revision=row.revision,
        key=row.key, source=row.source, score=row.score, reasons=row.reasons, comment=row.comment,
        correction=row.correction, end_user_id=row.end_user_id, metadata=row.meta, retracted=row.retracted,
        created_at=row.created_at, updated_at=row.updated_at,
    ).model_dump(mode="json")


def project_out(row: Project) -> dict:
    """A project as JSON response fields."""
    return ProjectOut(id=row.id, slug=row.slug, name=row.name, settings=row.settings,
                      created_at=row.created_at).model_dump(mode="json")


def key_out(row: ApiKey) -> dict:
    """A key without its secret."""
    return KeyOut(id=row.id, name=row.name, prefix=row.prefix, scopes=row.scopes,
                  allowed_origins=row.allowed_origins, created_at=row.created_at, expires_at=row.expires_at,
                  revoked_at=row.revoked_at).model_dump(mode="json")

"""Feedback submissions on behalf of a caller: resolve the interaction, enforce what the caller may do."""

from __future__ import annotations

from sqlalchemy.orm import Session

from feedback.errors import Forbidden, ValidationFailed
from feedback.models import Interaction
from feedback.schemas.feedback import FeedbackCreate, FeedbackRetract
from feedback.services import feedback as feedback_service
from feedback.services import interactions, projects
from feedback.services.auth import Principal


def _interaction_for(session: Session, principal: Principal, interaction_id: int | None,
                     external_id: str | None) -> Interaction:
    if principal.kind == "token":
        token_interaction = interactions.get_interaction(session, principal.project_id, principal.interaction_id)
        if interaction_id is not None and interaction_id != token_interaction.id or \
                external_id is not None and external_id != token_interaction.external_id:
            raise Forbidden("this feedback token is for another interaction", code="token_scope")
        return token_interaction
    if interaction_id is not None:
        return interactions.get_interaction(session, principal.project_id, interaction_id)
    if external_id is not None:
        return interactions.get_by_external_id(session, principal.project_id, external_id)
    raise ValidationFailed("interaction_id or interaction_external_id is required with an API key")


def submit(session: Session, principal: Principal, body: FeedbackCreate) -> feedback_service.FeedbackWrite:
    """Validate and store one feedback revision for `principal`; the caller commits."""
    project = projects.get_project(session, principal.project_id)
    interaction = _interaction_for(session, principal, body.interaction_id, body.interaction_external_id)
    end_user_id = body.end_user_id
    if principal.kind == "token":
        if body.end_user_id is not None and principal.end_user_id is not None \
                and body.end_user_id != principal.end_user_id:
            raise Forbidden("this feedback token is for another end user", code="token_scope")
        end_user_id = principal.end_user_id or body.end_user_id
    if principal.is_public and body.source != "end_user":
        raise Forbidden("browser credentials may only send end_user feedback", code="insufficient_scope")
    feedback_service.validate_content(project, body.key, body.score, body.reasons)
    uid = body.feedback_id or feedback_service.default_feedback_uid(interaction.id, body.key, body.source,
                                                                    end_user_id)
    values = {"key": body.key, "source": body.source, "score": body.score, "reasons": body.reasons,
              "comment": body.comment, "correction": body.correction, "end_user_id": end_user_id,
              "metadata": body.metadata, "retracted": False}
    return feedback_service.write_revision(session, project, interaction, uid, body.revision, values)


def retract(session: Session, principal: Principal, uid: str,
            body: FeedbackRetract) -> feedback_service.FeedbackWrite:
    """Retract feedback `uid` for `principal` (a token may only retract feedback on its interaction)."""
    project = projects.get_project(session, principal.project_id)
    current = feedback_service.get_feedback(session, project.id, uid)
    if principal.kind == "token":
        if current.interaction_id != principal.interaction_id:
            raise Forbidden("this feedback token is for another interaction", code="token_scope")
        if principal.end_user_id is not None and current.end_user_id != principal.end_user_id:
            raise Forbidden("this feedback belongs to another end user", code="token_scope")
    interaction = interactions.get_interaction(session, project.id, current.interaction_id)
    return feedback_service.retract(session, project, interaction, uid, body.revision)

"""Feedback submissions on behalf of a caller: resolve the interaction, enforce what the caller may do."""

from __future__ import annotations

from sqlalchemy.orm import Session

from feedback.errors import Forbidden, NotFound, ValidationFailed
from feedback.schemas.feedback import FeedbackCreate, FeedbackRetract
from feedback.services import feedback as feedback_service
from feedback.services import interactions, projects
from feedback.services.auth import Principal


def _target_id(session: Session, principal: Principal, body: FeedbackCreate) -> int:
    if principal.kind == "token":
        return principal.interaction_id
    if body.interaction_id is not None:
        return body.interaction_id
    if body.interaction_external_id is not None:
        return interactions.id_by_external_id(session, principal.project_id, body.interaction_external_id)
    raise ValidationFailed("interaction_id or interaction_external_id is required with an API key")


def submit(session: Session, principal: Principal, body: FeedbackCreate) -> feedback_service.FeedbackWrite:
    """Validate and store one feedback revision for `principal`; the caller commits.

    Reads the project's settings from a 2 s cache and the interaction with the feedback's current state in one
    statement; checks run in the order: project, interaction (404), token scope, end user, source, content.
    """
    project = projects.project_view(session, principal.project_id)
    interaction_id = _target_id(session, principal, body)
    end_user_id = body.end_user_id
    if principal.kind == "token":
        end_user_id = principal.end_user_id or body.end_user_id
    uid = body.feedback_id or feedback_service.default_feedback_uid(interaction_id, body.key, body.source,
                                                                    end_user_id)
    state = feedback_service.load_state(session, project.id, interaction_id, uid)
    if state is None:
        raise NotFound(f"no interaction {interaction_id} in this project", code="interaction_not_found")
    if principal.kind == "token":
        if body.interaction_id is not None and body.interaction_id != interaction_id or \
                body.interaction_external_id is not None \
                and body.interaction_external_id != state.interaction_external_id:
            raise Forbidden("this feedback token is for another interaction", code="token_scope")
        if body.end_user_id is not None and principal.end_user_id is not None \
                and body.end_user_id != principal.end_user_id:
            raise Forbidden("this feedback token is for another end user", code="token_scope")
    if principal.is_public and body.source != "end_user":
        raise Forbidden("browser credentials may only send end_user feedback", code="insufficient_scope")
    feedback_service.validate_content(project, body.key, body.score, body.reasons)
    values = {"key": body.key, "source": body.source, "score": body.score, "reasons": body.reasons,
              "comment": body.comment, "correction": body.correction, "end_user_id": end_user_id,
              "metadata": body.metadata, "retracted": False}
    return feedback_service.write_revision(session, project, interaction_id, uid, body.revision, values,
                                           current=state.current)


def retract(session: Session, principal: Principal, uid: str,
            body: FeedbackRetract) -> feedback_service.FeedbackWrite:
    """Retract feedback `uid` for `principal` (a token may only retract feedback on its interaction)."""
    project = projects.project_view(session, principal.project_id)
    current = feedback_service.get_feedback(session, project.id, uid)
    if principal.kind == "token":
        if current.interaction_id != principal.interaction_id:
            raise Forbidden("this feedback token is for another interaction", code="token_scope")
        if principal.end_user_id is not None and current.end_user_id != principal.end_user_id:
            raise Forbidden("this feedback belongs to another end user", code="token_scope")
    interaction = interactions.get_interaction(session, project.id, current.interaction_id)
    return feedback_service.retract(session, project, interaction, uid, body.revision)

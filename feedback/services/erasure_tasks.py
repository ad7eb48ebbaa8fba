"""Label Studio tasks of other people's interactions that show an erased end user's feedback.

A review task carries the end-user feedback of its interaction as it was when the task was delivered (scores,
reasons, comments, corrections and end-user ids, in `user_feedback` and `fl_feedback`); a pairwise task may
compare the response with an end user's correction. When an end user is erased, their feedback on interactions
of other users goes too, so the tasks of those interactions are brought in line:

- a review task's data is rebuilt from the feedback that remains and updated in place (its annotations judge
  the response, which has not changed);
- a pairwise task of an interaction the user corrected is deleted with its outbox item, since its second
  response may be the user's text; the interaction can be routed again.

Run it inside the erasure's transaction after the user's feedback rows are deleted, so rebuilt tasks no longer
see them; a Label Studio failure raises `LabelStudioError` and the caller rolls everything back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from feedback.models import Feedback, LabelStudioConnection, OutboxItem
from feedback.models.annotation import LSAnnotationRecord
from feedback.services.labelstudio_client import LabelStudioClient
from feedback.services.outbox_tasks import build_tasks

CHUNK = 500


@dataclass
class ForeignFeedback:
    """The interactions (not erased themselves) that carried the erased user's feedback."""

    interactions: set[int] = field(default_factory=set)
    corrected: set[int] = field(default_factory=set)  # those the user gave a correction on
    corrections: dict[int, set[str]] = field(default_factory=dict)  # the texts of those corrections


def foreign_feedback(session: Session, project_id: int, uids: Iterable[str],
                     erased_interactions: Iterable[int]) -> ForeignFeedback:
    """Read before the rows are deleted: which other interactions the erased feedback was on."""
    found, erased, wanted = ForeignFeedback(), set(erased_interactions), list(uids)
    for start in range(0, len(wanted), CHUNK):
        for interaction_id, correction in session.execute(select(Feedback.interaction_id, Feedback.correction).where(
                Feedback.project_id == project_id, Feedback.feedback_uid.in_(wanted[start:start + CHUNK]))):
            if interaction_id not in erased:
                found.interactions.add(interaction_id)
                if correction:
                    found.corrected.add(interaction_id)
                    found.corrections.setdefault(interaction_id, set()).add(correction)
    return found


def drop_compared_annotations(session: Session, project_id: int, foreign: ForeignFeedback) -> int:
    """Delete stored pairwise annotations whose compared response is one of the erased user's corrections.

    A pairwise task may have shown the correction as its second response; the annotation row keeps that text
    (`compared_response`) after the task is gone, so it goes too. Returns how many rows were deleted.
    """
    ids = sorted(foreign.corrections)
    doomed: list[int] = []
    for start in range(0, len(ids), CHUNK):
        for row_id, interaction_id, compared in session.execute(select(
                LSAnnotationRecord.id, LSAnnotationRecord.interaction_id, LSAnnotationRecord.compared_response).where(
                LSAnnotationRecord.project_id == project_id, LSAnnotationRecord.interaction_id.in_(
                    ids[start:start + CHUNK]), LSAnnotationRecord.compared_response.is_not(None))):
            if compared in foreign.corrections.get(interaction_id, ()):
                doomed.append(row_id)
    for start in range(0, len(doomed), CHUNK):
        session.execute(delete(LSAnnotationRecord).where(LSAnnotationRecord.id.in_(doomed[start:start + CHUNK])))
    return len(doomed)


def scrub_tasks(session: Session, project_id: int, foreign: ForeignFeedback,
                client_for: Callable[[LabelStudioConnection], LabelStudioClient]) -> tuple[int, dict[str, int]]:
    """Rewrite review tasks and delete corrected pairwise tasks of `foreign` interactions (see the module).

    Returns (review tasks rewritten, pairwise tasks deleted per `<connection>#<LS project>`).
    """
    by_connection: dict[int, list[OutboxItem]] = defaultdict(list)
    ids = sorted(foreign.interactions)
    for start in range(0, len(ids), CHUNK):
        for item in session.scalars(select(OutboxItem).where(
                OutboxItem.project_id == project_id, OutboxItem.interaction_id.in_(ids[start:start + CHUNK]),
                OutboxItem.ls_task_id.is_not(None)).order_by(OutboxItem.id)):
            by_connection[item.connection_id].append(item)
    rewritten, deleted = 0, {}
    for connection_id, items in sorted(by_connection.items()):
        connection = session.get(LabelStudioConnection, connection_id)
        if connection is None:
            continue
        client = client_for(connection)
        if connection.template == "pairwise":
            doomed = [item for item in items if item.interaction_id in foreign.corrected]
            if doomed:
                deleted[f"{connection.name}#{connection.ls_project_id}"] = client.delete_items(
                    connection.ls_project_id, [item.id for item in doomed])
                session.execute(delete(OutboxItem).where(OutboxItem.id.in_([item.id for item in doomed])))
            continue
        for item, task in zip(items, build_tasks(session, items, connection), strict=True):
            client.update_task_data(item.ls_task_id, task["data"])
            rewritten += 1
    return rewritten, deleted

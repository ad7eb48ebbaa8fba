"""Agreement over stored Label Studio annotations: between annotators, and end users versus annotators.

``verdict_agreement`` counts good/bad verdicts per task (live annotations only), gives Fleiss' kappa and
Krippendorff's alpha over tasks with two or more verdicts, and lists the tasks annotators disagree on (the
candidates for adjudication). ``end_user_agreement`` reports, per model version, how often an end user's
thumbs matches the annotators' majority verdict on the same interaction (ties are left out).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.models import Feedback, Interaction, LSAnnotationRecord
from feedback.services.agreement import AgreementError, fleiss_kappa, krippendorff_alpha

VERDICTS = ("good", "bad")


def _live_verdicts(session: Session, project_id: int, connection_id: int | None = None):
    query = select(LSAnnotationRecord.connection_id, LSAnnotationRecord.ls_task_id,
                   LSAnnotationRecord.interaction_id, LSAnnotationRecord.verdict).where(
        LSAnnotationRecord.project_id == project_id, LSAnnotationRecord.deleted.is_(False),
        LSAnnotationRecord.was_cancelled.is_(False), LSAnnotationRecord.verdict.in_(VERDICTS))
    if connection_id is not None:
        query = query.where(LSAnnotationRecord.connection_id == connection_id)
    return session.execute(query).all()


def verdict_agreement(session: Session, project_id: int, connection_id: int | None = None) -> dict[str, Any]:
    """Fleiss' kappa and Krippendorff's alpha of annotator verdicts, and the tasks they disagree on."""
    per_task: dict[tuple[int, int | None], list[int]] = defaultdict(lambda: [0, 0])
    interaction_of: dict[tuple[int, int | None], int | None] = {}
    for conn, task, interaction, verdict in _live_verdicts(session, project_id, connection_id):
        per_task[(conn, task)][VERDICTS.index(verdict)] += 1
        interaction_of[(conn, task)] = interaction
    multi = {key: votes for key, votes in per_task.items() if sum(votes) >= 2}
    report: dict[str, Any] = {"tasks": len(per_task), "tasks_with_overlap": len(multi), "fleiss_kappa": None,
                              "krippendorff_alpha": None, "disagreements": []}
    if multi:
        matrix = np.array(list(multi.values()), dtype=float)
        try:
            report["fleiss_kappa"] = fleiss_kappa(matrix)
            report["krippendorff_alpha"] = krippendorff_alpha(matrix)
        except AgreementError:
            pass  # every verdict identical: chance-corrected agreement is undefined
    report["disagreements"] = [
        {"connection_id": conn, "ls_task_id": task, "interaction_id": interaction_of[(conn, task)],
         "good": votes[0], "bad": votes[1]}
        for (conn, task), votes in sorted(multi.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0))
        if votes[0] and votes[1]
    ]
    return report


def end_user_agreement(session: Session, project_id: int, key: str = "helpfulness") -> list[dict[str, Any]]:
    """Per model version: pairs of (end-user thumbs, annotators' majority verdict) and how often they agree."""
    majority: dict[int, str] = {}
    tallies: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for _conn, _task, interaction, verdict in _live_verdicts(session, project_id):
        if interaction is not None:
            tallies[interaction][VERDICTS.index(verdict)] += 1
    for interaction, (good, bad) in tallies.items():
        if good != bad:
            majority[interaction] = "good" if good > bad else "bad"
    if not majority:
        return []
    rows = session.execute(
        select(Feedback.interaction_id, Feedback.score, Interaction.model_version)
        .join(Interaction, Interaction.id == Feedback.interaction_id)
        .where(Feedback.project_id == project_id, Feedback.source == "end_user", Feedback.key == key,
               Feedback.retracted.is_(False), Feedback.score.is_not(None),
               Feedback.interaction_id.in_(list(majority)))
    ).all()
    by_version: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    for interaction, score, version in rows:
        thumbs = "good" if score > 0 else "bad"
        by_version[version][0] += 1
        by_version[version][1] += int(thumbs == majority[interaction])
    return [{"model_version": version, "pairs": pairs, "agreed": agreed, "rate": agreed / pairs}
            for version, (pairs, agreed) in sorted(by_version.items(), key=lambda kv: str(kv[0]))]

"""Reading what a selection cycle needs from the database: labels, thumbs, the unlabelled pool, raw inputs.

- annotator labels: non-retracted `source = "annotator"` feedback with a score; an interaction is "bad" when
  the majority of its annotator scores are below the middle of their key's scale (thumbs: -1).
- thumbs: the same for `source = "end_user"` feedback, counted as downs and ups per interaction (weak labels).
- pool: the project's interactions with no annotator feedback at all, no routing-outbox item on any
  connection, and not picked by an earlier selection run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.models import Feedback, Interaction, OutboxItem, Project, SelectionItem
from feedback.services.selection.features import FeatureInput

CHUNK = 900  # below SQLite's bound-parameter limit


def is_bad(spec: dict[str, Any] | None, score: float) -> bool:
    """Whether a score means "bad / needs review" under its key's declared scale (unknown keys: score < 0)."""
    if spec is None or spec.get("type") == "thumbs":
        return score < 0
    middle = (float(spec["min"]) + float(spec["max"])) / 2.0
    return score < middle


@dataclass
class ProjectSignals:
    """Annotator labels (id -> 0/1), thumbs counts, every annotated id, and ids already queued or selected."""

    strong: dict[int, int] = field(default_factory=dict)
    thumbs_down: dict[int, int] = field(default_factory=dict)
    thumbs_up: dict[int, int] = field(default_factory=dict)
    annotated: set[int] = field(default_factory=set)
    queued: set[int] = field(default_factory=set)
    selected_before: set[int] = field(default_factory=set)

    def weak(self) -> dict[int, int]:
        """Thumbs as weak labels: 1 (bad) when an item has more downs than ups, 0 when more ups; ties dropped."""
        out = {}
        for i in set(self.thumbs_down) | set(self.thumbs_up):
            d, u = self.thumbs_down.get(i, 0), self.thumbs_up.get(i, 0)
            if d != u:
                out[i] = int(d > u)
        return out


def load_signals(session: Session, project: Project) -> ProjectSignals:
    """Labels, thumbs and exclusions of one project, each read with one query."""
    keys = (project.settings or {}).get("feedback_keys", {})
    signals = ProjectSignals()
    votes: dict[int, list[int]] = defaultdict(list)
    rows = session.execute(select(Feedback.interaction_id, Feedback.source, Feedback.key, Feedback.score).where(
        Feedback.project_id == project.id, Feedback.retracted.is_(False),
        Feedback.source.in_(("annotator", "end_user"))))
    for interaction_id, source, key, score in rows:
        if source == "annotator":
            signals.annotated.add(interaction_id)
            if score is not None:
                votes[interaction_id].append(int(is_bad(keys.get(key), score)))
        elif score is not None:
            target = signals.thumbs_down if is_bad(keys.get(key), score) else signals.thumbs_up
            target[interaction_id] = target.get(interaction_id, 0) + 1
    signals.strong = {i: int(sum(v) * 2 >= len(v)) for i, v in votes.items()}
    signals.queued = set(session.scalars(select(OutboxItem.interaction_id).where(
        OutboxItem.project_id == project.id).distinct()))
    signals.selected_before = set(session.scalars(select(SelectionItem.interaction_id).where(
        SelectionItem.project_id == project.id).distinct()))
    return signals


def pool_ids(session: Session, project_id: int, signals: ProjectSignals, limit: int | None = None) -> np.ndarray:
    """Ids (ascending) of the project's interactions that are unlabelled, unqueued and never selected."""
    ids = np.fromiter(session.scalars(select(Interaction.id).where(Interaction.project_id == project_id)
                                      .order_by(Interaction.id)), dtype=np.int64)
    exclude = signals.annotated | signals.queued | signals.selected_before
    if exclude:
        ids = ids[~np.isin(ids, np.fromiter(exclude, dtype=np.int64, count=len(exclude)))]
    return ids[:limit] if limit is not None else ids


def _prompt(messages: Iterable[dict[str, Any]] | None) -> str:
    return "\n".join(f"{m.get('role', '')}: {m.get('content', '')}" for m in (messages or [])
                     if isinstance(m, dict))


def fetch_inputs(session: Session, project_id: int, ids: np.ndarray) -> FeatureInput:
    """Raw inputs of the given interactions, in the order of `ids` (for the feature cache)."""
    found: dict[int, Interaction] = {}
    wanted = [int(i) for i in ids]
    for start in range(0, len(wanted), CHUNK):
        part = wanted[start:start + CHUNK]
        found.update({row.id: row for row in session.scalars(select(Interaction).where(
            Interaction.project_id == project_id, Interaction.id.in_(part)))})
    missing = [i for i in wanted if i not in found]
    if missing:
        raise KeyError(f"interactions not in project {project_id}: {missing[:5]}")
    rows = [found[i] for i in wanted]
    return FeatureInput(
        prompts=[_prompt(r.messages) for r in rows],
        responses=[r.response or "" for r in rows],
        confidences=[r.confidence for r in rows],
        model_versions=[f"{r.model or ''}:{r.model_version or ''}" for r in rows],
    )

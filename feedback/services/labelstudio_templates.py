"""Built-in Label Studio labelling configs and the task payloads that match them.

Two templates ship in ``feedback/labelstudio_configs/``:

- ``response_review``: the conversation as a dialogue, the response, the end user's feedback, a good/bad
  verdict, a 1-5 rating, reason choices built from the project's reason taxonomy, a corrected response.
- ``pairwise``: the conversation and two responses to choose between.

A third kind, ``custom``, is caller-supplied XML that Label Studio itself validates.
Every task carries our outbox item id as ``data.fl_item_id`` (a string), which is how retries find tasks
that already exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from typing import Any
from xml.sax.saxutils import quoteattr

BUILTIN_TEMPLATES = ("response_review", "pairwise")
TEMPLATE_KINDS = (*BUILTIN_TEMPLATES, "custom")
ITEM_ID_FIELD = "fl_item_id"
INTERACTION_ID_FIELD = "fl_interaction_id"
DEFAULT_REASONS: tuple[dict[str, str], ...] = (
    {"id": "incorrect", "label": "Incorrect or made up"},
    {"id": "unhelpful", "label": "Does not answer the question"},
    {"id": "unsafe", "label": "Unsafe or offensive"},
    {"id": "style", "label": "Tone, length or format"},
)


class TemplateError(ValueError):
    """An unknown template name or an unusable reason taxonomy."""


def _reason_pairs(reasons: Iterable[Mapping[str, Any] | str] | None) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for reason in reasons if reasons is not None else DEFAULT_REASONS:
        if isinstance(reason, str):
            reason_id, label = reason, reason
        else:
            reason_id = str(reason.get("id") or "").strip()
            labels = reason.get("labels") if isinstance(reason.get("labels"), Mapping) else {}
            label = str(reason.get("label") or labels.get("en") or reason_id).strip()
        if not reason_id:
            raise TemplateError("every reason needs a non-empty id")
        if reason_id in seen:
            raise TemplateError(f"duplicate reason id {reason_id!r}")
        seen.add(reason_id)
        pairs.append((reason_id, label))
    if not pairs:
        raise TemplateError("the reason taxonomy is empty; the review template needs at least one reason")
    return pairs


def render_label_config(template: str, reasons: Iterable[Mapping[str, Any] | str] | None = None) -> str:
    """Return the XML of a built-in template; ``response_review`` gets one choice per reason (alias = id)."""
    if template not in BUILTIN_TEMPLATES:
        known = ", ".join(BUILTIN_TEMPLATES)
        raise TemplateError(f"unknown template {template!r}; built-in ones are {known}")
    xml = resources.files("feedback").joinpath("labelstudio_configs", f"{template}.xml").read_text("utf-8")
    if template == "response_review":
        choices = "\n".join(
            f"    <Choice value={quoteattr(label)} alias={quoteattr(reason_id)}/>"
            for reason_id, label in _reason_pairs(reasons)
        )
        xml = xml.replace("{reason_choices}", choices)
    return xml


def describe_user_feedback(feedback: Sequence[Mapping[str, Any]]) -> str:
    """Summarise end-user feedback rows (score, reasons, comment) as one readable line per row."""
    lines = []
    for row in feedback:
        score = row.get("score")
        if score is None:
            head = "no score"
        elif row.get("key", "helpfulness") == "helpfulness" and score in (-1, 1):
            head = "thumbs up" if score == 1 else "thumbs down"
        else:
            head = f"{row.get('key', 'score')}: {score}"
        parts = [head]
        if row.get("reasons"):
            parts.append("reasons: " + ", ".join(str(r) for r in row["reasons"]))
        if row.get("comment"):
            parts.append(f"comment: {row['comment']}")
        if row.get("correction"):
            parts.append(f"suggested: {row['correction']}")
        lines.append("; ".join(parts))
    return "\n".join(lines) if lines else "(no end-user feedback)"


def _prediction(confidence: float | None, model_version: str | None) -> list[dict[str, Any]]:
    if confidence is None:
        return []
    return [{"model_version": model_version or "unknown", "score": float(confidence), "result": []}]


def review_task(
    item_id: int | str,
    *,
    conversation: Sequence[Mapping[str, Any]],
    response: str,
    interaction_id: int | None = None,
    feedback: Sequence[Mapping[str, Any]] = (),
    confidence: float | None = None,
    model_version: str | None = None,
    extra: Mapping[str, Any] | None = None,
    prediction: tuple[float, str] | None = None,
) -> dict[str, Any]:
    """Build a ``response_review`` task: data plus a prediction whose score is the model's confidence.

    ``prediction`` (score, model version) overrides that score, e.g. with the active-learning quality
    model's P(bad) for items it selected.
    """
    data: dict[str, Any] = {
        **(extra or {}),
        ITEM_ID_FIELD: str(item_id),
        INTERACTION_ID_FIELD: interaction_id,
        "conversation": [
            {"role": str(m.get("role", "user")), "content": str(m.get("content", ""))} for m in conversation
        ],
        "response": response,
        "user_feedback": describe_user_feedback(feedback),
        "fl_feedback": [dict(row) for row in feedback],
        "model_version": model_version,
        "confidence": confidence,
    }
    scored = _prediction(*prediction) if prediction else _prediction(confidence, model_version)
    return {"data": data, "predictions": scored}


def pairwise_task(
    item_id: int | str,
    *,
    conversation: Sequence[Mapping[str, Any]],
    response_a: str,
    response_b: str,
    interaction_id: int | None = None,
    interaction_b_id: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build a ``pairwise`` task comparing two responses to the same conversation."""
    data = {
        **(extra or {}),
        ITEM_ID_FIELD: str(item_id),
        INTERACTION_ID_FIELD: interaction_id,
        "fl_interaction_b_id": interaction_b_id,
        "conversation": [
            {"role": str(m.get("role", "user")), "content": str(m.get("content", ""))} for m in conversation
        ],
        "response_a": response_a,
        "response_b": response_b,
    }
    return {"data": data, "predictions": []}

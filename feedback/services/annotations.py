"""Validate Label Studio webhook payloads and normalise annotations into feedback-loop's shape.

A normalised annotation has ``verdict`` (good/bad), ``rating``, ``reasons`` (reason ids), ``corrected_text``,
``preference`` (a/b for pairwise) with ``compared_response`` (the task's ``response_b``), ``annotator_id``,
``lead_time``, ``was_cancelled`` and the ``raw`` result list, plus the ids that locate it (annotation, task,
Label Studio project, our item id from task data).
Controls are recognised by the names used in our built-in templates first and by control type otherwise,
so custom configs that use standard tags still normalise.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from feedback.services.labelstudio_templates import ITEM_ID_FIELD

WebhookAction = Literal["ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED"]
VERDICTS = frozenset({"good", "bad"})
_PAIRWISE = {"left": "a", "right": "b", "a": "a", "b": "b"}


class AnnotationPayloadError(ValueError):
    """A webhook body or annotation object that cannot be understood; ``details`` lists the problems."""

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.details = details or []


# Label Studio ids are stored in INTEGER columns: a larger value is a malformed payload, not a database error.
LsId = Annotated[int, Field(ge=0, le=2**31 - 1)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class ResultItem(BaseModel):
    """One region/control result inside an annotation."""

    model_config = ConfigDict(extra="allow")
    from_name: str
    to_name: str | None = None
    type: str
    value: dict[str, Any]


class LSAnnotation(BaseModel):
    """The annotation object Label Studio sends (and the SDK returns)."""

    model_config = ConfigDict(extra="allow")
    id: LsId
    result: list[ResultItem] = Field(default_factory=list)
    was_cancelled: bool = False
    ground_truth: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    lead_time: Finite | None = None
    completed_by: LsId | None = None
    task: LsId | None = None
    project: LsId | None = None

    @field_validator("completed_by", mode="before")
    @classmethod
    def _user_id(cls, value: Any) -> Any:
        return value.get("id") if isinstance(value, Mapping) else value

    @field_validator("result", mode="before")
    @classmethod
    def _null_result(cls, value: Any) -> Any:
        return [] if value is None else value


class LSTask(BaseModel):
    """The task object inside a webhook payload (no predictions)."""

    model_config = ConfigDict(extra="allow")
    id: LsId
    data: dict[str, Any] = Field(default_factory=dict)
    project: LsId | None = None


class DeletedRef(BaseModel):
    """An annotation id listed by ANNOTATIONS_DELETED."""

    model_config = ConfigDict(extra="allow")
    id: LsId


class WebhookEvent(BaseModel):
    """A validated webhook body for the three annotation actions we subscribe to."""

    model_config = ConfigDict(extra="allow")
    action: WebhookAction
    annotation: LSAnnotation | None = None
    task: LSTask | None = None
    annotations: list[DeletedRef] | None = None
    project: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _parts_for_action(self) -> WebhookEvent:
        """Require the parts each action needs."""
        if self.action == "ANNOTATIONS_DELETED":
            if self.annotations is None:
                raise ValueError("ANNOTATIONS_DELETED needs an 'annotations' list")
        elif self.annotation is None or self.task is None:
            raise ValueError(f"{self.action} needs 'annotation' and 'task' objects")
        return self

    @property
    def project_id(self) -> int | None:
        """The Label Studio project id, from whichever part carries it."""
        if self.project and isinstance(self.project.get("id"), int):
            return self.project["id"]
        if self.annotation and self.annotation.project is not None:
            return self.annotation.project
        return self.task.project if self.task else None


class NormalisedAnnotation(BaseModel):
    """Label Studio's annotation in feedback-loop terms."""

    annotation_id: int
    task_id: int | None
    ls_project_id: int | None
    item_id: str | None
    verdict: Literal["good", "bad"] | None = None
    rating: float | None = None
    reasons: list[str] = Field(default_factory=list)
    corrected_text: str | None = None
    preference: Literal["a", "b"] | None = None
    compared_response: str | None = None
    annotator_id: int | None = None
    lead_time: float | None = None
    was_cancelled: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: list[dict[str, Any]] = Field(default_factory=list)


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]


def parse_webhook(body: bytes | str | Mapping[str, Any]) -> WebhookEvent:
    """Validate a webhook body (raw JSON or parsed); raise :class:`AnnotationPayloadError` when malformed."""
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise AnnotationPayloadError("webhook body is not valid JSON") from exc
    if not isinstance(body, Mapping):
        raise AnnotationPayloadError("webhook body must be a JSON object")
    try:
        return WebhookEvent.model_validate(body)
    except ValidationError as exc:
        raise AnnotationPayloadError("webhook payload is malformed", _errors(exc)) from exc


def _text(value: dict[str, Any]) -> str | None:
    text = value.get("text")
    if isinstance(text, list):
        parts = [str(t) for t in text if str(t).strip()]
        return "\n".join(parts) if parts else None
    return str(text) if text else None


def _rating(value: Any) -> float:
    """A rating control's value: a finite number (bools and numeric strings are not ratings)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AnnotationPayloadError("a rating must be a finite number", [{"field": "value.rating",
                                                                            "message": f"got {value!r}"[:200]}])
    return float(value)


def _apply(out: dict[str, Any], item: ResultItem) -> None:
    kind, name, value = item.type.lower(), item.from_name, item.value
    if kind == "choices":
        raw_choices = value.get("choices", [])
        if not isinstance(raw_choices, list):
            raise AnnotationPayloadError("choices must be a list", [{"field": "value.choices",
                                                                     "message": f"got {type(raw_choices).__name__}"}])
        choices = [str(c) for c in raw_choices]
        is_verdict = name == "verdict" or (name != "reasons" and choices and set(choices) <= VERDICTS)
        if is_verdict and choices:
            out["verdict"] = choices[0] if choices[0] in VERDICTS else None
        else:
            out["reasons"].extend(c for c in choices if c not in out["reasons"])
    elif kind == "rating" and value.get("rating") is not None:
        out["rating"] = _rating(value["rating"])
    elif kind == "textarea":
        out["corrected_text"] = _text(value)
    elif kind == "pairwise":
        out["preference"] = _PAIRWISE.get(str(value.get("selected", "")).lower())


def normalise_annotation(
    annotation: LSAnnotation | Mapping[str, Any] | Any, task: LSTask | Mapping[str, Any] | None = None
) -> NormalisedAnnotation:
    """Normalise an annotation (webhook object, SDK model or dict) with its task (for our item id)."""
    try:
        if not isinstance(annotation, LSAnnotation):
            if hasattr(annotation, "model_dump"):
                annotation = annotation.model_dump(mode="json")
            annotation = LSAnnotation.model_validate(annotation)
        if task is not None and not isinstance(task, LSTask):
            raw_task = task.model_dump(mode="json") if hasattr(task, "model_dump") else task
            task = LSTask.model_validate(raw_task)
    except ValidationError as exc:
        raise AnnotationPayloadError("annotation is malformed", _errors(exc)) from exc
    out: dict[str, Any] = {"reasons": []}
    if not annotation.was_cancelled:
        for item in annotation.result:
            _apply(out, item)
    item_id = task.data.get(ITEM_ID_FIELD) if task is not None else None
    if out.get("preference") and task is not None and isinstance(task.data.get("response_b"), str):
        out["compared_response"] = task.data["response_b"]  # what response_a (the interaction's) was compared with
    task_project = task.project if task is not None else None
    return NormalisedAnnotation(
        annotation_id=annotation.id,
        task_id=annotation.task if annotation.task is not None else (task.id if task else None),
        ls_project_id=annotation.project if annotation.project is not None else task_project,
        item_id=str(item_id) if item_id is not None else None,
        annotator_id=annotation.completed_by,
        lead_time=annotation.lead_time,
        was_cancelled=annotation.was_cancelled,
        created_at=annotation.created_at,
        updated_at=annotation.updated_at,
        raw=[item.model_dump(mode="json") for item in annotation.result],
        **out,
    )


def normalise_task_annotations(task: Mapping[str, Any]) -> list[NormalisedAnnotation]:
    """Normalise every annotation of a task as returned by ``iter_annotated_tasks`` (reconciliation)."""
    parsed = LSTask.model_validate(task)
    return [normalise_annotation(annotation, parsed) for annotation in task.get("annotations") or []]

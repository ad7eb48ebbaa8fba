"""The widget's view of a project's settings: reasons split by thumb with labels in one language."""

from __future__ import annotations

from typing import Any

from feedback.models import Project
from feedback.schemas.widget import ReasonChip, WidgetConfig, WidgetReasons


def label_for(labels: dict[str, str], lang: str, fallback: str) -> str:
    """The label for `lang`: exact, then its base language, then English, then any, then `fallback`."""
    lowered = {k.lower(): v for k, v in labels.items()}
    lang = lang.lower()
    for candidate in (lang, lang.split("-")[0], "en"):
        if lowered.get(candidate):
            return lowered[candidate]
    return next(iter(lowered.values()), fallback)


def widget_config(project: Project, lang: str) -> WidgetConfig:
    """Build the public widget configuration of `project` for `lang`."""
    settings: dict[str, Any] = project.settings or {}
    positive: list[ReasonChip] = []
    negative: list[ReasonChip] = []
    for reason in settings.get("reasons", []):
        chip = ReasonChip(id=reason["id"], label=label_for(reason.get("labels", {}), lang, reason["id"]))
        polarity = reason.get("polarity", "negative")
        if polarity in ("positive", "any"):
            positive.append(chip)
        if polarity in ("negative", "any"):
            negative.append(chip)
    keys = settings.get("feedback_keys", {})
    scales = {name: (float(spec["min"]), float(spec["max"])) for name, spec in keys.items()
              if spec.get("type") in ("rating", "score") and spec.get("min") is not None
              and spec.get("max") is not None}
    return WidgetConfig(lang=lang, reasons=WidgetReasons(positive=positive, negative=negative),
                        keys={name: spec.get("type", "thumbs") for name, spec in keys.items()}, scales=scales)

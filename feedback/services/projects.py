"""Projects: creation with a default taxonomy, lookup and settings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from feedback.errors import Conflict, NotFound, ValidationFailed
from feedback.models import Project
from feedback.schemas.project import ProjectSettings
from feedback.services import hotcache, keys

SLUG_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")
_POSITIVE = {
    "accurate_information": "Accurate information",
    "followed_instructions_perfectly": "Followed instructions",
    "thorough_explanation": "Thorough explanation",
    "attention_to_detail": "Attention to detail",
}
_NEGATIVE = {
    "not_factually_correct": "Not factually correct",
    "didnt_fully_follow_instructions": "Didn't follow instructions",
    "not_helpful": "Not helpful",
    "too_verbose": "Too verbose",
    "refused_when_it_shouldnt_have": "Refused when it shouldn't have",
    "dont_like_the_style": "Don't like the style",
}


def default_settings() -> dict[str, Any]:
    """Settings of a new project: a thumbs key, a 1-5 rating key and Open WebUI's stable reason ids."""
    reasons = [{"id": rid, "labels": {"en": label}, "polarity": "positive"} for rid, label in _POSITIVE.items()]
    reasons += [{"id": rid, "labels": {"en": label}, "polarity": "negative"} for rid, label in _NEGATIVE.items()]
    reasons.append({"id": "other", "labels": {"en": "Other"}, "polarity": "any"})
    return {
        "feedback_keys": {
            "helpfulness": {"type": "thumbs", "description": "Thumbs up (1) or down (-1)"},
            "rating": {"type": "rating", "min": 1, "max": 5, "description": "1 (worst) to 5 (best)"},
        },
        "reasons": reasons,
        "allowed_origins": [],
        "retention_days": None,
        "extra": {},
    }


def validate_settings(raw: dict[str, Any]) -> dict[str, Any]:
    """Validate settings and normalise origins; raises ValidationFailed with pydantic's details."""
    try:
        parsed = ProjectSettings.model_validate(raw)
    except ValidationError as exc:
        raise ValidationFailed("invalid project settings",
                               details=exc.errors(include_url=False, include_context=False)) from exc
    data = parsed.model_dump(mode="json")
    data["allowed_origins"] = sorted({keys.normalise_origin(o) for o in parsed.allowed_origins})
    return data


def create_project(session: Session, slug: str, name: str,
                   settings: dict[str, Any] | None = None) -> tuple[Project, keys.IssuedKey]:
    """Create a project and its first admin key; the caller commits."""
    if not SLUG_PATTERN.fullmatch(slug):
        raise ValidationFailed(f"invalid project slug {slug!r}",
                               details={"pattern": SLUG_PATTERN.pattern, "max_length": 64})
    if not 1 <= len(name) <= 200:
        raise ValidationFailed("a project name needs 1 to 200 characters")
    merged = default_settings() | (settings or {})
    project = Project(slug=slug, name=name, settings=validate_settings(merged))
    session.add(project)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"a project with slug {slug!r} already exists") from exc
    admin = keys.create_key(session, project.id, "admin", ["admin"])
    return project, admin


def get_project(session: Session, project_id: int) -> Project:
    """A project by id, else NotFound."""
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"no project {project_id}")
    return project


@dataclass(frozen=True, slots=True)
class ProjectView:
    """A project's id and settings as a snapshot for the ingest hot path (treat `settings` as read-only)."""

    id: int
    settings: dict[str, Any]


# Settings are read by every feedback write: cached per process for at most 2 s (dropped at once, and again at
# commit, when this process updates the project; other processes see an update within 2 s).
SETTINGS_CACHE = hotcache.TTLCache("project_settings")
_SETTINGS = select(Project.id, Project.settings).where(Project.id == bindparam("pid"))


def project_view(session: Session, project_id: int) -> ProjectView:
    """The project's id and settings (cached, see SETTINGS_CACHE), else NotFound."""
    def load() -> ProjectView | None:
        row = session.connection().execute(_SETTINGS, {"pid": project_id}).first()
        return ProjectView(row.id, row.settings or {}) if row is not None else None

    view = SETTINGS_CACHE.get_or_load(session, project_id, load)
    if view is None:
        raise NotFound(f"no project {project_id}")
    return view


def get_project_by_slug(session: Session, slug: str) -> Project:
    """A project by slug, else NotFound."""
    project = session.scalar(select(Project).where(Project.slug == slug))
    if project is None:
        raise NotFound(f"no project {slug!r}")
    return project


def update_project(session: Session, project: Project, name: str | None = None,
                   settings: dict[str, Any] | None = None) -> Project:
    """Rename a project or replace its settings (validated); the caller commits."""
    if name is not None:
        project.name = name
    if settings is not None:
        project.settings = validate_settings(settings)
        hotcache.invalidate(session, SETTINGS_CACHE, project.id)
    return project


def feedback_key_spec(project: Project | ProjectView, key: str) -> dict[str, Any] | None:
    """The declared spec of a feedback key, or None when the project does not declare it."""
    return (project.settings or {}).get("feedback_keys", {}).get(key)


def reason_ids(project: Project | ProjectView) -> set[str]:
    """The ids of the project's reason taxonomy."""
    return {reason["id"] for reason in (project.settings or {}).get("reasons", [])}

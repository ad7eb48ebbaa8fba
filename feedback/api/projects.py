"""/api/v1/project, /projects and /keys: project settings and key management for admin keys."""

from __future__ import annotations

from flask import Blueprint

from feedback.api.request import parse_body, principal
from feedback.api.spec import route
from feedback.db import get_read_session, get_session
from feedback.schemas.project import (
    KeyCreate,
    KeyCreated,
    KeyOut,
    KeyRotate,
    ProjectCreate,
    ProjectCreated,
    ProjectOut,
    ProjectUpdate,
)
from feedback.services import keys, projects
from feedback.services.auth import require_scope
from feedback.services.serializers import key_out, project_out

bp = Blueprint("projects", __name__, url_prefix="/api/v1")


def _admin_project_id() -> int:
    caller = principal()
    require_scope(caller, "admin")
    return caller.project_id


@route(bp, "/project", "GET", summary="The key's project", tag="projects", responses={200: ProjectOut})
def get_project():
    """The project the admin key belongs to, with its settings."""
    return project_out(projects.get_project(get_read_session(), _admin_project_id()))


@route(bp, "/project", "PATCH", summary="Update the project", tag="projects", body=ProjectUpdate,
       responses={200: ProjectOut})
def update_project():
    """Rename the project or replace its settings (feedback keys, reasons, allowed origins, retention)."""
    project_id = _admin_project_id()
    body = parse_body(ProjectUpdate)
    session = get_session()
    project = projects.get_project(session, project_id)
    settings = body.settings.model_dump(mode="json") if body.settings else None
    projects.update_project(session, project, name=body.name, settings=settings)
    session.commit()
    return project_out(project)


@route(bp, "/projects", "POST", summary="Create a project", tag="projects", body=ProjectCreate,
       responses={201: ProjectCreated})
def create_project():
    """Any admin key may create another project; the answer holds the new project's first admin key."""
    _admin_project_id()
    body = parse_body(ProjectCreate)
    session = get_session()
    settings = body.settings.model_dump(mode="json") if body.settings else None
    project, admin = projects.create_project(session, body.slug, body.name, settings)
    session.commit()
    return {"project": project_out(project), "admin_key": key_out(admin.key) | {"secret": admin.secret}}, 201


@route(bp, "/keys", "GET", summary="List keys", tag="keys", responses={200: KeyOut})
def list_keys():
    """Every key of the project (never their secrets)."""
    return {"items": [key_out(k) for k in keys.list_keys(get_read_session(), _admin_project_id())]}


@route(bp, "/keys", "POST", summary="Create a key", tag="keys", body=KeyCreate, responses={201: KeyCreated})
def create_key():
    """The secret is in this answer only."""
    project_id = _admin_project_id()
    body = parse_body(KeyCreate)
    session = get_session()
    issued = keys.create_key(session, project_id, body.name, list(body.scopes), body.allowed_origins)
    session.commit()
    return key_out(issued.key) | {"secret": issued.secret}, 201


@route(bp, "/keys/<int:key_id>/revoke", "POST", summary="Revoke a key", tag="keys", responses={200: KeyOut})
def revoke_key(key_id: int):
    """Takes effect at once, on every server process."""
    project_id = _admin_project_id()
    session = get_session()
    key = keys.revoke_key(session, project_id, key_id)
    session.commit()
    return key_out(key)


@route(bp, "/keys/<int:key_id>/rotate", "POST", summary="Rotate a key", tag="keys", body=KeyRotate,
       responses={201: KeyCreated})
def rotate_key(key_id: int):
    """A new secret with the same scopes; the old one keeps working for `grace_seconds`."""
    project_id = _admin_project_id()
    body = parse_body(KeyRotate)
    session = get_session()
    issued = keys.rotate_key(session, project_id, key_id, body.grace_seconds)
    session.commit()
    return key_out(issued.key) | {"secret": issued.secret}, 201

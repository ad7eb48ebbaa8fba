"""`feedback projects ...` and `feedback keys ...`."""

from __future__ import annotations

import click
from sqlalchemy import select

from feedback.cli.common import app_session, echo_json, fails_cleanly
from feedback.models import Project
from feedback.services import keys, projects
from feedback.services.serializers import key_out


def register(main: click.Group) -> None:
    """Add the commands to the root group."""
    main.add_command(projects_group)
    main.add_command(keys_group)


@click.group("projects")
def projects_group() -> None:
    """Create and list projects."""


@projects_group.command("create")
@click.argument("slug")
@click.option("--name", default=None)
@click.pass_context
@fails_cleanly
def create_project(ctx: click.Context, slug: str, name: str | None) -> None:
    """Create project SLUG and print its admin key."""
    with app_session(ctx) as session:
        project, admin = projects.create_project(session, slug, name or slug)
        session.commit()
        echo_json({"project": project.slug, "admin_key": admin.secret})


@projects_group.command("list")
@click.pass_context
def list_projects(ctx: click.Context) -> None:
    """List projects."""
    with app_session(ctx) as session:
        for project in session.scalars(select(Project).order_by(Project.id)):
            click.echo(f"{project.slug}\t{project.name}")


@click.group("keys")
def keys_group() -> None:
    """Manage API keys of a project."""


@keys_group.command("list")
@click.option("--project", "slug", required=True)
@click.pass_context
@fails_cleanly
def list_keys(ctx: click.Context, slug: str) -> None:
    """List a project's keys (never their secrets)."""
    with app_session(ctx) as session:
        project = projects.get_project_by_slug(session, slug)
        echo_json([key_out(k) for k in keys.list_keys(session, project.id)])


@keys_group.command("create")
@click.option("--project", "slug", required=True)
@click.option("--name", required=True)
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice(keys.SCOPES))
@click.option("--origin", "origins", multiple=True, help="Allowed origin for widget keys (repeatable).")
@click.pass_context
@fails_cleanly
def create_key(ctx: click.Context, slug: str, name: str, scopes: tuple[str, ...], origins: tuple[str, ...]) -> None:
    """Create a key and print its secret (shown only now)."""
    with app_session(ctx) as session:
        project = projects.get_project_by_slug(session, slug)
        issued = keys.create_key(session, project.id, name, list(scopes), list(origins))
        session.commit()
        echo_json(key_out(issued.key) | {"secret": issued.secret})


@keys_group.command("revoke")
@click.option("--project", "slug", required=True)
@click.argument("key_id", type=int)
@click.pass_context
@fails_cleanly
def revoke_key(ctx: click.Context, slug: str, key_id: int) -> None:
    """Revoke key KEY_ID now."""
    with app_session(ctx) as session:
        project = projects.get_project_by_slug(session, slug)
        key = keys.revoke_key(session, project.id, key_id)
        session.commit()
        echo_json(key_out(key))


@keys_group.command("rotate")
@click.option("--project", "slug", required=True)
@click.option("--grace", "grace_seconds", type=click.IntRange(0, 30 * 86400), default=3600, show_default=True)
@click.argument("key_id", type=int)
@click.pass_context
@fails_cleanly
def rotate_key(ctx: click.Context, slug: str, key_id: int, grace_seconds: int) -> None:
    """Replace KEY_ID with a new secret; the old one works for --grace seconds."""
    with app_session(ctx) as session:
        project = projects.get_project_by_slug(session, slug)
        issued = keys.rotate_key(session, project.id, key_id, grace_seconds)
        session.commit()
        echo_json(key_out(issued.key) | {"secret": issued.secret})

"""`feedback init` and `feedback db ...`: migrations and first-run setup."""

from __future__ import annotations

import click
from flask import current_app

from feedback.cli.common import app_session, echo_json, fails_cleanly
from feedback.errors import NotFound
from feedback.services import credentials, keys, migrations, projects


def register(main: click.Group) -> None:
    """Add the commands to the root group."""
    main.add_command(init)
    main.add_command(db)


@click.command()
@click.option("--project", "slug", default="demo", show_default=True, help="Slug of the project to create.")
@click.option("--name", default=None, help="Display name (defaults to the slug).")
@click.option("--origin", "origins", multiple=True, default=["http://127.0.0.1:5000", "http://localhost:5000"],
              show_default=True, help="Origin allowed to use the widget key (repeatable).")
@click.pass_context
@fails_cleanly
def init(ctx: click.Context, slug: str, name: str | None, origins: tuple[str, ...]) -> None:
    """Migrate the database, create a project if it does not exist, and print its new keys."""
    _upgrade(ctx, "head")
    with app_session(ctx) as session:
        try:
            project = projects.get_project_by_slug(session, slug)
            click.echo(f"project {slug!r} exists; issuing new ingest and widget keys", err=True)
            admin = None
        except NotFound:
            project, admin = projects.create_project(session, slug, name or slug,
                                                     {"allowed_origins": list(origins)})
        ingest = keys.create_key(session, project.id, "ingest", ["ingest"])
        widget = keys.create_key(session, project.id, "widget", ["widget"], list(origins))
        session.commit()
        echo_json({"project": slug, "admin_key": admin.secret if admin else None,
                   "ingest_key": ingest.secret, "widget_key": widget.secret,
                   "database": current_app.config["SETTINGS"].database_url})


def _upgrade(ctx: click.Context, revision: str) -> int:
    """Migrate; at the newest revision also seal tokens older versions stored in plain text (how many)."""
    settings = ctx.find_root().obj.app.config["SETTINGS"]
    migrations.upgrade(settings.database_url, revision)
    if revision != "head":
        return 0
    with app_session(ctx) as session:
        sealed = credentials.seal_stored_tokens(session, settings.resolved_secret_key())
        session.commit()
    return sealed


@click.group()
def db() -> None:
    """Database migrations."""


@db.command()
@click.argument("revision", default="head")
@click.pass_context
def upgrade(ctx: click.Context, revision: str) -> None:
    """Upgrade the schema (default: to the newest revision)."""
    sealed = _upgrade(ctx, revision)
    click.echo(f"upgraded to {revision}" + (f"; sealed {sealed} stored Label Studio token(s)" if sealed else ""))


@db.command()
@click.argument("revision")
@click.pass_context
def downgrade(ctx: click.Context, revision: str) -> None:
    """Downgrade the schema to REVISION (`base` drops every table)."""
    migrations.downgrade(ctx.find_root().obj.app.config["SETTINGS"].database_url, revision)
    click.echo(f"downgraded to {revision}")


@db.command()
def heads() -> None:
    """Print the head revision(s) of the migration graph."""
    for head in migrations.heads():
        click.echo(head)

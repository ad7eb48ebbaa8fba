"""`feedback users delete` and `feedback retention run`: the data lifecycle from the command line."""

from __future__ import annotations

import getpass

import click

from feedback.cli.common import app_session, echo_json, fails_cleanly
from feedback.services import lifecycle, projects


def register(main: click.Group) -> None:
    """Add the commands to the root group."""
    main.add_command(users_group)
    main.add_command(retention_group)


@click.group("users")
def users_group() -> None:
    """End users' data."""


@users_group.command("delete")
@click.option("--project", "slug", required=True, help="Project slug.")
@click.option("--end-user", "end_user_id", required=True, help="The end-user id your application sent.")
@click.pass_context
@fails_cleanly
def delete_user(ctx: click.Context, slug: str, end_user_id: str) -> None:
    """Erase everything about one end user (also their Label Studio tasks) and print what was removed."""
    with app_session(ctx) as session:
        project = projects.get_project_by_slug(session, slug)
        report, event = lifecycle.delete_end_user(session, project.id, end_user_id, f"cli:{getpass.getuser()}")
        echo_json({"deleted": report.as_dict(), "audit_event_id": event.id, "subject": event.subject})


@click.group("retention")
def retention_group() -> None:
    """Retention periods (settings.retention_days)."""


@retention_group.command("run")
@click.option("--project", "slug", default=None, help="Only this project (default: every project with one).")
@click.pass_context
@fails_cleanly
def run_retention(ctx: click.Context, slug: str | None) -> None:
    """Delete interactions older than each project's retention period now (the scheduler does this daily)."""
    with app_session(ctx) as session:
        targets = [projects.get_project_by_slug(session, slug)] if slug else lifecycle.projects_with_retention(session)
        results = {}
        for project in targets:
            outcome = lifecycle.apply_retention(session, project)
            results[project.slug] = outcome[0].as_dict() if outcome else "no retention_days set"
        echo_json(results)

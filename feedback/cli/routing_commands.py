"""`feedback routing ...` (connections, rules, backfill, requeue, outbox) and `feedback jobs ...`."""

from __future__ import annotations

import json

import click
from pydantic import ValidationError

from feedback.cli.common import app_session, echo_json, fails_cleanly
from feedback.errors import ValidationFailed
from feedback.schemas.routing import ConnectionCreate, RuleCreate, RuleUpdate
from feedback.services import jobs, outbox_admin, projects, routing, routing_rules
from feedback.services import labelstudio_connections as connections
from feedback.services.routing_views import connection_out, job_out, outbox_out, outbox_stats, rules_out

PROJECT = click.option("--project", "slug", required=True, help="Project slug.")


def register(main: click.Group) -> None:
    """Add the command groups to the root group."""
    main.add_command(routing_group)
    main.add_command(jobs_group)


def _parse(model, data: dict):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed("invalid options", details=[e["msg"] for e in exc.errors()]) from exc


def _conditions(raw: str | None) -> dict | None:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"--conditions is not valid JSON: {exc}") from exc


@click.group("routing")
def routing_group() -> None:
    """Route interactions to Label Studio: connections, rules, backfill, requeue, outbox."""


@routing_group.command("connect")
@PROJECT
@click.option("--name", required=True)
@click.option("--url", required=True, help="Label Studio base URL.")
@click.option("--token", required=True, envvar="LABEL_STUDIO_TOKEN", help="Legacy token or personal access token.")
@click.option("--template", type=click.Choice(["response_review", "pairwise", "custom"]), default="response_review")
@click.option("--label-config", type=click.File(), default=None, help="XML file for --template custom.")
@click.option("--webhook-base", required=True, help="This service's public URL (for the annotation webhook).")
@click.pass_context
@fails_cleanly
def connect(ctx, slug, name, url, token, template, label_config, webhook_base) -> None:
    """Create the Label Studio project from a template and register the webhook."""
    body = _parse(ConnectionCreate, {"name": name, "url": url, "token": token, "template": template,
                                     "label_config": label_config.read() if label_config else None})
    with app_session(ctx) as session:
        project = projects.get_project_by_slug(session, slug)
        row = connections.create_connection(session, project.id, body, webhook_base,
                                            reasons=(project.settings or {}).get("reasons") or None)
        session.commit()
        echo_json(connection_out(row))


@routing_group.command("rules")
@PROJECT
@click.pass_context
@fails_cleanly
def list_rules(ctx, slug) -> None:
    """List rules in evaluation order with today's budget use."""
    with app_session(ctx) as session:
        project = projects.get_project_by_slug(session, slug)
        echo_json(rules_out(session, routing_rules.list_rules(session, project.id)))


@routing_group.command("add-rule")
@PROJECT
@click.option("--name", required=True)
@click.option("--connection", "connection_id", type=int, required=True)
@click.option("--priority", type=int, default=100)
@click.option("--conditions", default="{}", help='JSON, e.g. \'{"confidence_below": 0.4}\'.')
@click.option("--sample-rate", type=float, default=1.0)
@click.option("--daily-budget", type=int, default=None)
@click.option("--disabled", is_flag=True)
@click.pass_context
@fails_cleanly
def add_rule(ctx, slug, name, connection_id, priority, conditions, sample_rate, daily_budget, disabled) -> None:
    """Add a routing rule."""
    body = _parse(RuleCreate, {"name": name, "connection_id": connection_id, "priority": priority,
                               "conditions": _conditions(conditions), "sample_rate": sample_rate,
                               "daily_budget": daily_budget, "enabled": not disabled})
    with app_session(ctx) as session:
        project = projects.get_project_by_slug(session, slug)
        rule = routing_rules.create_rule(session, project.id, body)
        session.commit()
        echo_json(rules_out(session, [rule])[0])


@routing_group.command("update-rule")
@PROJECT
@click.argument("name")
@click.option("--priority", type=int, default=None)
@click.option("--conditions", default=None)
@click.option("--sample-rate", type=float, default=None)
@click.option("--daily-budget", type=int, default=None)
@click.option("--no-budget", is_flag=True)
@click.option("--enable/--disable", default=None)
@click.pass_context
@fails_cleanly
def update_rule(ctx, slug, name, priority, conditions, sample_rate, daily_budget, no_budget, enable) -> None:
    """Change rule NAME."""
    data = {"priority": priority, "conditions": _conditions(conditions), "sample_rate": sample_rate,
            "daily_budget": daily_budget, "enabled": enable, "clear_budget": no_budget}
    body = _parse(RuleUpdate, {k: v for k, v in data.items() if v is not None})
    with app_session(ctx) as session:
        project = projects.get_project_by_slug(session, slug)
        rule = routing_rules.get_rule_by_name(session, project.id, name)
        routing_rules.update_rule(session, project.id, rule.id, body)
        session.commit()
        echo_json(rules_out(session, [rule])[0])


@routing_group.command("delete-rule")
@PROJECT
@click.argument("name")
@click.pass_context
@fails_cleanly
def delete_rule(ctx, slug, name) -> None:
    """Delete rule NAME."""
    with app_session(ctx) as session:
        project = projects.get_project_by_slug(session, slug)
        routing_rules.delete_rule(session, project.id, routing_rules.get_rule_by_name(session, project.id, name).id)
        session.commit()
        click.echo(f"deleted rule {name}")


@routing_group.command("backfill")
@PROJECT
@click.option("--limit", type=click.IntRange(1), default=100_000)
@click.pass_context
@fails_cleanly
def backfill(ctx, slug, limit) -> None:
    """Apply the rules to past interactions now (commits in chunks)."""
    with app_session(ctx) as session:
        project = projects.get_project_by_slug(session, slug)
        echo_json(routing.backfill(session, project.id, limit=limit))


@routing_group.command("requeue")
@PROJECT
@click.option("--connection", "connection_id", type=int, required=True)
@click.argument("interaction_ids", type=int, nargs=-1, required=True)
@click.pass_context
@fails_cleanly
def requeue(ctx, slug, connection_id, interaction_ids) -> None:
    """Send interactions to a connection again (explicit override of never-re-queue)."""
    with app_session(ctx) as session:
        project = projects.get_project_by_slug(session, slug)
        ids = routing.requeue(session, project.id, connection_id, interaction_ids)
        session.commit()
        echo_json({"outbox_ids": ids})


@routing_group.command("outbox")
@PROJECT
@click.option("--status", type=click.Choice(["pending", "delivered", "failed"]), default=None)
@click.option("--limit", type=click.IntRange(1, 500), default=50)
@click.option("--stats", is_flag=True, help="Counts per connection and status instead of items.")
@click.pass_context
@fails_cleanly
def show_outbox(ctx, slug, status, limit, stats) -> None:
    """Show routing decisions and their delivery state."""
    with app_session(ctx) as session:
        project = projects.get_project_by_slug(session, slug)
        if stats:
            echo_json(outbox_stats(session, project.id))
        else:
            echo_json([outbox_out(r) for r in outbox_admin.list_items(session, project.id, status, limit=limit)])


@routing_group.command("retry")
@PROJECT
@click.argument("ids", type=int, nargs=-1)
@click.pass_context
@fails_cleanly
def retry(ctx, slug, ids) -> None:
    """Put failed outbox items (IDS, or all) back to pending and enqueue delivery."""
    with app_session(ctx) as session:
        project = projects.get_project_by_slug(session, slug)
        count = outbox_admin.retry_failed(session, project.id, ids)
        session.commit()
        echo_json({"retried": count})


@click.group("jobs")
def jobs_group() -> None:
    """Background job status; retry failed jobs."""


@jobs_group.command("list")
@PROJECT
@click.option("--status", type=click.Choice(["queued", "started", "finished", "failed"]), default=None)
@click.option("--limit", type=click.IntRange(1, 500), default=20)
@click.pass_context
@fails_cleanly
def list_jobs(ctx, slug, status, limit) -> None:
    """List recent jobs."""
    with app_session(ctx) as session:
        project = projects.get_project_by_slug(session, slug)
        echo_json([job_out(r) for r in jobs.list_jobs(session, project.id, status, limit=limit)])


@jobs_group.command("show")
@PROJECT
@click.argument("job_id", type=int)
@click.pass_context
@fails_cleanly
def show_job(ctx, slug, job_id) -> None:
    """Show one job with RQ's view (retries left, traceback)."""
    with app_session(ctx) as session:
        project = projects.get_project_by_slug(session, slug)
        record, info = jobs.get_job(session, project.id, job_id)
        echo_json(job_out(record, info or {}))


@jobs_group.command("retry")
@PROJECT
@click.argument("job_id", type=int)
@click.pass_context
@fails_cleanly
def retry_job(ctx, slug, job_id) -> None:
    """Run a failed job again as a new job."""
    with app_session(ctx) as session:
        project = projects.get_project_by_slug(session, slug)
        echo_json(job_out(jobs.retry_job(session, project.id, job_id)))

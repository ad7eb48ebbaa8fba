"""`feedback select`: pick the interactions most worth a reviewer's time (active learning)."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select

from feedback.cli.common import app_session, echo_json, fails_cleanly
from feedback.errors import NotFound
from feedback.models import Project
from feedback.services.selection.params import DEFAULT_STRATEGY, STRATEGIES, parse_params
from feedback.services.selection.runs import enqueue_selection, run_selection, run_summary


def register(main: click.Group) -> None:
    """Add the command to the root group."""
    main.add_command(select_command)


def _project(session: Any, ref: str) -> Project:
    project = session.scalar(select(Project).where(Project.slug == ref))
    if project is None and ref.isdigit():
        project = session.get(Project, int(ref))
    if project is None:
        raise NotFound(f"no project {ref!r}")
    return project


@click.command("select")
@click.option("--project", "ref", required=True, help="Project slug (or id).")
@click.option("--budget", type=int, required=True, help="How many interactions to select.")
@click.option("--strategy", type=click.Choice(STRATEGIES), default=DEFAULT_STRATEGY, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--random-share", type=float, default=0.10, show_default=True,
              help="Share of the batch drawn at random (unbiased evaluation slice).")
@click.option("--connection", "connection_id", type=int, default=None,
              help="Label Studio connection to route to (default: the project's only active one).")
@click.option("--no-route", is_flag=True, help="Record the selection without queueing it for Label Studio.")
@click.option("--enqueue", "as_job", is_flag=True, help="Run as a background RQ job instead of now.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole run, with every pick, as JSON.")
@click.pass_context
@fails_cleanly
def select_command(ctx: click.Context, ref: str, budget: int, strategy: str, seed: int, random_share: float,
                   connection_id: int | None, no_route: bool, as_job: bool, as_json: bool) -> None:
    """Train the project's quality model, score its unlabelled pool and select the next batch to review."""
    params = parse_params({"strategy": strategy, "budget": budget, "seed": seed, "random_share": random_share})
    app = ctx.find_root().obj.app
    with app_session(ctx) as session:
        project = _project(session, ref)
        if as_job:
            if no_route:
                raise click.UsageError("--no-route cannot be combined with --enqueue")
            record = enqueue_selection(session, project.id, params, connection_id)
            click.echo(f"enqueued selection job {record.rq_job_id}")
            return
        run = run_selection(session, project.id, params, app.config["SETTINGS"].data_dir,
                            connection_id=connection_id, route=not no_route)
        summary = run_summary(session, run)
        session.commit()
    if as_json:
        echo_json(summary)
        return
    metrics = summary["model_metrics"] or {}
    click.echo(f"selection run {summary['id']}: {summary['selected']} of {summary['pool_size']} pooled "
               f"interactions by {summary['effective_strategy']}"
               + (f" (asked {strategy})" if summary["effective_strategy"] != strategy else ""))
    click.echo(f"  model {summary['model_version'] or '-'} trained on {summary['labels']['annotator']} annotator "
               f"labels + {summary['labels']['thumbs']} thumbs; held-out: "
               + (", ".join(f"{k} {metrics[k]:.3f}" for k in ("accuracy", "macro_f1", "roc_auc") if k in metrics)
                  or metrics.get("reason", "n/a")))
    click.echo(f"  routed {summary['routed']} to connection {summary['connection_id']}" if summary["connection_id"]
               else "  no Label Studio connection: recorded only")
    click.echo(f"  took {summary['timings'].get('wall', 0):.2f} s")

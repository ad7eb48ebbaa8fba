"""`feedback export ...` and `feedback datasets list|diff`: curated, versioned dataset snapshots."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select
from tqdm import tqdm

from feedback.cli.common import app_session, echo_json, fails_cleanly
from feedback.errors import NotFound
from feedback.models import Project
from feedback.services.datasets import service
from feedback.services.datasets.params import parse_params
from feedback.services.datasets.writers import FORMATS


def register(main: click.Group) -> None:
    """Add the commands to the root group."""
    main.add_command(export_command)
    main.add_command(datasets_group)


def _project(session: Any, slug: str) -> Project:
    project = session.scalar(select(Project).where(Project.slug == slug))
    if project is None:
        raise NotFound(f"no project {slug!r}")
    return project


def _pattern(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, regex = value.partition("=")
        if not sep:
            raise click.BadParameter(f"{value!r} is not NAME=REGEX", param_hint="--pii-pattern")
        out[name] = regex
    return out


@click.command("export")
@click.option("--project", "slug", required=True, help="Project slug.")
@click.option("--name", required=True, help="Dataset name (lowercase, digits, - and _).")
@click.option("--format", "formats", multiple=True, required=True, type=click.Choice(sorted(FORMATS)),
              help="Output format (repeatable).")
@click.option("--since", default=None, help="ISO time: interactions created at or after.")
@click.option("--until", default=None, help="ISO time: interactions created before.")
@click.option("--model", "models", multiple=True)
@click.option("--model-version", "model_versions", multiple=True)
@click.option("--label-source", "label_sources", multiple=True, type=click.Choice(["annotator", "end_user", "model"]))
@click.option("--verdict", "verdicts", multiple=True, type=click.Choice(["good", "bad"]))
@click.option("--min-agreement", type=float, default=None)
@click.option("--reason", "reasons", multiple=True)
@click.option("--tag", "tags", multiple=True)
@click.option("--exclude-tag", "exclude_tags", multiple=True)
@click.option("--key", "feedback_key", default="helpfulness", show_default=True, help="Feedback key to label by.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--splits", default="0.8,0.1,0.1", show_default=True, help="train,validation,test ratios.")
@click.option("--no-near-dedup", is_flag=True, help="Only remove exact duplicates.")
@click.option("--no-pii", is_flag=True, help="Do not scrub PII.")
@click.option("--pii-pattern", "pii_patterns", multiple=True, help="Extra PII pattern NAME=REGEX (repeatable).")
@click.option("--csv-formulas", type=click.Choice(["escape", "keep"]), default="escape", show_default=True,
              help="CSV cells starting with = + - @ (a spreadsheet would run them): prefix an apostrophe, or keep.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
@fails_cleanly
def export_command(ctx: click.Context, slug: str, name: str, formats: tuple[str, ...], **opts: Any) -> None:
    """Export a project's curated feedback as a new numbered dataset snapshot."""
    try:
        ratios = [float(x) for x in opts["splits"].split(",")]
        train, validation, test = ratios
    except ValueError:
        raise click.BadParameter("expected three comma-separated numbers", param_hint="--splits") from None
    filters = {k: (list(opts[k]) if isinstance(opts[k], tuple) else opts[k])
               for k in ("since", "until", "models", "model_versions", "label_sources", "verdicts",
                         "min_agreement", "reasons", "tags", "exclude_tags")}
    raw = {"name": name, "formats": list(formats), "seed": opts["seed"], "feedback_key": opts["feedback_key"],
           "filters": {k: v for k, v in filters.items() if v not in (None, [])},
           "splits": {"train": train, "validation": validation, "test": test},
           "dedup_near": not opts["no_near_dedup"], "pii": not opts["no_pii"],
           "pii_patterns": _pattern(opts["pii_patterns"]), "csv_formulas": opts["csv_formulas"]}
    app = ctx.find_root().obj.app
    with app_session(ctx) as session:
        project = _project(session, slug)
        params = parse_params(raw)
        total = service.estimate_rows(session, project.id, params)
        session.commit()
        with tqdm(total=total, unit="rows", disable=opts["quiet"], file=click.get_text_stream("stderr")) as bar:
            result = service.run_export(session, project.id, params, app.config["SETTINGS"].data_dir,
                                        progress=bar.update)
    click.echo(f"exported {result.name} v{result.version} -> {result.path}")
    _summary(result.manifest)


def _summary(m: dict[str, Any]) -> None:
    """The figures of a snapshot's manifest, a few lines (after `export` and for `datasets show`)."""
    counts = m["counts"]
    click.echo(f"  scanned {m['source'].get('interactions_scanned', 0)} interactions, "
               f"unresolved {m['source'].get('unresolved', 0)}, filtered out {counts['filtered_out']}, "
               f"duplicates removed {m['dedup']['exact_removed']} exact + {m['dedup']['near_removed']} near")
    for split, c in counts["splits"].items():
        click.echo(f"  {split:<10} {c['total']:>8} rows  (good {c['good']}, bad {c['bad']})")
    if counts["pairs"] is not None:  # None: no pair format was exported, so no pairs were built
        click.echo(f"  pairs: {counts['pairs']['by_origin']}")
    click.echo(f"  PII replaced: {m['pii']['replacements']}")
    click.echo(f"  files: {len(m['files'])}, fingerprint {m['fingerprint'][:16]}")
    for warning in m["warnings"]:
        click.echo(f"  warning: {warning}")


@click.group("datasets")
def datasets_group() -> None:
    """List and compare exported dataset versions."""


@datasets_group.command("list")
@click.option("--project", "slug", required=True)
@click.option("--name", default=None)
@click.pass_context
@fails_cleanly
def list_command(ctx: click.Context, slug: str, name: str | None) -> None:
    """List the project's dataset versions (withdrawn ones, which held erased data, are marked WITHDRAWN)."""
    with app_session(ctx) as session:
        rows = service.list_dataset_versions(session, _project(session, slug).id, name)
        for row in rows:
            withdrawn = (f"\tWITHDRAWN {row.withdrawn_at.isoformat()} ({row.withdrawn_reason})"
                         if row.withdrawn_at else "")
            click.echo(f"{row.name}\tv{row.version}\t{row.rows} rows\t{','.join(row.formats)}\t"
                       f"{row.created_at.isoformat()}\t{row.fingerprint[:16]}{withdrawn}")
        if not rows:
            click.echo("no dataset versions yet", err=True)


@datasets_group.command("show")
@click.option("--project", "slug", required=True)
@click.argument("name")
@click.argument("version", type=int)
@click.pass_context
@fails_cleanly
def show_command(ctx: click.Context, slug: str, name: str, version: int) -> None:
    """Show version VERSION of dataset NAME: its parameters and figures, from its manifest (also once withdrawn)."""
    with app_session(ctx) as session:
        row, manifest = service.version_manifest(session, _project(session, slug).id, name, version)
    click.echo(f"{row.name} v{row.version} -> {row.path}  (created {row.created_at.isoformat()})")
    if row.withdrawn_at is not None:
        click.echo(f"  WITHDRAWN {row.withdrawn_at.isoformat()} ({row.withdrawn_reason}): only the manifest is kept")
    params = manifest["params"]
    filters = {k: v for k, v in params["filters"].items() if v not in (None, [])}
    click.echo(f"  formats {', '.join(params['formats'])}; filters {filters or 'none'}; seed {params['seed']}")
    _summary(manifest)


@datasets_group.command("diff")
@click.option("--project", "slug", required=True)
@click.argument("name")
@click.argument("a", type=int)
@click.argument("b", type=int)
@click.pass_context
@fails_cleanly
def diff_command(ctx: click.Context, slug: str, name: str, a: int, b: int) -> None:
    """Show what changed between versions A and B of dataset NAME (JSON); refused for a withdrawn version."""
    with app_session(ctx) as session:
        echo_json(service.diff_versions(session, _project(session, slug).id, name, a, b))

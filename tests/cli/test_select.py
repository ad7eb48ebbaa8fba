"""`feedback select` end to end through the CLI: records a run; bad parameters exit non-zero with a message."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from feedback.cli import main
from feedback.db import utcnow
from feedback.models import Interaction, SelectionRun
from tests.services.selection.davidson import _rows


def test_select_command_records_a_run(app, session, project, runner):
    texts, _ = _rows()
    session.add_all([Interaction(project_id=project.id, external_id=f"x{i}", messages=[], response=texts[i],
                                 meta={}, created_at=utcnow()) for i in range(0, 400, 10)])
    session.commit()
    result = runner.invoke(main, ["select", "--project", project.slug, "--budget", "6", "--seed", "4", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["selected"] == 6 and summary["effective_strategy"] == "cold_start"
    assert summary["pool_size"] == 40
    text = runner.invoke(main, ["select", "--project", project.slug, "--budget", "3", "--no-route"])
    assert text.exit_code == 0, text.output
    assert "3 of 34 pooled interactions" in text.output
    count = session.scalar(select(func.count()).select_from(SelectionRun).where(
        SelectionRun.project_id == project.id))
    assert count == 2


def test_select_command_rejects_bad_parameters(app, project, runner):
    bad_budget = runner.invoke(main, ["select", "--project", project.slug, "--budget", "0"])
    assert bad_budget.exit_code == 2 and "budget" in bad_budget.output
    bad_strategy = runner.invoke(main, ["select", "--project", project.slug, "--budget", "5", "--strategy", "x"])
    assert bad_strategy.exit_code == 2 and "'x' is not one of" in bad_strategy.output
    bad_share = runner.invoke(main, ["select", "--project", project.slug, "--budget", "5", "--random-share", "2"])
    assert bad_share.exit_code == 2 and "random_share" in bad_share.output
    unknown = runner.invoke(main, ["select", "--project", "no-such-project", "--budget", "5"])
    assert unknown.exit_code == 2 and "no project" in unknown.output

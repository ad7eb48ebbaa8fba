"""`feedback datasets list` marks withdrawn versions; `feedback datasets diff` refuses them (exit 2)."""

from __future__ import annotations

import json

from feedback.cli import main
from tests.services.datasets.erasure_seed import seed


def test_cli_lists_and_refuses_withdrawn_versions(app, client, project, runner) -> None:
    seed(client, project)
    export = ["export", "--project", project.slug, "--name", "cli", "--format", "csv", "--quiet"]
    assert runner.invoke(main, export).exit_code == 0
    assert runner.invoke(main, [*export, "--model", "model-z"]).exit_code == 0
    diff = ["datasets", "diff", "--project", project.slug, "cli", "1", "2"]
    assert runner.invoke(main, diff).exit_code == 0

    erased = runner.invoke(main, ["users", "delete", "--project", project.slug, "--end-user", "xavier"])
    assert erased.exit_code == 0, erased.output
    assert json.loads(erased.output)["deleted"]["withdrawn_versions"] == [{"name": "cli", "version": 1}]

    listed = runner.invoke(main, ["datasets", "list", "--project", project.slug])
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].startswith("cli\tv1\t") and "\tWITHDRAWN " in lines[0] and "(end_user.deleted)" in lines[0]
    assert lines[1].startswith("cli\tv2\t") and "WITHDRAWN" not in lines[1]

    refused = runner.invoke(main, diff)
    assert refused.exit_code == 2
    assert "version 1 was withdrawn" in refused.output and "erased data" in refused.output

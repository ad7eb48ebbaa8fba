"""The `feedback` command line: init, keys, clear errors with non-zero exits."""

from __future__ import annotations

import json
import uuid

from feedback.cli import main


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_init_creates_project_and_working_keys(runner, client):
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    data = _json(runner.invoke(main, ["init", "--project", slug, "--origin", "https://app.example.com"]))
    assert data["admin_key"].startswith("fl_admin_") and data["ingest_key"].startswith("fl_ingest_")
    answer = client.post("/api/v1/interactions", json={"response": "hi"},
                         headers={"Authorization": f"Bearer {data['ingest_key']}"})
    assert answer.status_code == 201
    again = _json(runner.invoke(main, ["init", "--project", slug]))
    assert again["admin_key"] is None and again["ingest_key"] != data["ingest_key"]


def test_keys_lifecycle(runner, client):
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    _json(runner.invoke(main, ["projects", "create", slug]))
    created = _json(runner.invoke(main, ["keys", "create", "--project", slug, "--name", "svc", "--scope", "ingest"]))
    listed = _json(runner.invoke(main, ["keys", "list", "--project", slug]))
    assert {k["name"] for k in listed} == {"admin", "svc"} and all("secret" not in k for k in listed)
    rotated = _json(runner.invoke(main, ["keys", "rotate", "--project", slug, "--grace", "0", str(created["id"])]))
    old = client.get("/api/v1/interactions", headers={"Authorization": f"Bearer {created['secret']}"})
    new = client.get("/api/v1/interactions", headers={"Authorization": f"Bearer {rotated['secret']}"})
    assert old.status_code == 401 and new.status_code == 200
    _json(runner.invoke(main, ["keys", "revoke", "--project", slug, str(rotated["id"])]))
    gone = client.get("/api/v1/interactions", headers={"Authorization": f"Bearer {rotated['secret']}"})
    assert gone.status_code == 401


def test_bad_input_gives_message_and_nonzero_exit(runner):
    missing = runner.invoke(main, ["keys", "list", "--project", "no-such-project"])
    assert missing.exit_code == 2 and "no project" in missing.stderr
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    _json(runner.invoke(main, ["projects", "create", slug]))
    duplicate = runner.invoke(main, ["projects", "create", slug])
    assert duplicate.exit_code == 2 and "already exists" in duplicate.stderr
    bad_slug = runner.invoke(main, ["projects", "create", "Not A Slug!"])
    assert bad_slug.exit_code == 2
    widget = runner.invoke(main, ["keys", "create", "--project", slug, "--name", "w", "--scope", "widget"])
    assert widget.exit_code == 2 and "origin" in widget.stderr
    bad_origin = runner.invoke(main, ["keys", "create", "--project", slug, "--name", "w", "--scope", "widget",
                                      "--origin", "ftp://x"])
    assert bad_origin.exit_code == 2 and "not an origin" in bad_origin.stderr
    bad_scope = runner.invoke(main, ["keys", "create", "--project", slug, "--name", "w", "--scope", "root"])
    assert bad_scope.exit_code == 2


def test_serve_execs_gunicorn_with_the_options(runner, monkeypatch):
    calls = []
    monkeypatch.setattr("feedback.cli.serve_commands.os.execv", lambda path, args: calls.append(args))
    result = runner.invoke(main, ["serve", "--port", "5055", "--workers", "3"])
    assert result.exit_code == 0, result.output
    args = calls[0]
    assert args[args.index("--bind") + 1] == "127.0.0.1:5055" and args[args.index("--workers") + 1] == "3"
    assert args[args.index("--threads") + 1] == "4"
    assert args[-1] == "feedback:create_app()"
    runner.invoke(main, ["serve", "--threads", "2"])
    assert calls[1][calls[1].index("--threads") + 1] == "2"

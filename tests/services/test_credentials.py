"""Stored Label Studio tokens are sealed with a key derived from the service secret; old plain ones are sealed
by the migration command; a token sealed under another secret fails clearly."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from feedback.cli import main
from feedback.db import get_db
from feedback.models import LabelStudioConnection
from feedback.services import credentials
from feedback.services.labelstudio_connections import client_for


@pytest.mark.once
def test_seal_and_unseal() -> None:
    sealed = credentials.seal("ls-token-123", "secret-a")
    assert sealed.startswith(credentials.PREFIX) and "ls-token-123" not in sealed
    assert sealed != credentials.seal("ls-token-123", "secret-a")  # a fresh IV every time
    assert credentials.unseal(sealed, "secret-a") == "ls-token-123"
    assert credentials.unseal("plain-from-an-older-version", "secret-a") == "plain-from-an-older-version"
    with pytest.raises(credentials.CredentialUnreadable, match="set the connection's token again"):
        credentials.unseal(sealed, "secret-b")
    with pytest.raises(credentials.CredentialUnreadable):
        credentials.unseal(credentials.PREFIX + "not-a-fernet-token", "secret-a")


def _legacy_connection(app, project_id: int, token: str) -> int:
    with app.app_context():
        session = get_db().session()
        row = LabelStudioConnection(project_id=project_id, name=f"legacy-{token}", url="http://127.0.0.1:9",
                                    token=token, token_kind="legacy", ls_project_id=1, template="response_review")
        session.add(row)
        session.commit()
        return row.id


def test_db_upgrade_seals_plain_tokens_and_clients_still_use_them(app, project, cli_env) -> None:
    plain_id = _legacy_connection(app, project.id, "plain-token-1")
    answer = CliRunner(env=cli_env).invoke(main, ["db", "upgrade"])
    assert answer.exit_code == 0, answer.output
    assert "sealed" in answer.output
    with app.app_context():
        row = get_db().session().get(LabelStudioConnection, plain_id)
        assert row.token.startswith(credentials.PREFIX) and "plain-token-1" not in row.token
        assert credentials.connection_token(row) == "plain-token-1" and client_for(row).token_kind == "legacy"
    again = CliRunner(env=cli_env).invoke(main, ["db", "upgrade"])  # nothing left to seal: no second layer
    assert again.exit_code == 0 and "sealed" not in again.output
    with app.app_context():
        assert credentials.connection_token(get_db().session().get(LabelStudioConnection, plain_id)) == "plain-token-1"


def test_a_token_sealed_under_another_secret_fails_clearly(app, project) -> None:
    row_id = _legacy_connection(app, project.id, "x")
    with app.app_context():
        session = get_db().session()
        row = session.get(LabelStudioConnection, row_id)
        row.token = credentials.seal("x", "some-other-secret")
        session.commit()
        with pytest.raises(credentials.CredentialUnreadable):
            client_for(row)

"""Run Alembic migrations programmatically (used by `feedback init`, `feedback db ...` and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic Config pointing at the project's migrations and `database_url`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Upgrade the database to `revision`."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Downgrade the database to `revision` (`base` removes every table)."""
    command.downgrade(alembic_config(database_url), revision)


def heads(database_url: str = "sqlite://") -> list[str]:
    """The head revisions of the migration graph (one, unless two branches were added in parallel)."""
    return list(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())

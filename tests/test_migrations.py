"""Migrations: a single head; upgrade to head and downgrade to base leave a clean database on both backends."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from feedback.db import Base
from feedback.models import *  # noqa: F403  (all tables registered on Base.metadata)
from feedback.services import migrations
from tests.databases import temporary_database


def test_single_head():
    assert len(migrations.heads()) == 1, migrations.heads()


@pytest.fixture
def empty_database_url(backend, tmp_path):
    with temporary_database(backend, tmp_path, prefix="fl_mig") as url:
        yield url


def _tables(url: str) -> set[str]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_database_url):
    migrations.upgrade(empty_database_url)
    assert _tables(empty_database_url) == set(Base.metadata.tables)
    migrations.downgrade(empty_database_url, "base")
    assert _tables(empty_database_url) == set()
    migrations.upgrade(empty_database_url)
    assert _tables(empty_database_url) == set(Base.metadata.tables)


def test_each_step_downgrades_cleanly(empty_database_url):
    """Walk the chain one revision at a time, down and up again, so every downgrade() is exercised."""
    migrations.upgrade(empty_database_url)
    full = _tables(empty_database_url)
    steps = 0
    while _tables(empty_database_url):
        migrations.downgrade(empty_database_url, "-1")
        steps += 1
    assert steps >= 1
    migrations.upgrade(empty_database_url)
    assert _tables(empty_database_url) == full


def test_models_match_migrations(empty_database_url):
    """Autogenerate finds no difference between the models and the migrated schema."""
    migrations.upgrade(empty_database_url)
    engine = create_engine(empty_database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def _version_columns(url: str) -> set[str]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        return {c["name"] for c in inspect(engine).get_columns("dataset_versions")}
    finally:
        engine.dispose()


def test_0010_adds_and_removes_the_withdrawal_columns_keeping_rows(empty_database_url):
    """0010 adds `withdrawn_at`/`withdrawn_reason` to existing versions (NULL) and its downgrade keeps the rows."""
    migrations.upgrade(empty_database_url, "0009_pairwise_compared")
    engine = create_engine(empty_database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO projects (id, slug, name, settings, created_at) "
                              "VALUES (1, 'p', 'p', '{}', '2026-01-01 00:00:00')"))
            conn.execute(text("INSERT INTO dataset_versions (project_id, name, version, path, formats, params, "
                              "counts, rows, fingerprint, created_at) VALUES (1, 'd', 1, '/x', '[]', '{}', '{}', "
                              "3, 'f', '2026-01-01 00:00:00')"))
        assert not {"withdrawn_at", "withdrawn_reason"} & _version_columns(empty_database_url)
        migrations.upgrade(empty_database_url, "0010_dataset_withdrawal")
        assert {"withdrawn_at", "withdrawn_reason"} <= _version_columns(empty_database_url)
        with engine.begin() as conn:
            assert conn.execute(text("SELECT name, rows, withdrawn_at, withdrawn_reason FROM dataset_versions")
                                ).all() == [("d", 3, None, None)]
            conn.execute(text("UPDATE dataset_versions SET withdrawn_at = '2026-02-01 00:00:00', "
                              "withdrawn_reason = 'end_user.deleted'"))
        migrations.downgrade(empty_database_url, "0009_pairwise_compared")
        assert not {"withdrawn_at", "withdrawn_reason"} & _version_columns(empty_database_url)
        with engine.begin() as conn:
            assert conn.execute(text("SELECT name, rows FROM dataset_versions")).all() == [("d", 3)]
    finally:
        engine.dispose()

"""The hand-serialised batch insert stores exactly what the ORM column types would, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import DATETIME

from feedback.db import dumps_json
from feedback.models import Interaction
from feedback.schemas.interaction import InteractionCreate
from feedback.services import interactions
from feedback.services.bulk_insert import sqlite_datetime

SQLALCHEMY_SQLITE_DATETIME = DATETIME().bind_processor(sqlite.dialect())


@pytest.mark.once
@pytest.mark.parametrize("value", [
    datetime(2026, 11, 25, 9, 30, 51, 438000, tzinfo=UTC),
    datetime(81, 10, 24, 1, 39, 22, tzinfo=UTC),  # a year below 1000: strftime would drop the zeros
    datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=2))),  # converted to UTC first
])
def test_sqlite_datetime_matches_sqlalchemy(value):
    naive_utc = value.astimezone(UTC).replace(tzinfo=None)
    assert sqlite_datetime(value) == SQLALCHEMY_SQLITE_DATETIME(naive_utc)


@pytest.mark.once
def test_sqlite_datetime_rejects_naive_values():
    with pytest.raises(ValueError):
        sqlite_datetime(datetime(2026, 1, 1))


@pytest.mark.once
def test_dumps_json_falls_back_for_what_orjson_refuses():
    assert dumps_json({"a": [1, "é"]}) == '{"a":[1,"é"]}'
    assert dumps_json({"big": 2**70}) == '{"big": 1180591620717411303424}'  # orjson: integer beyond 64 bits
    assert dumps_json({1: "x"}) == '{"1": "x"}'  # orjson: non-string key


def test_batch_rows_read_back_as_sent(session, project):
    sent = datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    items = [InteractionCreate(
        external_id=f"bulk-{i}", conversation_id="c1", end_user_id="u1" if i else None,
        messages=[{"role": "user", "content": f"q {i} é ✓"}, {"role": "assistant", "content": "a", "name": "bot"}],
        response="r", model="m", model_version="v", prompt_version="p", confidence=0.25, latency_ms=12.5,
        prompt_tokens=3, completion_tokens=4, metadata={"nested": {"list": [1, 2.5, None, True]}, "big": 2**70},
        created_at=sent if i == 0 else None) for i in range(3)]
    logged = interactions.record_batch(session, project.id, items)
    session.commit()
    assert [r.created for r in logged] == [True, True, True]
    rows = {r.external_id: r for r in session.scalars(select(Interaction).where(
        Interaction.project_id == project.id)).all()}
    first = rows["bulk-0"]
    assert first.created_at == sent
    assert first.messages == [{"role": "user", "content": "q 0 é ✓"},
                              {"role": "assistant", "content": "a", "name": "bot"}]
    assert first.meta == {"nested": {"list": [1, 2.5, None, True]}, "big": 2**70}
    assert (first.response, first.model, first.model_version, first.prompt_version) == ("r", "m", "v", "p")
    assert (first.confidence, first.latency_ms, first.prompt_tokens, first.completion_tokens) == (0.25, 12.5, 3, 4)
    assert first.end_user_id is None and rows["bulk-1"].end_user_id == "u1"
    assert rows["bulk-1"].created_at.tzinfo is not None and rows["bulk-1"].created_at > sent
    again = interactions.record_batch(session, project.id, items[:1])
    assert [(r.id, r.created) for r in again] == [(first.id, False)]

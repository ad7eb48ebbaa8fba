"""The `extra` column's JSON text: memoised by metadata object and by items, never mixed up between records."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from export_helpers import make_record

from feedback.services.datasets.writers.base import extra_json

pytestmark = pytest.mark.once  # backend-independent: runs in the SQLite pass only


def _expected(meta: dict) -> str:
    return json.dumps(meta, sort_keys=True, ensure_ascii=False, default=str)


def test_extra_json_matches_json_dumps_for_shared_equal_and_odd_metadata() -> None:
    shared = {"channel": "web", "app": "support"}
    metas = [shared, shared, dict(shared), {"channel": "web", "n": 1}, {"channel": "web", "n": 1.0},
             {"channel": "web", "n": True}, {"é": "ü", "nested": {"b": [1, 2]}}, {}, shared]
    records = [replace(make_record(i), metadata=meta) for i, meta in enumerate(metas, 1)]
    for _ in range(2):  # the second pass answers from the memos
        assert [extra_json(r) for r in records] == [_expected(m) for m in metas]


def test_a_new_metadata_object_is_never_answered_from_a_gone_one() -> None:
    """Objects may reuse a collected object's id: the memo keeps its objects alive, so that cannot happen."""
    texts = set()
    for i in range(2000):
        record = replace(make_record(i + 1), metadata={"channel": f"c{i}", "i": i})
        assert extra_json(record) == _expected({"channel": f"c{i}", "i": i})
        texts.add(extra_json(record))
    assert len(texts) == 2000

"""Versioned snapshots: byte-identical output, numbering, diff, and clean failure on bad parameters."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from export_helpers import make_record

from feedback.services.datasets.diff import diff_snapshots
from feedback.services.datasets.errors import DatasetError, EmptySelection
from feedback.services.datasets.export import export_snapshot
from feedback.services.datasets.prefetch import RecordSource
from feedback.services.datasets.versions import list_versions, snapshot_path
from feedback.services.datasets.writers import FORMATS

pytestmark = pytest.mark.once  # backend-independent: runs in the SQLite pass only

PARAMS = {"name": "support", "formats": sorted(FORMATS), "seed": 7}


def records(n: int = 60) -> list:
    return [make_record(i, correction="Corrected." if i % 9 == 0 else None, tags=("beta",) if i % 2 else ())
            for i in range(1, n + 1)]


def tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_same_data_and_params_give_byte_identical_snapshots(tmp_path: Path) -> None:
    a = export_snapshot(records(), PARAMS, tmp_path / "a")
    b = export_snapshot(iter(records()), PARAMS, tmp_path / "b")
    assert tree(a.path) == tree(b.path)
    manifest = json.loads((a.path / "manifest.json").read_text())
    assert manifest["version"] == 1 and manifest["schema_version"] == 1 and manifest["code_version"]
    for entry in manifest["files"]:
        assert len(entry["sha256"]) == 64 and (a.path / entry["path"]).stat().st_size == entry["bytes"]


def test_pairs_are_built_only_for_formats_that_write_them(tmp_path: Path) -> None:
    sft = export_snapshot(records(), {**PARAMS, "formats": ["openai_sft"]}, tmp_path / "sft")
    both = export_snapshot(records(), {**PARAMS, "formats": ["openai_sft", "openai_dpo"]}, tmp_path / "both")
    assert sft.manifest["counts"]["pairs"] is None
    assert both.manifest["counts"]["pairs"]["by_origin"]["correction"] == 6  # rows 9, 18, ..., 54
    sft_files = {k: v for k, v in tree(sft.path).items() if k.startswith("openai_sft/") or k == "index.tsv"}
    assert sft_files and sft_files == {k: v for k, v in tree(both.path).items() if k in sft_files}


def test_versions_are_numbered_listed_and_diffed(tmp_path: Path) -> None:
    first = export_snapshot(records(), PARAMS, tmp_path)
    again = export_snapshot(records(), PARAMS, tmp_path)
    changed = records(70)
    changed[3] = replace(changed[3], label="bad" if changed[3].label == "good" else "good")
    third = export_snapshot(changed[1:], PARAMS, tmp_path)
    assert (first.version, again.version, third.version) == (1, 2, 3)
    listed = list_versions(tmp_path, "support")
    assert [v["version"] for v in listed] == [1, 2, 3]
    assert snapshot_path(tmp_path, "support") == third.path
    same = diff_snapshots(first.path, again.path)
    assert same["identical_data"] and same["rows"]["counts"]["unchanged"] == first.manifest["counts"]["rows"]
    delta = diff_snapshots(first.path, third.path)
    assert not delta["identical_data"]
    rows = delta["rows"]["counts"]
    assert rows["added"] == 10 and rows["removed"] == 1 and rows["label_changed"] == 1
    assert delta["rows"]["examples"]["removed"] == [1]
    assert "openai_sft/train.jsonl" in delta["files"]["changed"]
    with pytest.raises(DatasetError, match="no version 9"):
        snapshot_path(tmp_path, "support", 9)


def _assert_nothing_written(root: Path) -> None:
    leftovers = [p for p in root.rglob("*") if p.is_file() or p.name.startswith(".tmp-")]
    assert leftovers == [], leftovers


@pytest.mark.parametrize(("params", "message"), [
    ({"name": "x", "formats": ["openai_sft", "parquet_deluxe"]}, "unknown format"),
    ({"name": "x", "formats": []}, "formats"),
    ({"name": "x", "formats": ["csv"], "filters": {"since": "2024-06-01T00:00:00Z",
                                                   "until": "2024-05-01T00:00:00Z"}}, "conflicting filters"),
    ({"name": "x", "formats": ["csv"], "filters": {"tags": ["a"], "exclude_tags": ["a"]}}, "conflicting"),
    ({"name": "x", "formats": ["csv"], "splits": {"train": 0.9, "validation": 0.2, "test": 0.0}}, "sum to 1"),
    ({"name": "../escape", "formats": ["csv"]}, "name"),
    ({"name": "x", "formats": ["csv"], "pii_patterns": {"oops": "(["}}, "regular expression"),
])
def test_bad_parameters_fail_clearly_and_write_nothing(tmp_path: Path, params: dict, message: str) -> None:
    with pytest.raises(DatasetError, match=message) as info:
        export_snapshot(records(), params, tmp_path)
    assert info.value.status == 422 and info.value.to_dict()["error"]["code"] == "dataset_error"
    _assert_nothing_written(tmp_path)


def test_empty_selection_leaves_no_partial_snapshot(tmp_path: Path) -> None:
    params = {**PARAMS, "filters": {"models": ["no-such-model"]}}
    with pytest.raises(EmptySelection, match="selection is empty") as info:
        export_snapshot(records(), params, tmp_path)
    assert info.value.details["input"] == 60 and info.value.details["filtered_out"] == 60
    assert list((tmp_path / "support").iterdir()) == []


def test_failure_midway_discards_the_build(tmp_path: Path) -> None:
    def exploding():
        yield from records(30)
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError, match="went away"):
        export_snapshot(exploding(), PARAMS, tmp_path, batch_size=8)
    assert list((tmp_path / "support").iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_path_as_user(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(DatasetError, match="not writable"):
        export_snapshot(records(), PARAMS, locked / "exports")


def test_unwritable_path(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(DatasetError, match="not writable"):
        export_snapshot(records(), PARAMS, blocker / "exports")
    assert blocker.read_text() == "not a directory"


def test_out_of_order_records_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="ascending interaction id"):
        export_snapshot(list(reversed(records())), PARAMS, tmp_path)
    assert list((tmp_path / "support").iterdir()) == []


def test_reader_process_gives_the_same_snapshot_and_reports_its_failures(tmp_path: Path) -> None:
    stats: dict = {}

    def opener():
        stats["scanned"] = 60
        return iter(records()), stats

    inline = export_snapshot(records(), PARAMS, tmp_path / "inline", source={"scanned": 60})
    forked = export_snapshot(RecordSource(opener, stats), PARAMS, tmp_path / "forked", source=stats, batch_size=16)
    assert tree(inline.path) == tree(forked.path) and stats == {"scanned": 60}

    def exploding():
        yield from records(30)
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError, match="went away"):
        export_snapshot(RecordSource(lambda: (exploding(), {}), {}), PARAMS, tmp_path / "x", batch_size=8)
    with pytest.raises(DatasetError, match="ascending interaction id"):
        export_snapshot(RecordSource(lambda: (reversed(records()), {}), {}), PARAMS, tmp_path / "x")
    assert list((tmp_path / "x" / "support").iterdir()) == []

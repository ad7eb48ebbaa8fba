"""Batches rendered ahead by the export's reader process give the same files as records written one by one."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from export_helpers import make_record

from feedback.services.datasets import export
from feedback.services.datasets.export import export_snapshot
from feedback.services.datasets.prefetch import RecordSource
from feedback.services.datasets.records import Message, Record
from feedback.services.datasets.writers import FORMATS

pytestmark = pytest.mark.once  # backend-independent: runs in the SQLite pass only

SPLIT_FREE = sorted(name for name, writer in FORMATS.items() if writer.split_free)


def records(n: int = 90) -> list[Record]:
    """Good and bad rows, corrections (KTO writes two rows for them), and prompts some formats skip."""
    out = [make_record(i, correction="Corrected answer." if i % 7 == 0 else None) for i in range(1, n + 1)]
    out[10] = make_record(11, label="bad")  # no ideal answer: SFT and evals skip it
    system_only = make_record(12)
    object.__setattr__(system_only, "messages", (Message("system", "only a system prompt"),))
    out[11] = system_only  # not chat-ready: the fine-tuning formats skip it
    return out


def tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_split_free_writers_ignore_the_split_and_render_what_write_writes(tmp_path: Path) -> None:
    assert {"openai_sft", "trl_kto", "openai_evals"} <= set(SPLIT_FREE)
    batch = records()
    splits = ["train", "test", "validation"] * (len(batch) // 3)
    kept = [i for i in range(len(batch)) if i % 5]  # positions the dedup step kept
    for name in SPLIT_FREE:
        one_by_one = FORMATS[name](tmp_path / "one", name="x", version=1)
        ahead = FORMATS[name](tmp_path / "ahead", name="x", version=1)
        for i in kept:
            assert one_by_one.rows(batch[i], "train") == one_by_one.rows(batch[i], "test")
            one_by_one.write(batch[i], splits[i])
        ahead.write_rendered(ahead.render(batch), kept, [splits[i] for i in kept])
        assert [f.rows for f in one_by_one.close()] == [f.rows for f in ahead.close()]
        assert one_by_one.skipped == ahead.skipped > 0
    assert tree(tmp_path / "one") == tree(tmp_path / "ahead") != {}


def test_reader_renders_when_the_parent_lags_and_the_snapshot_is_the_same(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    fed = {"records": 0, "rendered": 0}
    feed, feed_rendered = export._Run.feed, export._Run.feed_rendered

    def count_feed(run, *args):  # noqa: ANN001, ANN202
        fed["records"] += 1
        return feed(run, *args)

    def count_rendered(run, batch):  # noqa: ANN001, ANN202
        fed["rendered"] += 1
        return feed_rendered(run, batch)

    monkeypatch.setattr(export._Run, "feed", count_feed)
    monkeypatch.setattr(export._Run, "feed_rendered", count_rendered)
    params = {"name": "ahead", "formats": SPLIT_FREE, "seed": 3}
    inline = export_snapshot(records(), params, tmp_path / "inline")
    fed.update(records=0, rendered=0)
    forked = export_snapshot(RecordSource(lambda: (iter(records()), {}), {}), params, tmp_path / "forked",
                             batch_size=8, progress=lambda _: time.sleep(0.05))  # a slow parent
    assert fed["rendered"] > 0 and fed["records"] > 0  # both kinds of batch, interleaved in one snapshot
    assert tree(inline.path) == tree(forked.path)  # manifest (counts, provenance, hashes) included


def test_formats_that_need_the_split_or_pairs_keep_records(tmp_path: Path) -> None:
    assert not FORMATS["csv"].split_free and not FORMATS["inspect"].split_free
    for formats in (["openai_sft", "csv"], ["openai_sft", "openai_dpo"]):
        run = export._Run(export.parse_params({"name": "x", "formats": formats}), tmp_path, 1)
        assert not run.renders_ahead
        run.abort()
    run = export._Run(export.parse_params({"name": "x", "formats": ["openai_sft", "trl_kto"]}), tmp_path, 1)
    assert run.renders_ahead
    run.abort()

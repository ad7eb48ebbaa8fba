"""Label precedence, PII figures, dedup figures and leak-free stratified splits on planted cases."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from export_helpers import make_record, read_jsonl, unique_text

from feedback.services.datasets.dedup import Deduper
from feedback.services.datasets.errors import DatasetError
from feedback.services.datasets.export import export_snapshot
from feedback.services.datasets.labels import resolve_label
from feedback.services.datasets.pii import PiiScrubber, luhn_valid
from feedback.services.datasets.records import FeedbackSignal, PairwiseJudgement
from feedback.services.datasets.splits import Splitter

pytestmark = pytest.mark.once  # backend-independent: runs in the SQLite pass only


def sig(source: str, score: float | None, voter: str, minute: int = 0, **kw: object) -> FeedbackSignal:
    return FeedbackSignal(source=source, score=score, voter=voter, feedback_id=f"{voter}-{minute}",  # type: ignore[arg-type]
                          created_at=datetime(2024, 1, 1, 0, minute, tzinfo=UTC), **kw)  # type: ignore[arg-type]


def test_annotator_outranks_any_number_of_end_users() -> None:
    rows = [sig("end_user", 1, f"u{i}") for i in range(5)] + [sig("annotator", -1, "a1")]
    result = resolve_label(rows)
    assert result is not None and result.label == "bad"
    assert result.provenance.tag() == "annotator:single" and result.provenance.agreement == 1.0


def test_majority_within_tier_and_one_vote_per_voter() -> None:
    rows = [sig("annotator", 1, "a1"), sig("annotator", 1, "a2"), sig("annotator", -1, "a3"),
            sig("annotator", 1, "a3", minute=5)]  # a3 changed their mind: newest row counts
    result = resolve_label(rows)
    assert result is not None and (result.label, result.provenance.rule) == ("good", "unanimous")
    split = resolve_label(rows[:3])
    assert split is not None and split.provenance.rule == "majority"
    assert split.provenance.agreement == pytest.approx(2 / 3)
    assert resolve_label([sig("end_user", 1, "u1"), sig("end_user", -1, "u2")]) is None  # tie, no correction


def test_correction_overrides_verdict_and_ratings_normalise() -> None:
    rows = [sig("end_user", 1, "u1"), sig("end_user", 5, "u2", scale_min=1, scale_max=5,
                                           correction="Better answer")]
    result = resolve_label(rows)
    assert result is not None and result.label == "bad" and result.correction == "Better answer"
    assert result.provenance.tag() == "end_user:unanimous+correction(end_user)"
    assert result.rating == 1.0
    assert resolve_label([sig("end_user", 3, "u", scale_min=1, scale_max=5)]) is None  # midpoint abstains
    assert resolve_label([sig("annotator", 1, "a", retracted=True)]) is None
    assert resolve_label(list(reversed(rows))) == result  # order independent


def test_pii_counts_match_planted_cases() -> None:
    scrubber = PiiScrubber(extra_patterns={"ticket": r"TKT-\d{6}"})
    text = ("mail jane.doe+x@example.co.uk or bob@mail.example.com; call +44 20 7946 0958 or (415) 555-0132; "
            "card 4111 1111 1111 1111 and 4012-8888-8888-1881; not a card 4111 1111 1111 1112; "
            "hosts 192.168.10.4, 2001:db8::8a2e:370:7334 and ::1; not an ip 999.1.2.3; version 1.2.3; "
            "time 12:30:45; date 2024-05-01; ticket TKT-123456")
    out = scrubber.scrub(text)
    assert scrubber.figures() == {"card": 2, "email": 2, "ipv4": 1, "ipv6": 2, "phone": 2, "ticket": 1}
    for kept in ("4111 1111 1111 1112", "999.1.2.3", "1.2.3", "12:30:45", "2024-05-01"):
        assert kept in out
    assert "example" not in out and "7946" not in out and "TKT-" not in out
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    with pytest.raises(DatasetError, match="not a valid regular expression"):
        PiiScrubber(extra_patterns={"bad": "([unclosed"})


def test_dedup_counts_match_planted_cases() -> None:
    base = [make_record(i) for i in range(1, 201)]
    exact = [replace(base[i], interaction_id=1000 + i) for i in range(0, 30)]  # 30 exact copies
    near = [replace(base[i], interaction_id=2000 + i, response=base[i].response + " Thanks!")
            for i in range(50, 70)]  # 20 near copies (one word added to a long answer)
    flipped = [replace(base[i], interaction_id=3000 + i, label="bad" if base[i].label == "good" else "good")
               for i in range(100, 110)]  # same text, other label: kept (a preference signal, not a dup)
    deduper = Deduper()
    stream = base + exact + near + flipped
    kept = [r for batch in (stream[:128], stream[128:]) for r, k in zip(batch, deduper.keep_mask(batch),
                                                                        strict=True) if k]
    assert deduper.removed == {"exact": 30, "near": 20}
    assert len(kept) == 210


def test_splits_never_leak_and_are_stratified(tmp_path: Path) -> None:
    records = []
    for i in range(1, 3001):
        label = "bad" if i % 4 == 0 else "good"
        records.append(make_record(i, conversation=f"c{i % 700}", label=label,
                                   prompt=f"Q{i} {unique_text(i, 6)}", response=f"A{i} {unique_text(i + 7, 6)}"))
    result = export_snapshot(records, {"name": "leak", "formats": ["inspect"], "dedup_near": False}, tmp_path)
    seen: dict[str, str] = {}
    labels: dict[str, Counter[str]] = {}
    for line in (result.path / "index.tsv").read_text().splitlines()[1:]:
        _, conversation, split, label, _ = line.split("\t")
        assert seen.setdefault(conversation, split) == split, f"{conversation} in two splits"
        labels.setdefault(label, Counter())[split] += 1
    for counts in labels.values():
        total = sum(counts.values())
        assert counts["train"] / total == pytest.approx(0.8, abs=0.06)
        assert counts["test"] / total == pytest.approx(0.1, abs=0.05)
    for path in (result.path / "inspect").glob("*.jsonl"):
        assert all(r["metadata"]["split"] == path.stem for r in read_jsonl(path))
    splitter = Splitter(0, 0.8, 0.1, 0.1)
    assert [splitter.assign(f"c{i}") for i in range(50)] == [Splitter(0, 0.8, 0.1, 0.1).assign(f"c{i}")
                                                            for i in range(50)]
    assert [splitter.assign(f"c{i}") for i in range(50)] != [Splitter(1, 0.8, 0.1, 0.1).assign(f"c{i}")
                                                             for i in range(50)]


def test_manifest_reports_planted_pii_and_dups(tmp_path: Path) -> None:
    records = [make_record(i, prompt=f"Write to me at user{i}@example.org about {unique_text(i)}")
               for i in range(1, 41)]
    records += [replace(records[i], interaction_id=100 + i) for i in range(5)]
    manifest = export_snapshot(records, {"name": "figures", "formats": ["csv"]}, tmp_path).manifest
    assert manifest["pii"]["replacements"]["email"] == 45
    assert manifest["dedup"]["exact_removed"] == 5
    assert manifest["counts"]["rows"] == 40


def test_batch_pii_screen_changes_nothing_it_skips() -> None:
    planted = ("mail jane.doe+x@example.co.uk, call +44 20 7946 0958 or +14155550132, card 4111111111111111, "
               "host 2001:db8::1 or 10.0.0.1, ticket TKT-123456, ４１１１ fullwidth, ５５５-１２３４ phone")
    texts = [planted, "plain words only", "account123 billing456 order7.", "time 12:30:45", "ünïcödé 555 1234",
             "", "a:b", "x" * 50 + "1-2", "nothing: here"] + planted.split(", ")
    records = [make_record(i, prompt=texts[i % len(texts)], response=texts[(i * 7) % len(texts)] + " ok",
                           correction=texts[(i * 3) % len(texts)] or None,
                           pairwise=tuple(PairwiseJudgement(texts[(i * j) % len(texts)], "this") for j in range(i % 3)))
               for i in range(1, 60)]
    one, batch = PiiScrubber(), PiiScrubber()
    assert batch.scrub_batch(records) == [one.scrub_record(r) for r in records]
    assert batch.figures() == one.figures() and one.figures()["phone"] > 0


def test_dedup_preparation_elsewhere_decides_the_same() -> None:
    base = [make_record(i) for i in range(1, 121)]
    stream = base + [replace(base[i], interaction_id=500 + i) for i in range(10)]
    stream += [replace(base[i], interaction_id=700 + i, response=base[i].response + " Thanks!") for i in range(20, 30)]
    here, elsewhere, preparer = Deduper(), Deduper(), Deduper()
    for batch in (stream[:64], stream[64:]):
        assert here.keep_mask(batch) == elsewhere.keep_mask(batch, preparer.prepare(batch))
    assert here.removed == elsewhere.removed == {"exact": 10, "near": 10}

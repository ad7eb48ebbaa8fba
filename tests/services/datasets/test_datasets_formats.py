"""Every export format loads in its real consumer (or passes the consumer's own published rules)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import datasets
import jsonschema
import pyarrow.parquet as pq
import pytest
import yaml
from export_helpers import (
    PROMPTFOO_TEST_SCHEMA,
    cookbook_token_estimate,
    make_record,
    openai_cookbook_errors,
    read_jsonl,
    trl_dataset_type,
    unique_text,
)

from feedback.services.datasets.export import export_snapshot
from feedback.services.datasets.records import PairwiseJudgement
from feedback.services.datasets.writers import FORMATS

pytestmark = pytest.mark.once  # backend-independent: runs in the SQLite pass only


def _records() -> list:
    out = []
    for i in range(1, 161):
        if i % 10 == 0:
            out.append(make_record(i, correction=f"A corrected answer for case {i} with more detail."))
        elif i % 10 == 1:
            out.append(make_record(i, label="good", source="annotator", pairwise=(
                PairwiseJudgement(f"An alternative, worse answer {i}.", "this"),)))
        elif i % 10 in (2, 3):
            # thumbs up then thumbs down on the same prompt in the same conversation
            prompt = f"Shared prompt {unique_text(i // 10 + 5000)}?"
            out.append(make_record(i, conversation=f"pair-{i // 10}", prompt=prompt,
                                   label="good" if i % 10 == 2 else "bad",
                                   response=f"Reply variant {unique_text(i + 9000)}."))
        else:
            out.append(make_record(i))
    return out


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("exports")
    result = export_snapshot(_records(), {"name": "all-formats", "formats": sorted(FORMATS), "seed": 3,
                                          "splits": {"train": 0.6, "validation": 0.2, "test": 0.2}}, root)
    return result.path


def _files(snapshot: Path, fmt: str) -> list[Path]:
    files = sorted((snapshot / fmt).glob("*.json*"))
    assert files, f"no files for {fmt}"
    return files


@pytest.mark.parametrize("fmt", ["openai_sft", "openai_dpo", "trl_sft_messages", "trl_sft_prompt_completion",
                                 "trl_preference", "trl_kto", "openai_evals", "inspect"])
def test_jsonl_formats_load_with_datasets(snapshot: Path, fmt: str) -> None:
    files = {p.stem: str(p) for p in _files(snapshot, fmt)}
    loaded = datasets.load_dataset("json", data_files=files)
    assert set(loaded) == set(files)
    for split, path in files.items():
        assert loaded[split].num_rows == len(read_jsonl(Path(path))) > 0


def test_openai_sft_passes_cookbook_checks(snapshot: Path) -> None:
    rows = [r for p in _files(snapshot, "openai_sft") for r in read_jsonl(p)]
    assert len(rows) >= 10
    assert openai_cookbook_errors(rows) == {}
    assert max(cookbook_token_estimate(r["messages"]) for r in rows) < 16_385
    corrected = [r for r in rows if r["messages"][-1]["content"].startswith("A corrected answer")]
    assert len(corrected) == 16


def test_openai_dpo_shape(snapshot: Path) -> None:
    rows = [r for p in _files(snapshot, "openai_dpo") for r in read_jsonl(p)]
    # 16 corrections + 16 pairwise judgements + 16 thumbs up/down pairs
    assert len(rows) == 48
    for row in rows:
        assert set(row) == {"input", "preferred_output", "non_preferred_output"}
        assert openai_cookbook_errors([row["input"]]).get("missing_content", 0) == 0
        assert row["input"]["messages"][-1]["role"] == "user"
        for side in ("preferred_output", "non_preferred_output"):
            assert row[side] == [{"role": "assistant", "content": row[side][0]["content"]}]
        assert row["preferred_output"] != row["non_preferred_output"]


@pytest.mark.parametrize(("fmt", "kind"), [("trl_sft_messages", "language_modeling"),
                                           ("trl_sft_prompt_completion", "prompt_completion"),
                                           ("trl_preference", "preference"),
                                           ("trl_kto", "unpaired_preference")])
def test_trl_key_set_rules(snapshot: Path, fmt: str, kind: str) -> None:
    rows = [r for p in _files(snapshot, fmt) for r in read_jsonl(p)]
    assert rows
    assert {trl_dataset_type(r) for r in rows} == {kind}
    if fmt == "trl_kto":
        assert {r["label"] for r in rows} == {True, False}


def test_hf_dataset_folder_loads_from_card(snapshot: Path) -> None:
    folder = snapshot / "hf_dataset"
    card = (folder / "README.md").read_text()
    header = yaml.safe_load(card.split("---")[1])
    for key in ("license", "language", "task_categories", "tags", "size_categories", "pretty_name"):
        assert key in header
    declared = {f["split"] for f in header["configs"][0]["data_files"]}
    loaded = datasets.load_dataset(str(folder))
    assert set(loaded) == declared
    manifest = json.loads((snapshot / "manifest.json").read_text())
    for split in declared:
        assert loaded[split].num_rows == manifest["counts"]["splits"][split]["total"]
        assert pq.ParquetFile(folder / "data" / f"{split}.parquet").metadata.num_row_groups >= 1
    row = loaded["train"][0]
    assert row["messages"][0] == {"role": "system", "content": "You are a support assistant."}
    assert row["label"] in ("good", "bad")


def test_inspect_ai_json_dataset(snapshot: Path) -> None:
    from inspect_ai.dataset import json_dataset

    for path in _files(snapshot, "inspect"):
        samples = json_dataset(str(path))
        rows = read_jsonl(path)
        assert len(samples) == len(rows) > 0
        first = samples[0]
        assert first.id == rows[0]["id"] and first.target == rows[0]["target"]
        assert first.input[-1].role == "user" and first.metadata["split"] == path.stem


def test_promptfoo_tests_match_schema(snapshot: Path) -> None:
    for path in _files(snapshot, "promptfoo"):
        tests = json.loads(path.read_text())
        jsonschema.validate(tests, PROMPTFOO_TEST_SCHEMA)
        assert all(t["assert"][0]["type"] == "similar" for t in tests)


def test_openai_evals_and_deepeval(snapshot: Path) -> None:
    for path in _files(snapshot, "openai_evals"):
        for row in read_jsonl(path):
            assert set(row) == {"input", "ideal"} and isinstance(row["ideal"], str)
    for path in _files(snapshot, "deepeval"):
        goldens = json.loads(path.read_text())
        assert isinstance(goldens, list) and goldens
        for golden in goldens:
            assert set(golden) == {"input", "expected_output", "context", "additional_metadata"}
            assert isinstance(golden["input"], str) and all(isinstance(c, str) for c in golden["context"])


def test_csv_loads_with_header(snapshot: Path) -> None:
    files = {p.stem: str(p) for p in sorted((snapshot / "csv").glob("*.csv"))}
    loaded = datasets.load_dataset("csv", data_files=files)
    for split, path in files.items():
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert loaded[split].num_rows == len(rows)
        assert json.loads(rows[0]["messages"])[1]["role"] == "user"


def test_csv_cells_a_spreadsheet_would_run_are_escaped_unless_kept(tmp_path: Path) -> None:
    """CSV injection: text from end users and models that starts like a formula gets an apostrophe."""
    payloads = ['=HYPERLINK("http://evil.example","click")', "+1 call me", "-5 degrees", "@SUM(A1:A9)",
                "\tcmd", "a plain answer"]
    records = [make_record(i + 1, response=text, conversation=f"csv-{i}", label="good")
               for i, text in enumerate(payloads)]
    params = {"name": "csv-guard", "formats": ["csv"], "splits": {"train": 1.0, "validation": 0.0, "test": 0.0},
              "dedup_near": False, "pii": False}
    cells = {}
    for mode in ("escape", "keep"):
        result = export_snapshot(records, {**params, "csv_formulas": mode}, tmp_path / mode)
        with open(result.path / "csv" / "train.csv", newline="") as fh:
            cells[mode] = {int(r["interaction_id"]): r for r in csv.DictReader(fh)}
        assert result.manifest["params"]["csv_formulas"] == mode
    for i, text in enumerate(payloads, start=1):
        assert cells["keep"][i]["response"] == text
        assert cells["escape"][i]["response"] == (text if text == "a plain answer" else "'" + text)
        assert cells["escape"][i]["rating"] == cells["keep"][i]["rating"] == "1.0"  # numbers stay numbers

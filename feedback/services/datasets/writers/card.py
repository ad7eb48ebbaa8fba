"""The Hugging Face dataset card (README.md) for an exported dataset folder."""

from __future__ import annotations

from typing import Any

from feedback.services.datasets.records import SPLITS


def size_category(total: int) -> str:
    """The Hub's `size_categories` bucket for a row count."""
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if total < limit:
            return label
    return "10M<n<100M"


def _yaml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dataset_card(options: dict[str, Any], counts: dict[str, int]) -> str:
    """Card text: YAML header (license, language, task, tags, size, configs/data_files) and a summary body."""
    name = str(options.get("name", "dataset"))
    version = int(options.get("version", 1))
    languages = list(options.get("language", ["en"]))
    total = sum(counts.values())
    lines = ["---", f"pretty_name: {_yaml_str(f'{name} v{version}')}",
             f"license: {_yaml_str(str(options.get('license', 'other')))}", "language:"]
    lines += [f"- {_yaml_str(lang)}" for lang in languages]
    lines += ["task_categories:", "- text-generation", "tags:", "- feedback-loop", "- human-feedback", "- rlhf",
              "size_categories:", f"- {size_category(total)}", "configs:", "- config_name: default",
              "  data_files:"]
    for split in SPLITS:
        if counts.get(split):
            lines += [f"  - split: {split}", f"    path: data/{split}.parquet"]
    lines += ["---", "", f"# {name} (version {version})", "",
              "Interactions from a feedback-loop project with their resolved human feedback label, exported "
              "by `feedback export`. Each row carries `label_provenance` (which source tier and rule decided "
              "the label) and `agreement`.", "", "| split | rows |", "| --- | --- |"]
    lines += [f"| {split} | {counts.get(split, 0)} |" for split in SPLITS]
    lines += ["", "Columns: `messages` (prompt turns), `response` (model answer), `label` (good/bad), "
              "`correction` and `ideal` (the answer to train towards), `rating` (0..1), `reasons`, `tags`, "
              "`extra` (JSON-encoded interaction metadata).", "",
              "Splits are assigned per conversation (hash of conversation id and seed): no conversation "
              "appears in two splits. See `manifest.json` next to this folder for filters, dedup and PII "
              "figures and file checksums.", ""]
    return "\n".join(lines)

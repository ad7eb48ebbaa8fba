"""Differences between two snapshots: parameters, counts, files and rows.

Row-level differences stream both snapshots' `index.tsv` files (sorted by interaction id) side by side, so
diffing two million-row versions needs constant memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from feedback.services.datasets.versions import load_manifest

INDEX_HEADER = "interaction_id\tconversation_id\tsplit\tlabel\tdigest\n"
_EXAMPLES = 10


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: data}


def _changed(a: dict[str, Any], b: dict[str, Any]) -> dict[str, list[Any]]:
    fa, fb = _flatten(a), _flatten(b)
    return {k: [fa.get(k), fb.get(k)] for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)}


def _index_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    with open(path, encoding="utf-8") as fh:
        header = fh.readline()
        if header != INDEX_HEADER:
            return
        for line in fh:
            fields = line.rstrip("\n").split("\t")
            yield int(fields[0]), fields[1:]


def _row_diff(a: Path, b: Path) -> dict[str, Any]:
    counts = {"added": 0, "removed": 0, "split_changed": 0, "label_changed": 0, "content_changed": 0,
              "unchanged": 0}
    examples: dict[str, list[int]] = {k: [] for k in counts if k != "unchanged"}

    def note(kind: str, ident: int) -> None:
        counts[kind] += 1
        if kind in examples and len(examples[kind]) < _EXAMPLES:
            examples[kind].append(ident)

    left, right = _index_rows(a / "index.tsv"), _index_rows(b / "index.tsv")
    x, y = next(left, None), next(right, None)
    while x is not None or y is not None:
        if y is None or (x is not None and x[0] < y[0]):
            note("removed", x[0])  # type: ignore[index]
            x = next(left, None)
        elif x is None or y[0] < x[0]:
            note("added", y[0])
            y = next(right, None)
        else:
            (_, ra), (ident, rb) = x, y
            if ra[1] != rb[1]:
                note("split_changed", ident)
            elif ra[2] != rb[2]:
                note("label_changed", ident)
            elif ra[3] != rb[3]:
                note("content_changed", ident)
            else:
                note("unchanged", ident)
            x, y = next(left, None), next(right, None)
    return {"counts": counts, "examples": examples}


def diff_snapshots(a: Path, b: Path) -> dict[str, Any]:
    """Compare snapshot directories `a` (old) and `b` (new)."""
    ma, mb = load_manifest(a), load_manifest(b)
    files_a = {f["path"]: f["sha256"] for f in ma.get("files", [])}
    files_b = {f["path"]: f["sha256"] for f in mb.get("files", [])}
    return {
        "a": {"name": ma.get("name"), "version": ma.get("version"), "fingerprint": ma.get("fingerprint")},
        "b": {"name": mb.get("name"), "version": mb.get("version"), "fingerprint": mb.get("fingerprint")},
        "identical_data": ma.get("fingerprint") == mb.get("fingerprint"),
        "params": _changed(ma.get("params", {}), mb.get("params", {})),
        "counts": _changed(ma.get("counts", {}), mb.get("counts", {})),
        "files": {
            "added": sorted(set(files_b) - set(files_a)),
            "removed": sorted(set(files_a) - set(files_b)),
            "changed": sorted(p for p in set(files_a) & set(files_b) if files_a[p] != files_b[p]),
            "unchanged": sorted(p for p in set(files_a) & set(files_b) if files_a[p] == files_b[p]),
        },
        "rows": _row_diff(Path(a), Path(b)),
    }

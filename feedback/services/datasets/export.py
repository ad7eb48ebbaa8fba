"""The export pipeline: records -> filter -> PII scrub -> dedup -> split -> writers -> published snapshot.

Works on any iterator of `Record`s ordered by interaction id (the database service streams them with a
server-side cursor); memory is bounded by one batch, the dedup key arrays, the thumbs-pair pending table and
one Parquet row group per split.
"""

from __future__ import annotations

import gc
import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feedback.services.datasets import prefetch
from feedback.services.datasets.dedup import Deduper, Prepared
from feedback.services.datasets.diff import INDEX_HEADER
from feedback.services.datasets.errors import DatasetError, EmptySelection
from feedback.services.datasets.pairs import PairBuilder
from feedback.services.datasets.params import ExportParams, parse_params
from feedback.services.datasets.pii import PiiScrubber
from feedback.services.datasets.prefetch import RecordSource
from feedback.services.datasets.records import SPLITS, Provenance, Record
from feedback.services.datasets.splits import Splitter
from feedback.services.datasets.versions import (
    SCHEMA_VERSION,
    code_version,
    discard,
    prepare,
    publish,
    write_json,
)
from feedback.services.datasets.wire import RenderedBatch
from feedback.services.datasets.writers import FORMATS, FileInfo, Writer
from feedback.services.datasets.writers.base import HashingFile

BATCH = 4096
_GC_YOUNG = 1_000_000  # allocations between young-generation collections during an export


@dataclass(frozen=True)
class ExportResult:
    """A published snapshot."""

    name: str
    version: int
    path: Path
    manifest: dict[str, Any]


def _digest(record: Record) -> str:
    text = "\x1f".join((record.response, record.correction or "", *(m.content for m in record.messages)))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class Front:
    """The stateless-per-row first stage: ascending-id check, filters, PII scrubbing, input counters.

    It sees every record in order, so it can run in-process or in a reader process (`prefetch`); `counts`
    (input, filtered_out) and the scrubber's counts are merged into the run at the end.
    """

    def __init__(self, params: ExportParams) -> None:
        self.params = params
        self.scrubber = PiiScrubber(params.pii_patterns, enabled=params.pii)
        self.counts: Counter[str] = Counter()
        self.last_id: int | None = None
        # with no filter set `matches` accepts every record: skip the call
        self.filtering = any(v not in (None, []) for v in params.filters.model_dump().values())

    def apply(self, batch: list[Record]) -> tuple[list[Record], list[str]]:
        """The batch's selected records, scrubbed, in order, with their content digests (for `index.tsv`)."""
        selected = []
        for record in batch:
            if self.last_id is not None and record.interaction_id <= self.last_id:
                raise DatasetError("records must arrive in ascending interaction id order",
                                   details={"interaction_id": record.interaction_id})
            self.last_id = record.interaction_id
            if self.filtering and not self.params.filters.matches(record):
                self.counts["filtered_out"] += 1
                continue
            selected.append(record)
        self.counts["input"] += len(batch)
        selected = self.scrubber.scrub_batch(selected)
        return selected, [_digest(r) for r in selected]


class _Run:
    """Mutable state of one export run (counters, writers, pair builder)."""

    def __init__(self, params: ExportParams, tmp: Path, version: int) -> None:
        self.params = params
        self.front = Front(params)
        self.splitter = Splitter(params.seed, params.splits.train, params.splits.validation, params.splits.test)
        self.deduper = Deduper(exact=params.dedup_exact, near=params.dedup_near)
        self.pairer = PairBuilder(tuple(params.pair_origins))
        options = {"name": params.name, "version": version, "license": params.license,
                   "language": params.language, "row_group_size": params.row_group_size,
                   "csv_formulas": params.csv_formulas}
        self.writers: list[Writer] = [FORMATS[f](tmp, **options) for f in params.formats]
        # pairs are built only for formats that write them (the thumbs pending table costs ~10% of a run)
        self.pairing = any(w.kind == "pairs" for w in self.writers)
        self.index = HashingFile(tmp / "index.tsv", "index.tsv")
        self.index.write(INDEX_HEADER.encode())
        self.counts = self.front.counts  # input / filtered_out from the front stage, rows here
        self.per_split: dict[str, Counter[str]] = {s: Counter() for s in SPLITS}
        self.provenance: Counter[str] = Counter()
        self.pairs_per_split: Counter[str] = Counter()

    @property
    def renders_ahead(self) -> bool:
        """Whether the reader process can render every output (`Writer.split_free`, no preference pairs)."""
        return not self.pairing and all(w.split_free and w.kind == "records" for w in self.writers)

    def _admit(self, interaction_id: int, conversation_id: str, label: str, provenance: Provenance, digest: str,
               tags: dict[int, str]) -> str:
        """Count a kept record, write its index line and return its split (`tags`: provenance texts by object,
        shared within a batch)."""
        split = self.splitter.assign(conversation_id)
        self.counts["rows"] += 1
        self.per_split[split][label] += 1
        tag = tags.get(id(provenance))
        if tag is None:
            tag = tags[id(provenance)] = provenance.tag()
        self.provenance[tag] += 1
        self.index.write(f"{interaction_id}\t{conversation_id}\t{split}\t{label}\t{digest}\n".encode(), 1)
        return split

    def feed(self, selected: list[Record], digests: list[str], prepared: Prepared | None = None) -> None:
        """Deduplicate, split, pair and write records that passed the front stage (`prepared`: see `Deduper`)."""
        record_writers = [w for w in self.writers if w.kind == "records"]
        pair_writers = [w for w in self.writers if w.kind == "pairs"]
        tags: dict[int, str] = {}  # provenance objects are shared: format each once per batch
        for record, keep, digest in zip(selected, self.deduper.keep_mask(selected, prepared), digests,
                                          strict=True):
            if not keep:  # (ids are stable while the batch lives)
                continue
            split = self._admit(record.interaction_id, record.conversation_id, record.label, record.provenance,
                                digest, tags)
            for writer in record_writers:
                writer.write(record, split)
            if self.pairing:
                for pair in self.pairer.pairs_for(record, split):
                    self.pairs_per_split[split] += 1
                    for writer in pair_writers:
                        writer.write(pair, split)

    def feed_rendered(self, batch: RenderedBatch) -> None:
        """`feed` for a batch the reader already rendered (`renders_ahead`): the same files, byte for byte."""
        rows: list[int] = []
        splits: list[str] = []
        tags: dict[int, str] = {}
        for i, keep in enumerate(self.deduper.keep_mask(batch.ids, batch.prepared)):
            if keep:
                rows.append(i)
                splits.append(self._admit(batch.ids[i], batch.conversations[i], batch.labels[i],
                                          batch.provenances[i], batch.digests[i], tags))
        for writer, output in zip(self.writers, batch.outputs, strict=True):
            writer.write_rendered(output, rows, splits)

    def abort(self) -> None:
        for writer in self.writers:
            writer.abort()
        self.index.close()

    def manifest(self, version: int, files: list[FileInfo], source: dict[str, Any]) -> dict[str, Any]:
        data_files = sorted((f for f in files if not f.path.endswith("README.md")), key=lambda f: f.path)
        params = self.params.model_dump(mode="json")
        fingerprint = hashlib.sha256(repr(([{k: v for k, v in params.items() if k != "name"}],
                                           [(f.path, f.sha256) for f in data_files])).encode()).hexdigest()
        warnings = [f"{f.path} has {f.rows} examples; OpenAI fine-tuning needs at least 10"
                    for f in files if f.path.startswith("openai_") and f.path.endswith(".jsonl") and f.rows < 10]
        warnings += [f"format {w.name} produced no rows" for w in self.writers
                     if w.name != "hf_dataset" and not any(f.path.startswith(w.name + "/") for f in files)]
        return {
            "name": self.params.name, "version": version, "schema_version": SCHEMA_VERSION,
            "code_version": code_version(), "fingerprint": fingerprint, "params": params, "source": source,
            "counts": {
                "input": self.counts["input"], "filtered_out": self.counts["filtered_out"],
                "rows": self.counts["rows"],
                "splits": {s: {"good": c["good"], "bad": c["bad"], "total": c.total()}
                           for s, c in self.per_split.items()},
                "pairs": {"by_origin": self.pairer.figures(),
                          "by_split": {s: self.pairs_per_split[s] for s in SPLITS}} if self.pairing else None,
                "skipped_by_format": {w.name: w.skipped for w in self.writers},
            },
            "label_provenance": dict(sorted(self.provenance.items())),
            "dedup": self.deduper.figures(),
            "pii": {"enabled": self.params.pii, "replacements": self.front.scrubber.figures()},
            "files": [{"path": f.path, "sha256": f.sha256, "bytes": f.bytes, "rows": f.rows}
                      for f in sorted(files, key=lambda f: f.path)],
            "warnings": warnings,
        }


def export_snapshot(records: Iterable[Record] | RecordSource, params: ExportParams | dict[str, Any], root: Path, *,
                    source: dict[str, Any] | None = None, progress: Callable[[int], None] | None = None,
                    batch_size: int = BATCH, min_version: int = 1) -> ExportResult:
    """Run the pipeline over `records` and publish `<root>/<name>/vNNNN`; nothing is published on error.

    `records` is an iterable of records, or a `RecordSource`: then the records are read, filtered and scrubbed
    in a reader process while this one deduplicates and writes (two cores).

    `source` is a dict the record producer may keep updating while it is iterated (e.g. interactions scanned,
    unresolved rows); it is copied into the manifest after the last record. `min_version` lets a caller that
    also records versions elsewhere (the database) keep numbers unique even if old directories were removed.
    """
    params = parse_params(params)
    PiiScrubber(params.pii_patterns)  # validate extra patterns before touching the disk
    version, tmp = prepare(Path(root), params.name, min_version)
    run: _Run | None = None
    thresholds = gc.get_threshold()
    # Every batch makes tens of thousands of short-lived, acyclic objects (a 200k-row run leaves ~80 cyclic
    # ones in all): collecting the youngest generation every 700 allocations cost ~15% of the run, and every
    # 50,000 still ~0.4 s of the Parquet export's 200k rows (each pass walks the rows buffered for a row
    # group). Collect rarely while exporting; restored afterwards.
    gc.set_threshold(max(thresholds[0], _GC_YOUNG), *thresholds[1:])
    try:
        run = _Run(params, tmp, version)
        if isinstance(records, RecordSource):  # the front stage runs in a reader process
            ahead = run.writers if run.renders_ahead else None
            for body, count in prefetch.fronted(records, run.front, run.deduper, batch_size, ahead):
                if isinstance(body, RenderedBatch):
                    run.feed_rendered(body)
                else:
                    run.feed(*body)
                if progress is not None:
                    progress(count)
        else:
            for batch in prefetch.batches(records, batch_size):
                run.feed(*run.front.apply(batch))
                if progress is not None:
                    progress(len(batch))
        if run.counts["rows"] == 0:
            raise EmptySelection("the selection is empty: no rows matched the filters",
                                 details={"input": run.counts["input"], "filtered_out": run.counts["filtered_out"],
                                          "filters": params.filters.model_dump(mode="json")})
        files = [run.index.close()]
        for writer in run.writers:
            files.extend(writer.close())
        manifest = run.manifest(version, files, dict(source or {}))
        write_json(tmp / "manifest.json", manifest)
        final = publish(tmp, Path(root), params.name, version)
    except BaseException:
        if run is not None:
            run.abort()
        discard(tmp)
        raise
    finally:
        gc.set_threshold(*thresholds)
    return ExportResult(params.name, version, final, manifest)

"""Checksums of export outputs at a fixed seed, to prove a change to the pipeline keeps every byte.

Seeds the bench rows plus planted edge cases (several signals per interaction, annotations with pairwise
comparisons, ratings, retractions, non-ASCII and escaped text, multimodal contents, odd metadata, duplicates,
PII) on SQLite and PostgreSQL, runs a few parameter sets in every format, with and without the reader process,
and prints one line per output file: `backend mode params path sha256` (the manifest without its code
version). Compare two runs with `diff`.

    python -m bench.export.checksums --rows 20000 > before.txt
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from bench.export import seed
from bench.export.run import _project
from feedback.db import make_engine
from feedback.models import Feedback, Interaction, LabelStudioConnection, LSAnnotationRecord
from feedback.services import migrations
from feedback.services.datasets import service
from feedback.services.datasets.writers import FORMATS
from tests.databases import temporary_database

PARAMS: dict[str, dict[str, Any]] = {
    "all": {"formats": sorted(FORMATS), "seed": 3},
    "bench": {"formats": ["openai_sft", "hf_dataset"], "dedup_near": False},
    "filtered": {"formats": ["openai_sft", "hf_dataset", "csv", "trl_kto"], "pii_patterns": {"ticket": r"T-\d{4}"},
                 "filters": {"label_sources": ["annotator", "end_user"], "min_agreement": 0.5,
                             "tags": ["beta", "x"], "exclude_tags": ["skip"], "models": ["gpt-4o-mini", "m\u00e9"]},
                 "splits": {"train": 0.5, "validation": 0.25, "test": 0.25}},
    "plain": {"formats": ["openai_sft", "hf_dataset", "trl_preference"], "pii": False, "dedup_exact": False,
              "pair_origins": ["thumbs"], "filters": {"since": "2024-01-01T10:00:00Z", "verdicts": ["good"]}},
    "rating": {"formats": ["openai_sft", "hf_dataset", "inspect"], "feedback_key": "rating"},
    "rendered": {"formats": ["hf_dataset", "openai_evals", "openai_sft", "trl_kto", "trl_sft_messages",
                             "trl_sft_prompt_completion"], "seed": 5, "row_group_size": 1000},
}
MESSAGES: list[Any] = [
    [{"role": "user", "content": "caf\u00e9 \u65e5\u672c \U0001f600 \"quoted\" back\\slash\nline\ttab \x01 \u2028"}],
    [{"role": "system", "content": "sys"}, {"content": [{"type": "text", "text": "part one "},
                                                          {"type": "image_url", "image_url": {"url": "x"}},
                                                          {"type": "text", "text": "part two"}]}],
    [{"role": "user", "content": None}, "not a dict", {"role": "tool", "content": {"b": 1, "a": [2.5]}}],
    [{"role": "system", "content": "only a system prompt"}],
    [],
    [{"role": "user", "content": 42}, {"role": "assistant", "content": "earlier turn"},
     {"role": "user", "content": "reach me at jo.doe@example.org or 10.0.0.1 or fe80::1 or T-1234"}],
    [{"role": "user", "content": "card 4111 1111 1111 1111, phone +44 20 7946 0958, digits \u0661\u0662\u0663"}],
    [{"role": "user", "content": "  Spaces   and\tTABS\n\nUPPER  "}],
]
METADATA: list[Any] = [{"tags": ["x", "beta", 3, True, None]}, {"tags": "beta"}, {"z": 1.5, "a": {"n": [1, 1e16]}},
                       {"channel": "web", "locale": "fr-\u00e9"}, {"tags": ["skip", "beta"]}, {}, {"k": 1}]


def _edge_rows(session: Session, project_id: int, first: int, count: int) -> None:
    """`count` interactions from id `first` covering the edge cases, with their feedback and annotations."""
    base = datetime(2024, 1, 1, 9, tzinfo=UTC)
    connection = LabelStudioConnection(project_id=project_id, name="edge", url="http://ls.invalid", token="t",
                                       token_kind="legacy", ls_project_id=1, template="pairwise")
    session.add(connection)
    session.flush()
    for n in range(count):
        iid = first + n
        at = base + timedelta(minutes=7 * n, microseconds=0 if n % 4 else 123456)
        dup = n % 11 == 5  # an exact copy of the previous interaction's texts
        k = n - 1 if dup else n
        session.add(Interaction(
            id=iid, project_id=project_id, external_id=f"edge-{iid}",
            conversation_id=None if n % 13 == 0 else f"edge-conv-{n // 4}", messages=MESSAGES[k % len(MESSAGES)],
            response="" if k % 17 == 3 else f"Answer {k} \u00fcber r\u00e9sum\u00e9 see help@corp.io #{k % 5}",
            model=None if n % 19 == 0 else ("gpt-4o-mini", "m\u00e9", "other")[n % 3],
            model_version=None if n % 23 == 0 else "v1", meta=METADATA[n % len(METADATA)], created_at=at))
        session.flush()
        votes = [("end_user", 1.0 if n % 3 else -1.0, f"u{n % 4}")]
        if n % 5 == 0:
            votes += [("end_user", -1.0, "u9"), ("end_user", 1.0 if n % 2 else -1.0, "u8")]
        if n % 7 == 0:
            votes.append(("annotator", -1.0 if n % 2 else 1.0, "ann"))
        if n % 29 == 0:
            votes.append(("end_user", 0.0, "u7"))  # abstains
        for j, (source, score, voter) in enumerate(votes):
            correction = (f"Better answer {n}" if n % 6 == 1 and j == 0 else "   " if n % 31 == 2 else None)
            session.add(Feedback(project_id=project_id, interaction_id=iid, feedback_uid=f"{iid}:{j}", revision=1,
                                 key="helpfulness", source=source, score=score, correction=correction,
                                 reasons=["tone", "wrong"][: n % 3], end_user_id=None if n % 9 == 0 else voter,
                                 meta={}, retracted=n % 10 == 3 and j == 0, created_at=at,
                                 updated_at=at + timedelta(seconds=j * (1 if n % 2 else -1))))
        session.add(Feedback(project_id=project_id, interaction_id=iid, feedback_uid=f"{iid}:r", revision=1,
                             key="rating", source="end_user", score=float(1 + n % 5), correction=None, reasons=[],
                             end_user_id="r", meta={}, retracted=False, created_at=at, updated_at=at))
        if n % 4 == 2:
            session.add(LSAnnotationRecord(
                project_id=project_id, connection_id=connection.id, interaction_id=iid, ls_project_id=1,
                ls_annotation_id=iid, annotator_id=None if n % 8 == 2 else 7,
                verdict=("good", "bad", None)[n % 3], rating=None if n % 3 != 2 else float(n % 5 + 1),
                preference=("a", "b", None)[n % 3], compared_response=None if n % 12 == 10 else f"Other {n}",
                corrected_text=f"Annotated fix {n}" if n % 16 == 6 else None, reasons=["tone"],
                was_cancelled=n % 20 == 14, deleted=n % 24 == 18, raw=[], received_via="webhook",
                ls_updated_at=at, created_at=at, updated_at=at + timedelta(seconds=n % 3)))
    session.commit()


@contextmanager
def seeded(backend: str, rows: int, work: Path) -> Iterator[str]:
    """A database of `rows` bench interactions plus the edge cases; yields its SQLAlchemy URL."""
    with temporary_database(backend, work, prefix="fl_checksums") as url:
        migrations.upgrade(url)
        _project(url)
        if backend == "sqlite":
            seed.load_sqlite(url.removeprefix("sqlite:///"), rows, 1)
        else:
            seed.load_postgres(url, rows, 1)
        url = url.replace("postgresql://", "postgresql+psycopg://")
        engine = make_engine(url)
        with Session(engine) as session:
            _edge_rows(session, 1, rows + 1, 400)
        engine.dispose()
        yield url


def _file_lines(folder: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.name == "manifest.json":
            manifest = json.loads(data)
            manifest.pop("code_version")
            data = json.dumps(manifest, sort_keys=True).encode()
        yield str(path.relative_to(folder)), hashlib.sha256(data).hexdigest()


def main() -> None:
    """Seed each backend and print the checksum lines of every parameter set and mode."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fl-checksums-") as tmp:
        work = Path(tmp)
        for backend in args.backends.split(","):
            with seeded(backend, args.rows, work) as url:
                engine = make_engine(url)
                for parallel in (True, False):
                    service.PARALLEL = parallel
                    mode = "reader" if parallel else "inline"
                    for name, params in PARAMS.items():
                        with Session(engine) as session:
                            result = service.run_export(session, 1, {"name": name, **params}, work / mode)
                        for path, digest in _file_lines(result.path):
                            print(backend, mode, name, path, digest, flush=True)
                engine.dispose()


if __name__ == "__main__":
    main()

"""Streaming writer building blocks: hashing files opened lazily per split, JSONL and JSON-array writers.

A writer sees one item at a time (a `Record` or a `PreferencePair`) together with its split, turns it into zero
or more output rows and appends them to `<format>/<split>.<ext>`. Files are only created for splits that get
rows. SHA-256 is computed while writing, so closing a writer yields the manifest's file entries directly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import orjson

from feedback.services.datasets.records import Message, PreferencePair, Record

ALLOWED_ROLES = frozenset({"system", "user", "assistant"})
_CHUNK = 1 << 20  # bytes joined before one write + hash update


@dataclass(frozen=True)
class FileInfo:
    """One written file as listed in the manifest."""

    path: str
    sha256: str
    bytes: int
    rows: int


class HashingFile:
    """A binary file that hashes what it writes and counts rows (small writes are joined, then hashed once)."""

    def __init__(self, path: Path, relpath: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.relpath = relpath
        self._fh: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._sha = hashlib.sha256()
        self._pending: list[bytes] = []
        self._pending_size = 0
        self.size = 0
        self.rows = 0

    def write(self, data: bytes, rows: int = 0) -> None:
        """Append bytes, counting `rows` logical rows."""
        self._pending.append(data)
        self._pending_size += len(data)
        self.size += len(data)
        self.rows += rows
        if self._pending_size >= _CHUNK:
            self._drain()

    def _drain(self) -> None:
        chunk = b"".join(self._pending)
        self._fh.write(chunk)
        self._sha.update(chunk)
        self._pending = []
        self._pending_size = 0

    def close(self) -> FileInfo:
        """Close the file and return its manifest entry."""
        self._drain()
        self._fh.close()
        return FileInfo(self.relpath, self._sha.hexdigest(), self.size, self.rows)


def dumps(obj: Any) -> str:
    """Deterministic compact JSON (insertion-ordered keys, UTF-8 kept as is)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def dumps_plain_line(obj: Any) -> bytes:
    """`dumps(obj).encode() + b"\\n"` for values holding only str, int, bool, None, lists and dicts (no floats).

    orjson writes exactly the same bytes as `json.dumps(ensure_ascii=False, separators=(",", ":"))` for those
    types; floats are left to `dumps` because the two format some of them differently (`1e+16` vs `1e16`).
    """
    return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)


_EXTRA = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str)


_EXTRA_MEMO: dict[tuple[tuple[str, str], ...], str] = {}
_EXTRA_BY_OBJECT: dict[int, tuple[Mapping[str, object], str]] = {}
_MEMO_SIZE = 10_000


def extra_json(record: Record) -> str:
    """The record's metadata as the `extra` JSON text: `json.dumps(sort_keys=True, ensure_ascii=False,
    default=str)`, through one reused encoder (`json.dumps` builds a new one per call for these options).

    Records never mutate their metadata and share one dict for repeated metadata (the reader decodes each
    text once, and a pickled batch keeps them shared), so the text is first looked up by the dict itself (the
    memo holds the dict, so its id cannot be reused meanwhile). Metadata of only string keys and values repeats
    a lot (channel, app, locale): those texts are also memoised by the items (strings only, so `1`, `1.0` and
    `True` can never share an entry).
    """
    meta = record.metadata
    known = _EXTRA_BY_OBJECT.get(id(meta))
    if known is not None and known[0] is meta:
        return known[1]
    if all(type(k) is str and type(v) is str for k, v in meta.items()):
        key = tuple(meta.items())
        text = _EXTRA_MEMO.get(key)
        if text is None:
            if len(_EXTRA_MEMO) >= _MEMO_SIZE:
                _EXTRA_MEMO.clear()
            text = _EXTRA_MEMO[key] = _EXTRA.encode(dict(meta))
    else:
        text = _EXTRA.encode(dict(meta))
    if len(_EXTRA_BY_OBJECT) >= _MEMO_SIZE:
        _EXTRA_BY_OBJECT.clear()
    _EXTRA_BY_OBJECT[id(meta)] = (meta, text)
    return text


def messages(items: Iterable[Message]) -> list[dict[str, str]]:
    """Messages as plain `{"role", "content"}` dicts."""
    return [m.as_dict() for m in items]


def assistant(content: str) -> list[dict[str, str]]:
    """A one-message assistant turn."""
    return [{"role": "assistant", "content": content}]


def chat_ready(prompt: tuple[Message, ...]) -> bool:
    """True when a prompt only uses system/user/assistant roles and ends with a user or assistant turn."""
    return bool(prompt) and all(m.role in ALLOWED_ROLES for m in prompt) and prompt[-1].role != "system"


def metadata(record: Record, split: str) -> dict[str, Any]:
    """The fixed-shape metadata object attached to eval rows (every value keeps one type across rows)."""
    return {
        "interaction_id": record.interaction_id,
        "conversation_id": record.conversation_id,
        "split": split,
        "model": record.model,
        "model_version": record.model_version,
        "created_at": record.created_at.isoformat(),
        "label": record.label,
        "label_provenance": record.provenance.tag(),
        "agreement": round(record.provenance.agreement, 6),
        "reasons": ",".join(record.reasons),
        "tags": ",".join(record.tags),
        "extra": extra_json(record),
    }


class Writer:
    """Base class: one format, files per split, `write()` per item, `close()` returns file entries."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "records"  # "records" or "pairs"
    ext: ClassVar[str] = "jsonl"
    description: ClassVar[str] = ""
    plain: ClassVar[bool] = False  # rows never hold floats: serialise with `dumps_plain_line`
    split_free: ClassVar[bool] = False  # `rows` ignores the split: a batch can be rendered before its splits

    def __init__(self, root: Path, **options: Any) -> None:
        self.root = root
        self.options = options
        self.files: dict[str, HashingFile] = {}
        self.skipped = 0

    def file(self, split: str) -> HashingFile:
        """The split's output file, created and started on first use."""
        handle = self.files.get(split)
        if handle is None:
            relpath = f"{self.name}/{split}.{self.ext}"
            handle = self.files[split] = HashingFile(self.root / relpath, relpath)
            self.start(handle)
        return handle

    def start(self, handle: HashingFile) -> None:
        """Write a file header (nothing for JSONL)."""

    def finish(self, handle: HashingFile) -> None:
        """Write a file footer (nothing for JSONL)."""

    def rows(self, item: Record | PreferencePair, split: str) -> list[dict[str, Any]]:
        """Output rows for one item; an empty list skips it."""
        raise NotImplementedError

    def serialise(self, rows: list[dict[str, Any]]) -> bytes:
        """One item's output rows as the bytes appended to its file."""
        if self.plain:
            return dumps_plain_line(rows[0]) if len(rows) == 1 else b"".join(dumps_plain_line(r) for r in rows)
        return "".join(dumps(r) + "\n" for r in rows).encode()

    def write(self, item: Record | PreferencePair, split: str) -> None:
        """Serialise and append the item's rows to its split file."""
        rows = self.rows(item, split)
        if not rows:
            self.skipped += 1
            return
        self.file(split).write(self.serialise(rows), len(rows))

    def render(self, records: Sequence[Record]) -> Any:
        """The records' output before their splits are known (`split_free` writers only; may run in the
        export's reader process): per record its serialised rows and their count, for `write_rendered`."""
        rendered = [self.rows(record, "") for record in records]
        return [self.serialise(rows) if rows else b"" for rows in rendered], [len(rows) for rows in rendered]

    def write_rendered(self, rendered: Any, rows: Sequence[int], splits: Sequence[str]) -> None:
        """Append the output `render` gave for the batch's records at positions `rows` (in order) to the files
        of their `splits`: the same bytes `write` appends record by record."""
        data, counts = rendered
        for i, split in zip(rows, splits, strict=True):
            if counts[i]:
                self.file(split).write(data[i], counts[i])
            else:
                self.skipped += 1

    def close(self) -> list[FileInfo]:
        """Finish and close every file (in split order)."""
        infos = []
        for split in sorted(self.files):
            self.finish(self.files[split])
            infos.append(self.files[split].close())
        return infos

    def abort(self) -> None:
        """Close every file without finishing it (the export failed; its build directory is discarded)."""
        for handle in self.files.values():
            handle.close()


class JsonArrayWriter(Writer):
    """Streams a JSON array (`[\\n row,\\n row\\n]`) per split, for tools that do not read JSONL."""

    ext = "json"

    def start(self, handle: HashingFile) -> None:
        handle.write(b"[\n")

    def write(self, item: Record | PreferencePair, split: str) -> None:
        rows = self.rows(item, split)
        if not rows:
            self.skipped += 1
            return
        handle = self.file(split)
        prefix = ",\n" if handle.rows else ""
        handle.write((prefix + ",\n".join(dumps(r) for r in rows)).encode(), len(rows))

    def finish(self, handle: HashingFile) -> None:
        handle.write(b"\n]\n")

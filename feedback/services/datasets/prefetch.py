"""Run the export's front stage (read, resolve, filter, scrub) in a reader process, so it uses a second core.

The reader is forked; it opens its own database connection (it never touches the parent's pooled ones), runs
`RecordSource.open()` and the `Front` stage batch by batch, and sends each batch's selected records (pickled
through their constructors, see `records`) and content digests through a pipe. The pipe holds little, so the
reader is at most a batch or two ahead: memory stays bounded. At the end it sends its counters (input,
filtered out, PII replacements) and the source statistics, which the parent merges; an exception in the
reader is re-raised in the parent.
"""

from __future__ import annotations

import multiprocessing
import pickle
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from feedback.services.datasets.records import Record

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from feedback.services.datasets.export import Front


def batches(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    """Consecutive lists of `size` records (the last one shorter)."""
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class RecordSource:
    """Opens the record stream inside the reader process: `opener()` returns (records, live stats dict)."""

    def __init__(self, opener: Callable[[], tuple[Iterable[Record], dict[str, Any]]],
                 stats: dict[str, Any]) -> None:
        self.opener = opener
        self.stats = stats  # updated in the parent from the reader's final figures


def _reader(source: RecordSource, front: Front, size: int, out: Connection) -> None:
    try:
        records, stats = source.opener()
        for batch in batches(records, size):
            before = front.counts["input"]
            selected, digests = front.apply(batch)
            out.send_bytes(pickle.dumps(("batch", selected, digests, front.counts["input"] - before),
                                        protocol=pickle.HIGHEST_PROTOCOL))
        out.send_bytes(pickle.dumps(("end", dict(front.counts), dict(front.scrubber.counts), dict(stats))))
    except BaseException as exc:  # noqa: BLE001 - every failure goes to the parent
        try:
            payload = pickle.dumps(("error", exc, traceback.format_exc()))
            pickle.loads(payload)
        except Exception:  # noqa: BLE001 - an exception that does not survive pickling: send its text
            payload = pickle.dumps(("error", RuntimeError(f"{type(exc).__name__}: {exc}"), traceback.format_exc()))
        out.send_bytes(payload)
    finally:
        out.close()


def fronted(source: RecordSource, front: Front, size: int) -> Iterator[tuple[list[Record], list[str], int]]:
    """`Front.apply`'s (records, digests) and the records read, per batch, computed by a forked reader; merges
    the reader's counters at the end."""
    receive, send = multiprocessing.get_context("fork").Pipe(duplex=False)
    reader = multiprocessing.get_context("fork").Process(target=_reader, args=(source, front, size, send),
                                                         name="export-reader", daemon=True)
    reader.start()
    send.close()
    try:
        while True:
            try:
                message = pickle.loads(receive.recv_bytes())
            except EOFError:
                raise RuntimeError(f"the export reader process died (exit code {reader.exitcode})") from None
            if message[0] == "batch":
                yield message[1], message[2], message[3]
            elif message[0] == "end":
                front.counts.update(message[1])
                front.scrubber.counts.update(message[2])
                source.stats.update(message[3])
                return
            else:
                message[1].add_note(f"raised in the export reader process:\n{message[2]}")
                raise message[1]
    finally:
        receive.close()
        reader.join(timeout=5)
        if reader.is_alive():
            reader.terminate()
            reader.join()

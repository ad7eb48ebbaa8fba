"""Run the export's front stage (read, resolve, filter, scrub) in a reader process, so it uses a second core.

The reader is forked; it opens its own database connection (it never touches the parent's pooled ones), runs
`RecordSource.open()` and the `Front` stage batch by batch, and sends each batch's selected records (as columns,
see `wire`) and content digests through a pipe. A thread of the parent moves them into a queue of two batches,
so neither process waits for the other at the pipe, and the reader is never more than a few batches ahead:
memory stays bounded. When the parent is the slower side (it still has a batch waiting when the next one is
ready), the reader also does that batch's stateless dedup preparation, so the two processes even out whatever
the formats cost.

When every writer can render records before their splits are known (`Writer.split_free`), the reader also
renders such a batch and sends its output instead of records (`wire.RenderedBatch`): the parent then only
deduplicates, splits, counts and appends bytes, and rebuilds no record for it. At the end the reader sends its counters
(input, filtered out, PII replacements) and the source statistics, which the parent merges; an exception in the
reader is re-raised in the parent.
"""

from __future__ import annotations

import gc
import multiprocessing
import pickle
import queue
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from feedback.services.datasets import wire
from feedback.services.datasets.records import Record

_AHEAD = 2  # batches received but not yet processed (bounds memory: a batch is a few MB pickled)

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from feedback.services.datasets.dedup import Deduper, Prepared
    from feedback.services.datasets.export import Front
    from feedback.services.datasets.writers import Writer

    Fronted = tuple[list[Record], list[str], Prepared | None] | wire.RenderedBatch


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


def _reader(source: RecordSource, front: Front, deduper: Deduper, size: int, out: Connection, consumed: Any,
            writers: list[Writer] | None) -> None:
    try:
        records, stats = source.opener()
        for sent, batch in enumerate(batches(records, size)):
            before = front.counts["input"]
            selected, digests = front.apply(batch)
            count = front.counts["input"] - before
            # The parent has not finished the previous batch yet: it is the slower side, so take its stateless
            # dedup preparation for this batch (the same values whichever process computes them) and, when the
            # writers can, render the batch too, so the parent rebuilds no record for it.
            if sent - consumed.value < 2:
                body: Any = (wire.pack(selected), digests, None)
            elif writers is None:
                body = (wire.pack(selected), digests, deduper.prepare(selected))
            else:
                body = wire.rendered(selected, digests, deduper.prepare(selected),
                                     [writer.render(selected) for writer in writers])
            out.send_bytes(pickle.dumps(("batch", body, count), protocol=pickle.HIGHEST_PROTOCOL))
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


def fronted(source: RecordSource, front: Front, deduper: Deduper, size: int,
            writers: list[Writer] | None = None) -> Iterator[tuple[Fronted, int]]:
    """Per batch, computed by a forked reader: `Front.apply`'s (records, digests) and, when the reader had
    time, `deduper.prepare` of the records; with `writers` (all `split_free`), a `wire.RenderedBatch` of their
    output instead of records. Each comes with the number of records read; the reader's counters are merged
    at the end."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    consumed = context.RawValue("q", 0)  # batches this process has finished (the reader balances on it)
    reader = context.Process(target=_reader, args=(source, front, deduper, size, send, consumed, writers),
                             name="export-reader", daemon=True)
    gc.freeze()  # the reader's collections then skip every inherited object: their pages stay shared
    try:
        reader.start()
    finally:
        gc.unfreeze()
    send.close()
    inbox: queue.Queue[bytes | None] = queue.Queue(maxsize=_AHEAD)
    stop = threading.Event()
    pump = threading.Thread(target=_pump, args=(receive, inbox, stop), name="export-reader-pipe", daemon=True)
    pump.start()
    try:
        while True:
            data = inbox.get()
            if data is None:
                raise RuntimeError(f"the export reader process died (exit code {reader.exitcode})")
            message = pickle.loads(data)
            if message[0] == "batch":
                body = message[1]
                if not isinstance(body, wire.RenderedBatch):
                    body = (wire.unpack(body[0]), body[1], body[2])
                yield body, message[2]
                consumed.value += 1
            elif message[0] == "end":
                front.counts.update(message[1])
                front.scrubber.counts.update(message[2])
                source.stats.update(message[3])
                return
            else:
                message[1].add_note(f"raised in the export reader process:\n{message[2]}")
                raise message[1]
    finally:
        stop.set()
        reader.join(timeout=5)
        if reader.is_alive():
            reader.terminate()
            reader.join()
        pump.join()  # the reader is gone: its end of the pipe is closed, so the pump's read returns
        receive.close()


def put_until_stopped(target: queue.Queue[Any], item: Any, stop: threading.Event) -> bool:
    """Put `item` into the bounded queue `target`, waiting for room until `stop` is set; whether it went in."""
    while not stop.is_set():
        try:
            target.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _pump(receive: Connection, inbox: queue.Queue[bytes | None], stop: threading.Event) -> None:
    """Move the reader's messages from the pipe into `inbox` (bounded), so neither process waits for the
    other to reach the pipe; None marks the end of the pipe."""
    while not stop.is_set():
        try:
            data: bytes | None = receive.recv_bytes()
        except (EOFError, OSError):
            data = None
        put_until_stopped(inbox, data, stop)
        if data is None:
            return

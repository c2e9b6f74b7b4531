"""The one thread that writes the pipeline's records to SQLite, in the order they were submitted.

Stages submit small operations (callables taking the store). FIFO order keeps the promises of
``station.store.repo``: an event row before its media rows, a media row only after its file is durable.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from station.stats import Stats
from station.store.repo import StationStore

log = logging.getLogger(__name__)

StoreOp = Callable[[StationStore], None]
_STOP = object()


class StoreWriter:
    def __init__(self, *, db_path: Path, stats: Stats, on_outbox: Callable[[], None],
                 maintenance: StoreOp | None = None, maxsize: int = 1000) -> None:
        """``maintenance`` runs on this thread after each write that added outbox rows (retention)."""
        self._db_path = db_path
        self._stats = stats
        self._on_outbox = on_outbox
        self._maintenance = maintenance
        self._ops: queue.Queue = queue.Queue(maxsize=maxsize)
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._ready = threading.Event()
        self._stop_requested = threading.Event()  # set only if a stop must not wait for a full disk
        self._error: BaseException | None = None
        self._pending = 0
        self._pending_lock = threading.Lock()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def submit(self, op: StoreOp, *, outbox: bool = False) -> None:
        """Queue a write (blocks only if the writer is far behind: these are promises, never dropped)."""
        with self._pending_lock:
            self._pending += 1
        self._ops.put((op, outbox))

    def request_maintenance(self) -> None:
        """Run retention soon (on this thread), e.g. after a write to the media card failed."""
        self.submit(lambda store: None, outbox=True)

    def stop(self, *, patience_s: float = 10.0) -> None:
        """Apply what is queued, then end. A write still failing ``patience_s`` after the stop (a full disk)
        is abandoned: start-up recovery finishes the open sequence and adopts its files next time."""
        if not self._thread.is_alive():
            return
        deadline = threading.Timer(patience_s, self._stop_requested.set)
        deadline.daemon = True
        deadline.start()
        self._ops.put(_STOP)
        self._thread.join()
        deadline.cancel()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def pending(self) -> int:
        """Operations submitted and not yet applied (including the one being applied)."""
        with self._pending_lock:
            return self._pending

    def _run(self) -> None:
        try:
            store = StationStore(self._db_path)
        except BaseException as exc:  # reported to start(), which raises it on the caller's thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while (item := self._ops.get()) is not _STOP:
                self._apply(store, *item)
                with self._pending_lock:
                    self._pending -= 1
        finally:
            store.close()

    def _apply(self, store: StationStore, op: StoreOp, outbox: bool) -> None:
        """Apply one write. Transient failures (a full disk, a lock, an I/O hiccup) are retried until they
        pass — these writes are promises — with retention run in between to free space; a write that can
        never succeed (a bug: constraint or schema error) is logged and counted, not retried forever."""
        delay = 0.1
        while True:
            try:
                op(store)
                break
            except sqlite3.OperationalError as exc:
                if not _transient(exc):
                    self._give_up(exc)
                    return
                self._stats.add("store_errors")
                log.error("store write failed, retrying in %.1f s: %s", delay, exc)
                self._maintain(store)
                if self._stop_requested.wait(delay):
                    self._give_up(exc)
                    return
                delay = min(delay * 2, 5.0)
            except sqlite3.Error as exc:
                self._give_up(exc)
                return
        if outbox:
            self._on_outbox()
            self._maintain(store)

    def _maintain(self, store: StationStore) -> None:
        if self._maintenance is not None:
            try:
                self._maintenance(store)
            except (sqlite3.Error, OSError) as exc:
                log.error("store maintenance failed: %s", exc)

    def _give_up(self, exc: BaseException) -> None:
        log.critical("store write dropped after an error that retrying cannot fix: %s", exc)
        self._stats.add("store_ops_failed")


def _transient(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return any(word in text for word in ("locked", "busy", "full", "disk i/o"))

"""SQLite in the embedded mode: one writer at a time, taken in turn.

SQLite lets one connection write at a time; a waiting writer polls (``busy_timeout``) and is not served in order,
so a background job that commits listing after listing can starve a person's save until it fails with «database
is locked». Here every write transaction of this process (what may write begins ``IMMEDIATE``) first takes a
ticket from a first-come-first-served lock, so a save waits for at most the one job transaction in progress.
Other processes (a CLI run beside the server) are still arbitrated by SQLite's busy timeout.
"""
from __future__ import annotations

import threading
from typing import Any

WAIT_SECONDS = 60.0  # then SQLite's own busy timeout decides (a job that fits the encoder holds its turn long)


class TicketLock:
    """A fair (FIFO) lock, reentrant per thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = 0
        self._serving = 0
        self._owner: int | None = None
        self._depth = 0
        self._skipped: set[int] = set()

    def acquire(self, timeout: float = WAIT_SECONDS) -> bool:
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return True
            ticket = self._next
            self._next += 1
            if not self._cond.wait_for(lambda: self._serving == ticket, timeout):
                # Give the turn up without blocking those behind: the ticket is skipped when it comes up.
                self._skipped.add(ticket)
                return False
            self._owner, self._depth = me, 1
            return True

    def release(self) -> None:
        with self._cond:
            if self._owner != threading.get_ident():
                return
            self._depth -= 1
            if self._depth:
                return
            self._owner = None
            self._serving += 1
            while self._serving in self._skipped:
                self._skipped.discard(self._serving)
                self._serving += 1
            self._cond.notify_all()


def install(engine: Any, reads_only: Any) -> None:
    """Listen on ``engine``: BEGIN (deferred for ``reads_only()``, else IMMEDIATE after the ticket), and give the
    ticket back at commit or rollback."""
    from sqlalchemy import event

    lock = TicketLock()
    key = "cosmos_write_ticket"

    def on_begin(connection: Any) -> None:
        if reads_only():
            connection.exec_driver_sql("BEGIN")
            return
        connection.info[key] = lock.acquire()
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except Exception:
            release(connection)
            raise

    def release(connection: Any, *_args: Any) -> None:
        if connection.info.pop(key, False):
            lock.release()

    def on_reset(_dbapi_connection: Any, record: Any, _reset_state: Any) -> None:
        if record.info.pop(key, False):
            lock.release()

    event.listen(engine, "begin", on_begin)
    event.listen(engine, "commit", release)
    event.listen(engine, "rollback", release)
    event.listen(engine.pool, "reset", on_reset)

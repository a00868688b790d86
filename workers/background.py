"""The embedded mode's background worker: follow-up work after a commit (indexing, matching, notifications) runs
on one daemon thread of this process instead of inside the request, so a save answers at once.

One thread means one background writer: with SQLite's WAL and busy timeout the requests' short write
transactions and this thread's wait for each other instead of failing with «database is locked». Identical
jobs already waiting are queued once (ten saves in a row drain the outbox once, not ten times).
"""
from __future__ import annotations

import json
import logging
import queue
import threading
from typing import Any

from flask import Flask

log = logging.getLogger(__name__)


class BackgroundRunner:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self._queue: queue.Queue[tuple[str, str, list[Any], dict[str, Any]] | None] = queue.Queue()
        self._pending: set[str] = set()
        self._running: str | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.failures = 0

    def submit(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Queue job ``name``; False when the same job with the same arguments is already waiting."""
        key = name + json.dumps([list(args), kwargs], sort_keys=True, default=str)
        with self._lock:
            if key in self._pending:
                return False
            self._pending.add(key)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="cosmos-background-jobs", daemon=True)
                self._thread.start()
        self._queue.put((key, name, list(args), kwargs))
        return True

    def busy(self, prefix: str = "") -> bool:
        """Whether a job whose name starts with ``prefix`` is waiting or running (the pages' «подбор выполняется…»)."""
        with self._lock:
            names = list(self._pending) + ([self._running] if self._running else [])
        return any(k.startswith(prefix) for k in names)

    def join(self, timeout: float = 30.0) -> bool:
        """Wait until every queued job is done (tests, the CLI before it exits); False on timeout."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.busy():
                return True
            time.sleep(0.02)
        return False

    def _loop(self) -> None:
        from workers.queue import execute

        while True:
            item = self._queue.get()
            if item is None:
                return
            key, name, args, kwargs = item
            with self._lock:
                self._pending.discard(key)
                self._running = key
            try:
                with self.app.app_context():
                    execute(name, args, kwargs)
            except Exception:  # logged; the outbox and the periodic jobs catch up on the next run
                self.failures += 1
                log.exception("background job %s failed", name)
            finally:
                with self._lock:
                    self._running = None


def runner_for(app: Flask) -> BackgroundRunner:
    runner = app.extensions.get("cosmos_background")
    if runner is None:
        runner = app.extensions["cosmos_background"] = BackgroundRunner(app)
    return runner


def matching_pending(app: Flask | None = None) -> bool:
    """Whether the background thread still has indexing or matching to do (False outside the embedded mode)."""
    from flask import current_app

    runner = (app or current_app).extensions.get("cosmos_background")
    return bool(runner and (runner.busy("matching.") or runner.busy("search.drain_outbox")))

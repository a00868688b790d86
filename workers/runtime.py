"""``cosmos worker`` and ``cosmos scheduler`` as long-running processes that outlive Redis and their own death.

- **Redis goes away**: neither process exits. Each waits for Redis with a capped exponential backoff (logged as
  «Redis unavailable … retrying in N s» and «Redis is back»), then carries on; the scheduler keeps its schedule.
- **Nothing is lost**: the outbox in the database is the source of truth, not Redis. On every (re)connect the worker
  queues one outbox drain and one stale-matching catch-up, so what was committed while Redis was down (or lost with
  a Redis restarted without persistence) is indexed and matched without waiting for the scheduler.
- **A worker dies mid-job** (SIGKILL, OOM, power): each worker keeps a short-lived liveness key in Redis from a
  thread, so it stays fresh during a long job. A «started» job whose worker's key has expired is taken out of
  RQ's StartedJobRegistry and put back at the front of its queue by any live worker (jobs are safe to repeat).
- **No per-job start-up**: jobs run in this process (RQ's ``SimpleWorker``, no fork per job) with the one
  application built at start, so the encoder, the index and the classifiers are loaded once; each job gets a
  fresh application context and database session. RQ's job timeout still applies (SIGALRM in the main thread).
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

log = logging.getLogger("cosmos.workers")

WORKER_PREFIX = "cosmos."
ALIVE_KEY = "cosmos:worker-alive:{}"
# What the worker queues on every (re)connect: the outbox's work and the matching it feeds.
CATCH_UP_JOBS = ("search.drain_outbox", "matching.refresh_stale")


def setting(app: Flask, name: str, default: float) -> float:
    """``app.config[name]``, else the environment's ``COSMOS_<name>``, else ``default``."""
    value = app.config.get(name) or os.environ.get(f"COSMOS_{name}")
    return float(value) if value else default


def _redis_errors() -> tuple[type[BaseException], ...]:
    import redis

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class Backoff:
    """Delays 0.5, 1, 2, 4 … seconds, capped at ``maximum``; ``reset`` after a success."""

    def __init__(self, maximum: float = 15.0, first: float = 0.5) -> None:
        self.maximum, self.first, self.attempt = maximum, first, 0

    def next(self) -> float:
        delay = min(self.maximum, self.first * (2 ** self.attempt))
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0


def wait_for_redis(connection, stop: threading.Event, what: str, backoff: Backoff) -> bool:
    """Ping until Redis answers (True) or ``stop`` is set (False), logging each retry and the recovery."""
    tries = 0
    while not stop.is_set():
        try:
            connection.ping()
        except _redis_errors() as exc:
            tries += 1
            delay = backoff.next()
            log.warning("%s: Redis unavailable (%s), retrying in %.1f s (attempt %d)", what, exc, delay, tries)
            stop.wait(delay)
            continue
        if tries:
            log.warning("%s: Redis is back after %d failed attempts", what, tries)
        backoff.reset()
        return True
    return False


def alive_key(worker_name: str) -> str:
    return ALIVE_KEY.format(worker_name)


def requeue_abandoned(connection, queue_names: Iterable[str]) -> list[str]:
    """Put back the «started» jobs of our workers that are no longer alive; the ids requeued.

    A job counts as abandoned when its worker was a ``cosmos worker`` (name prefix) whose liveness key has
    expired. Taking the entry out of the registry (ZREM) decides which live worker requeues it, so two sweeping
    workers never queue it twice. Jobs of other workers are left to RQ's own clean-up.
    """
    from rq import Queue
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus
    from rq.registry import StartedJobRegistry

    requeued: list[str] = []
    for name in queue_names:
        queue = Queue(name, connection=connection)
        registry = StartedJobRegistry(queue=queue)
        for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
            entry = f"{job_id}:{execution_id}"
            try:
                job = Job.fetch(job_id, connection=connection)
            except NoSuchJobError:
                connection.zrem(registry.key, entry)
                continue
            worker = job.worker_name or ""
            if not worker.startswith(WORKER_PREFIX) or connection.exists(alive_key(worker)):
                continue
            if job.get_status(refresh=False) != JobStatus.STARTED:
                continue
            if not connection.zrem(registry.key, entry):
                continue  # another worker took it first
            job.started_at = None
            queue.enqueue_job(job, at_front=True)
            requeued.append(job.id)
            log.warning("requeued job %s (%s) abandoned by dead worker %s", job.id, job.description, worker)
    return requeued


def _worker_class():
    from rq import SimpleWorker

    class CosmosWorker(SimpleWorker):
        """Runs each job in this process, in a fresh app context of the one long-lived application."""

        app: Flask

        def execute_job(self, job: Any, queue: Any) -> None:
            with self.app.app_context():
                super().execute_job(job, queue)

    return CosmosWorker


class ResilientWorker:
    """The ``cosmos worker`` loop: a fresh RQ worker per connection, a liveness thread, catch-up on connect."""

    def __init__(self, app: Flask, queue_names: list[str], *, connect: Callable[[], Any],
                 heartbeat: float | None = None, backoff_max: float | None = None) -> None:
        self.app = app
        self.queue_names = queue_names
        self.connect = connect
        self.heartbeat = heartbeat or setting(app, "WORKER_HEARTBEAT_SECONDS", 5.0)
        self.backoff = Backoff(backoff_max or setting(app, "WORKER_RECONNECT_MAX_SECONDS", 15.0))
        self.stop = threading.Event()
        self.name: str | None = None
        self.incarnations = 0

    # -- liveness -----------------------------------------------------------------------------------------------
    def _liveness_loop(self) -> None:
        connection = self.connect()
        ttl = max(3, int(self.heartbeat * 3))
        down = False
        while not self.stop.wait(self.heartbeat):
            name = self.name
            try:
                if name:
                    connection.set(alive_key(name), os.getpid(), ex=ttl)
                requeue_abandoned(connection, self.queue_names)
                if down:  # RQ's own loop may have reconnected by itself: catch up on what Redis missed
                    down = False
                    log.warning("worker %s: Redis is back", name)
                    self._catch_up(connection)
            except _redis_errors() as exc:
                if not down:  # once per outage; the main loop (or RQ's) retries with its backoff
                    log.warning("worker %s: Redis unavailable (%s), retrying", name, exc)
                down = True
            except Exception:
                log.exception("worker liveness check failed")
        connection.close()

    def _catch_up(self, connection) -> None:
        """Queue the outbox drain and the stale matching (the database knows what Redis may have lost)."""
        from rq import Queue

        from workers.queue import execute, get_spec, load_jobs, rq_options

        jobs = load_jobs()
        for name in CATCH_UP_JOBS:
            if name in jobs and get_spec(name).queue in self.queue_names:
                spec = get_spec(name)
                Queue(spec.queue, connection=connection).enqueue(execute, spec.name, [], {}, **rq_options(spec))
        log.info("worker: queued the catch-up jobs %s", ", ".join(CATCH_UP_JOBS))

    # -- the loop -----------------------------------------------------------------------------------------------
    def _on_signal(self, signum, frame) -> None:  # between two RQ workers (RQ installs its own while working)
        log.info("worker: signal %s, stopping", signum)
        self.stop.set()

    def run(self, *, burst: bool = False) -> int:
        """Work until stopped (SIGTERM/SIGINT) or, with ``burst``, until the queues are empty; the jobs done."""
        from rq import Queue

        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        threading.Thread(target=self._liveness_loop, name="cosmos-worker-liveness", daemon=True).start()
        worker_class = _worker_class()
        worked = 0
        while not self.stop.is_set():
            connection = self.connect()
            try:
                if not wait_for_redis(connection, self.stop, "worker", self.backoff):
                    break
                self.incarnations += 1
                self.name = f"{WORKER_PREFIX}{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:6]}"
                connection.set(alive_key(self.name), os.getpid(), ex=max(3, int(self.heartbeat * 3)))
                for job_id in requeue_abandoned(connection, self.queue_names):
                    log.info("worker: job %s requeued at start", job_id)
                if not burst:
                    self._catch_up(connection)
                worker = worker_class([Queue(n, connection=connection) for n in self.queue_names],
                                      connection=connection, name=self.name)
                worker.app = self.app
                worker.max_connection_wait_time = self.backoff.maximum
                log.info("worker %s: listening on %s", self.name, ",".join(self.queue_names))
                try:
                    worked += int(worker.work(burst=burst, with_scheduler=not burst))
                except _redis_errors() as exc:  # RQ's teardown (register_death) with Redis gone
                    log.warning("worker %s: lost Redis: %s", self.name, exc)
                if worker._shutdown_requested_date is not None:
                    break  # SIGTERM/SIGINT while RQ was working: a warm shutdown
            except _redis_errors() as exc:
                log.warning("worker: lost Redis while starting: %s", exc)
            finally:
                signal.signal(signal.SIGTERM, self._on_signal)
                signal.signal(signal.SIGINT, self._on_signal)
                connection.close()
            if burst and self._redis_up():
                break
            self.stop.wait(self.backoff.next())
        self.stop.set()
        return worked

    def _redis_up(self) -> bool:
        connection = self.connect()
        try:
            connection.ping()
            return True
        except _redis_errors():
            return False
        finally:
            connection.close()


class ResilientScheduler:
    """The ``cosmos scheduler`` loop: RQ's CronScheduler steps, with the outage handled between them."""

    def __init__(self, app: Flask, *, connect: Callable[[], Any], jobs=None, backoff_max: float | None = None):
        self.app = app
        self.connect = connect
        self.jobs = jobs
        self.backoff = Backoff(backoff_max or setting(app, "WORKER_RECONNECT_MAX_SECONDS", 15.0))
        self.stop = threading.Event()

    def _on_signal(self, signum, frame) -> None:
        log.info("scheduler: signal %s, stopping", signum)
        self.stop.set()

    def run(self) -> None:
        from workers.schedule import PERIODIC_JOBS, build_scheduler

        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        connection = self.connect()
        scheduler = build_scheduler(connection, self.jobs or PERIODIC_JOBS)
        registered = False
        try:
            while not self.stop.is_set():
                try:
                    if not registered:
                        scheduler.register_birth()
                        registered = True
                    if scheduler.enqueue_jobs():
                        scheduler.save()
                    scheduler.heartbeat()
                except _redis_errors() as exc:
                    log.warning("scheduler: Redis unavailable (%s)", exc)
                    registered = False
                    if not wait_for_redis(connection, self.stop, "scheduler", self.backoff):
                        break
                    continue
                self.stop.wait(min(scheduler.calculate_sleep_interval(), 5.0))
        finally:
            try:
                scheduler.register_death()
            except _redis_errors():
                pass
            connection.close()

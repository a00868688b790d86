"""Periodic jobs, declared as data. With Redis, ``cosmos scheduler`` runs them through RQ's cron scheduler; in the
embedded mode (no Redis) :class:`InlineScheduler` runs the same list in the process itself, one job at a time:
``cosmos scheduler`` in the foreground, ``cosmos demo`` in a thread beside the site."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    job: str
    interval: int | None = None  # seconds
    cron: str | None = None  # crontab expression, UTC


PERIODIC_JOBS: tuple[Periodic, ...] = (
    Periodic("search.drain_outbox", interval=30),
    Periodic("listings.expire", cron="15 * * * *"),
    Periodic("search.reconcile", cron="40 3 * * *"),
    Periodic("tenders.close_expired", cron="*/10 * * * *"),
    Periodic("analytics.refresh", cron="0 * * * *"),
    Periodic("matching.refresh_stale", interval=60),
    Periodic("matching.refit_encoder", cron="20 2 * * *"),
    Periodic("chains.suggest_for_needs", cron="*/10 * * * *"),
    Periodic("notifications.tender_events", cron="*/5 * * * *"),
    Periodic("notifications.digest", cron="5 * * * *"),
)


def build_scheduler(connection, jobs: tuple[Periodic, ...] = PERIODIC_JOBS):
    """An RQ ``CronScheduler`` with every periodic job registered on its job's queue."""
    from rq.cron import CronScheduler

    from workers.queue import execute, get_spec, load_jobs

    specs = load_jobs()
    scheduler = CronScheduler(connection=connection, name="cosmos-scheduler")
    for periodic in jobs:
        if periodic.job not in specs:
            continue  # a job whose module is not installed in this deployment
        spec = get_spec(periodic.job)
        scheduler.register(execute, spec.queue, args=(spec.name, [], {}), interval=periodic.interval,
                           cron=periodic.cron, job_timeout=spec.timeout, name=spec.name)
    return scheduler


def next_run(periodic: Periodic, after: datetime) -> datetime:
    """When ``periodic`` runs next after ``after`` (aware, UTC): one interval later, or the cron's next time."""
    if periodic.interval:
        return after + timedelta(seconds=periodic.interval)
    from croniter import croniter

    return croniter(periodic.cron, after).get_next(datetime)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class InlineScheduler:
    """The periodic jobs of the embedded mode, run in this process.

    ``run_due()`` runs every job whose time has come (each in an application context and a session of its own,
    a failure logged, not raised, so that one broken job stops no other) and sets its next time from when it
    ended, so a job longer than its interval does not pile up; ``run_forever`` sleeps until the next one. Nothing
    runs at start: interval jobs first run one interval later, cron jobs at their next time, as with RQ's
    scheduler. ``clock`` (aware UTC datetimes) is the one time it reads.
    """

    def __init__(self, app, jobs: tuple[Periodic, ...] = PERIODIC_JOBS, *,
                 clock: Callable[[], datetime] = _utcnow):
        from workers.queue import load_jobs

        specs = load_jobs()
        self.app = app
        self.clock = clock
        self.jobs = tuple(p for p in jobs if p.job in specs)
        start = clock()
        self.next_at = {p.job: next_run(p, start) for p in self.jobs}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_due(self) -> dict[str, object]:
        """Run the jobs that are due now; their results (the exception for a failed one) by name."""
        from workers.queue import execute

        now = self.clock()
        done: dict[str, object] = {}
        for periodic in self.jobs:
            if self.next_at[periodic.job] > now or self._stop.is_set():
                continue
            try:
                with self.app.app_context():
                    done[periodic.job] = execute(periodic.job, [], {})
            except Exception as exc:  # logged with its traceback; the next time comes as usual
                log.exception("periodic job %s failed", periodic.job)
                done[periodic.job] = exc
            self.next_at[periodic.job] = next_run(periodic, self.clock())
        return done

    def seconds_to_next(self) -> float:
        now = self.clock()
        return max(0.0, min((t - now).total_seconds() for t in self.next_at.values())) if self.next_at else 60.0

    def run_forever(self) -> None:
        log.info("running %d periodic jobs in this process", len(self.jobs))
        while not self._stop.wait(timeout=min(self.seconds_to_next(), 60.0)):
            self.run_due()

    def start(self) -> threading.Thread:
        """``run_forever`` in a daemon thread (it ends with the process, or at ``stop``)."""
        self._thread = threading.Thread(target=self.run_forever, name="cosmos-inline-scheduler", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float | None = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

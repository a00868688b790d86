"""Periodic jobs, declared as data and run by ``cosmos scheduler`` through RQ's cron scheduler."""
from __future__ import annotations

from dataclasses import dataclass


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

"""The embedded mode's scheduler: the same periodic jobs as RQ's, run in the process at their times."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from marketplace.listings.models import Listing, ListingStatus
from tests.workers.test_queue import always_fail  # noqa: F401  (declares tests.fail)
from workers.queue import job
from workers.schedule import PERIODIC_JOBS, InlineScheduler, Periodic, next_run

ticks: list[str] = []
T0 = datetime(2026, 12, 1, 10, 0, 5, tzinfo=UTC)


def test_next_run_of_an_interval_and_of_a_cron():
    assert next_run(Periodic("x", interval=30), T0) == T0 + timedelta(seconds=30)
    assert next_run(Periodic("x", cron="15 * * * *"), T0) == datetime(2026, 12, 1, 10, 15, tzinfo=UTC)
    assert next_run(Periodic("x", cron="40 3 * * *"), T0) == datetime(2026, 12, 2, 3, 40, tzinfo=UTC)


def test_every_declared_periodic_job_is_scheduled_and_nothing_runs_at_start(app):
    scheduler = InlineScheduler(app, now=T0)
    assert {p.job for p in scheduler.jobs} == {p.job for p in PERIODIC_JOBS}
    assert scheduler.run_due(T0) == {}
    assert scheduler.seconds_to_next(T0) == 30  # search.drain_outbox, the most frequent


def test_a_due_cron_job_runs_once_and_then_waits_for_its_next_time(app, db, factories):
    past = factories.listing("product", ends_on=date.today() - timedelta(days=1)).id
    db.session.commit()
    scheduler = InlineScheduler(app, (Periodic("listings.expire", cron="15 * * * *"),), now=T0)
    assert scheduler.run_due(T0 + timedelta(minutes=14)) == {}
    assert db.session.get(Listing, past).status == ListingStatus.ACTIVE
    at = T0 + timedelta(minutes=16)
    assert scheduler.run_due(at) == {"listings.expire": 1}
    db.session.expire_all()
    assert db.session.get(Listing, past).status == ListingStatus.CLOSED
    assert scheduler.run_due(at + timedelta(minutes=1)) == {}  # the next time is 11:15, or later if run late
    assert scheduler.next_at["listings.expire"] > at


@job("tests.tick", retries=0)
def tick():
    ticks.append("tick")


def test_a_failing_job_is_logged_and_stops_no_other(app, db, caplog):
    ticks.clear()
    jobs = (Periodic("tests.fail", interval=10), Periodic("tests.tick", interval=10))
    scheduler = InlineScheduler(app, jobs, now=T0)
    done = scheduler.run_due(T0 + timedelta(seconds=11))
    assert isinstance(done["tests.fail"], RuntimeError) and ticks == ["tick"]
    assert "periodic job tests.fail failed" in caplog.text
    assert scheduler.run_due(T0 + timedelta(seconds=12)) == {}  # both wait for their next time


def test_the_thread_stops_when_asked(app):
    scheduler = InlineScheduler(app, (Periodic("listings.expire", cron="15 3 * * *"),))
    thread = scheduler.start()
    assert thread.is_alive() and thread.daemon
    scheduler.stop()
    assert not thread.is_alive()

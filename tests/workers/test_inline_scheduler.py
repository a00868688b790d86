"""The embedded mode's scheduler: the same periodic jobs as RQ's, run in the process at their times."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from marketplace.listings.models import Listing, ListingStatus
from tests.workers.test_queue import always_fail  # noqa: F401  (declares tests.fail)
from workers.queue import job
from workers.schedule import PERIODIC_JOBS, InlineScheduler, Periodic, next_run

ticks: list[str] = []
T0 = datetime(2026, 12, 1, 10, 0, 5, tzinfo=UTC)


class Clock:
    """The scheduler's time, moved by the test; a job may move it too (one that takes long)."""

    def __init__(self, now: datetime = T0):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> Clock:
        self.now += timedelta(**delta)
        return self


def test_next_run_of_an_interval_and_of_a_cron():
    assert next_run(Periodic("x", interval=30), T0) == T0 + timedelta(seconds=30)
    assert next_run(Periodic("x", cron="15 * * * *"), T0) == datetime(2026, 12, 1, 10, 15, tzinfo=UTC)
    assert next_run(Periodic("x", cron="40 3 * * *"), T0) == datetime(2026, 12, 2, 3, 40, tzinfo=UTC)


def test_every_declared_periodic_job_is_scheduled_and_nothing_runs_at_start(app):
    scheduler = InlineScheduler(app, clock=Clock())
    assert {p.job for p in scheduler.jobs} == {p.job for p in PERIODIC_JOBS}
    assert scheduler.run_due() == {}
    assert scheduler.seconds_to_next() == 30  # search.drain_outbox, the most frequent


def test_a_due_cron_job_runs_once_and_then_waits_for_its_next_time(app, db, factories):
    past = factories.listing("product", ends_on=date.today() - timedelta(days=1)).id
    db.session.commit()
    clock = Clock()
    scheduler = InlineScheduler(app, (Periodic("listings.expire", cron="15 * * * *"),), clock=clock)
    assert scheduler.next_at["listings.expire"] == datetime(2026, 12, 1, 10, 15, tzinfo=UTC)
    clock.advance(minutes=14)
    assert scheduler.run_due() == {}
    assert db.session.get(Listing, past).status == ListingStatus.ACTIVE
    clock.advance(minutes=2)  # 10:16
    assert scheduler.run_due() == {"listings.expire": 1}
    db.session.expire_all()
    assert db.session.get(Listing, past).status == ListingStatus.CLOSED
    assert scheduler.next_at["listings.expire"] == datetime(2026, 12, 1, 11, 15, tzinfo=UTC)
    clock.advance(minutes=58)  # 11:14
    assert scheduler.run_due() == {}
    clock.advance(minutes=1)
    assert scheduler.run_due() == {"listings.expire": 0}


@job("tests.tick", retries=0)
def tick():
    ticks.append("tick")


def test_a_failing_job_is_logged_and_stops_no_other(app, db, caplog):
    ticks.clear()
    clock = Clock()
    jobs = (Periodic("tests.fail", interval=10), Periodic("tests.tick", interval=10))
    scheduler = InlineScheduler(app, jobs, clock=clock)
    clock.advance(seconds=11)
    done = scheduler.run_due()
    assert isinstance(done["tests.fail"], RuntimeError) and ticks == ["tick"]
    assert "periodic job tests.fail failed" in caplog.text
    clock.advance(seconds=1)
    assert scheduler.run_due() == {}  # both wait for their next time, the failed one too
    clock.advance(seconds=9)
    assert set(scheduler.run_due()) == {"tests.fail", "tests.tick"} and ticks == ["tick", "tick"]


@job("tests.slow_tick", retries=0)
def slow_tick():
    slow_clock.advance(seconds=25)  # the job takes longer than its interval


slow_clock = Clock()


def test_a_job_longer_than_its_interval_is_next_due_an_interval_after_it_ended(app):
    slow_clock.now = T0
    scheduler = InlineScheduler(app, (Periodic("tests.slow_tick", interval=10),), clock=slow_clock)
    slow_clock.advance(seconds=10)
    assert set(scheduler.run_due()) == {"tests.slow_tick"}
    assert scheduler.next_at["tests.slow_tick"] == T0 + timedelta(seconds=45)  # ended at +35, not piled up


def test_the_thread_stops_when_asked(app):
    scheduler = InlineScheduler(app, (Periodic("listings.expire", cron="15 3 * * *"),))
    thread = scheduler.start()
    assert thread.is_alive() and thread.daemon
    scheduler.stop()
    assert not thread.is_alive()

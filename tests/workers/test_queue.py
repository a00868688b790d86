from datetime import date, timedelta

import pytest
from sqlalchemy import select

from marketplace.core.models import OutboxEvent
from marketplace.listings.models import Listing, ListingStatus
from workers.queue import enqueue, execute, get_spec, job, load_jobs

calls: list[tuple] = []


@job("tests.record", queue="default", timeout=30, retries=2, retry_intervals=(1, 2))
def record_call(value, *, flag=False):
    calls.append((value, flag))
    return value * 2


@job("tests.fail", retries=0)
def always_fail():
    raise RuntimeError("boom")


def test_job_declares_its_queue_timeout_and_retries():
    spec = get_spec("tests.record")
    assert (spec.queue, spec.timeout, spec.retries, spec.retry_intervals) == ("default", 30, 2, (1, 2))
    assert "listings.expire" in load_jobs()


def test_inline_execution_without_redis(app, db):
    calls.clear()
    handle = record_call.enqueue(21, flag=True)
    assert (handle.status, handle.result) == ("finished", 42)
    assert calls == [(21, True)]


def test_inline_failure_is_reported_not_raised(app, db):
    handle = enqueue("tests.fail")
    assert handle.status == "failed" and "boom" in handle.error


def test_unknown_job_is_an_error(app, db):
    with pytest.raises(LookupError):
        enqueue("no.such.job")


def test_expire_job_closes_past_listings_and_is_safe_to_repeat(app, db, factories):
    past = factories.listing("product", ends_on=date.today() - timedelta(days=1)).id
    future = factories.listing("product", ends_on=date.today() + timedelta(days=10)).id
    assert execute("listings.expire", [], {}) == 1  # the job runs with a session of its own
    assert execute("listings.expire", [], {}) == 0
    assert db.session.get(Listing, past).status == ListingStatus.CLOSED
    assert db.session.get(Listing, future).status == ListingStatus.ACTIVE
    events = db.session.scalars(select(OutboxEvent).where(OutboxEvent.entity_id == past)).all()
    assert [e.op for e in events] == ["upsert"]


@pytest.mark.redis
def test_rq_worker_runs_an_enqueued_job(app, db, redis_url):
    import redis
    from rq import Queue, SimpleWorker

    calls.clear()
    connection = redis.Redis.from_url(redis_url)
    Queue("default", connection=connection).empty()
    app.config["REDIS_URL"] = redis_url
    try:
        handle = record_call.enqueue(5)
        assert handle.status == "queued" and handle.id
        assert calls == []  # not run yet: it waits in Redis
        worker = SimpleWorker([Queue("default", connection=connection)], connection=connection)
        worker.work(burst=True)
        from rq.job import Job

        assert Job.fetch(handle.id, connection=connection).return_value() == 10
        assert calls == [(5, False)]
    finally:
        app.config["REDIS_URL"] = None
        connection.close()  # the worker's pub/sub socket too


@pytest.mark.redis
def test_enqueue_defers_when_redis_is_down(app, db, redis_url):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    try:
        handle = record_call.enqueue(1)
    finally:
        app.config["REDIS_URL"] = None
    assert handle.status == "deferred" and handle.error


@pytest.mark.redis
def test_scheduler_registers_the_periodic_jobs(app, redis_url):
    import redis

    from workers.schedule import PERIODIC_JOBS, build_scheduler

    connection = redis.Redis.from_url(redis_url)
    scheduler = build_scheduler(connection)
    registered = {j.name: j for j in scheduler.get_jobs()}
    connection.close()
    assert set(registered) == {p.job for p in PERIODIC_JOBS}
    assert {"search.drain_outbox", "listings.expire", "search.reconcile"} <= set(registered)
    for name, cron_job in registered.items():  # each runs on its job's queue, under its job's timeout
        spec = get_spec(name)
        assert (cron_job.queue_name, cron_job.job_options["job_timeout"]) == (spec.queue, spec.timeout)
        assert cron_job.args == (name, [], {})


def test_every_periodic_job_names_a_declared_job():
    from workers.schedule import PERIODIC_JOBS

    declared = load_jobs()
    assert [p.job for p in PERIODIC_JOBS if p.job not in declared] == []
    assert all((p.interval is None) != (p.cron is None) for p in PERIODIC_JOBS)
    drain = next(p for p in PERIODIC_JOBS if p.job == "search.drain_outbox")
    assert drain.interval and drain.interval <= 60  # what an outage left is picked up within a minute


@pytest.mark.redis
def test_cosmos_worker_runs_what_was_queued(app, db, runner, redis_url):
    import redis
    from rq import Queue
    from rq.job import Job

    connection = redis.Redis.from_url(redis_url)
    Queue("default", connection=connection).empty()
    app.config["REDIS_URL"] = redis_url
    try:
        handle = record_call.enqueue(7)
        assert handle.status == "queued"
        result = runner.invoke(args=["worker", "--burst", "--queues", "default"])
    finally:
        app.config["REDIS_URL"] = None
    try:
        assert result.exit_code == 0, result.output
        job_ = Job.fetch(handle.id, connection=connection)  # the worker ran it in its forked work horse
        assert job_.get_status() == "finished" and job_.return_value() == 14
    finally:
        connection.close()


def test_worker_needs_redis_and_the_scheduler_runs_inline_without_it(app, runner, monkeypatch):
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code == 2 and "REDIS_URL" in result.output

    from workers.schedule import InlineScheduler

    ran: list[int] = []

    def once_then_interrupted(self):
        ran.append(len(self.jobs))
        raise KeyboardInterrupt  # what Ctrl+C does to the foreground loop
    monkeypatch.setattr(InlineScheduler, "run_forever", once_then_interrupted)
    result = runner.invoke(args=["scheduler"])
    assert result.exit_code == 0, result.output
    assert "в этом процессе" in result.output and ran and ran[0] >= 8

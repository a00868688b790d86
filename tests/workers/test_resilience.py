"""``cosmos worker`` and ``cosmos scheduler`` against a Redis server of the test's own that is stopped and started
again while they run, and a worker killed (SIGKILL) in the middle of a job. Real processes, no mocks."""
from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import delete, select

from tests.workers.processes import CosmosProcess, RedisServer, cosmos_env, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def spawn(app, database_url, instance_path, own_redis, tmp_path):
    started: list[CosmosProcess] = []

    def make(*command: str) -> CosmosProcess:
        env = cosmos_env(database_url, instance_path, own_redis.url)
        proc = CosmosProcess(list(command), env, tmp_path / f"{command[0]}-{len(started)}.log")
        started.append(proc)
        return proc

    yield make
    for proc in started:
        proc.stop()


def _enqueue_probe(app, redis_url: str, token: str, seconds: float = 0.0):
    from workers.queue import enqueue

    app.config["REDIS_URL"] = redis_url
    try:
        with app.app_context():
            handle = enqueue("system.probe", token, seconds)
    finally:
        app.config["REDIS_URL"] = None
    assert handle.status == "queued", handle
    return handle


def _probe(server: RedisServer, token: str) -> dict[str, str]:
    client = server.client()
    try:
        return {k.decode(): v.decode() for k, v in client.hgetall(f"cosmos:probe:{token}").items()}
    finally:
        client.close()


def _worker_ready(server: RedisServer, proc: CosmosProcess) -> bool:
    client = server.client()
    try:
        return any(key.decode().startswith("cosmos:worker-alive:") for key in client.keys("cosmos:worker-alive:*"))
    finally:
        client.close()


def test_worker_and_scheduler_outlive_a_redis_restart_and_the_outbox_catches_up(app, own_redis, spawn):
    from marketplace.core.audit import record_outbox
    from marketplace.core.models import OutboxEvent
    from marketplace.extensions import db

    worker = spawn("worker")
    scheduler = spawn("scheduler")
    wait_until(lambda: _worker_ready(own_redis, worker), 60, f"the worker up\n{worker.output()}")
    before = uuid.uuid4().hex
    _enqueue_probe(app, own_redis.url, before)
    first = wait_until(lambda: _probe(own_redis, before).get("finished"), 180, f"probe ran\n{worker.output()}")
    assert first == "1"
    pid_before = _probe(own_redis, before)["pid"]

    own_redis.stop()
    time.sleep(7)  # longer than the scheduler's longest sleep (5 s): both see the outage; backoff capped at 1 s
    assert worker.alive(), worker.output()
    assert scheduler.alive(), scheduler.output()
    with app.app_context():  # a change committed while Redis is away: only the outbox knows of it
        event = record_outbox("listing", 2_000_000_001, "delete")
        db.session.commit()
        event_id = event.id
    try:
        own_redis.start()  # the same port, and empty: every queued job is gone
        after = uuid.uuid4().hex
        _enqueue_probe(app, own_redis.url, after)
        wait_until(lambda: _probe(own_redis, after).get("finished"), 120, f"probe after restart\n{worker.output()}")
        # one process did both jobs, the worker itself: no fork and no application start per job
        assert pid_before == _probe(own_redis, after)["pid"] == str(worker.pid)

        def drained() -> bool:
            with app.app_context():
                return db.session.scalar(select(OutboxEvent.processed_at).where(OutboxEvent.id == event_id)) \
                    is not None

        wait_until(drained, 60, f"the outbox row drained after Redis returned\n{worker.output()}", interval=0.5)

        from rq.cron_scheduler_registry import get_keys

        client = own_redis.client()
        try:
            wait_until(lambda: get_keys(client), 30, f"the scheduler registered again\n{scheduler.output()}")
        finally:
            client.close()
        assert worker.alive() and scheduler.alive()
        assert "Redis unavailable" in worker.output() and "Redis is back" in scheduler.output()
    finally:
        with app.app_context():
            db.session.execute(delete(OutboxEvent).where(OutboxEvent.id == event_id))
            db.session.commit()


def test_a_job_whose_worker_was_killed_mid_job_is_requeued_and_finished(app, own_redis, spawn):
    from rq.job import Job

    first = spawn("worker")
    wait_until(lambda: _worker_ready(own_redis, first), 60, f"the worker up\n{first.output()}")
    token = uuid.uuid4().hex
    handle = _enqueue_probe(app, own_redis.url, token, seconds=3)
    wait_until(lambda: _probe(own_redis, token).get("started"), 180, f"the job started\n{first.output()}")
    first.kill()  # SIGKILL mid-job: nothing is cleaned up, the job stays «started»
    client = own_redis.client()
    try:
        assert Job.fetch(handle.id, connection=client).get_status() == "started"
        assert "finished" not in _probe(own_redis, token)

        second = spawn("worker")
        wait_until(lambda: _probe(own_redis, token).get("finished"), 60,
                   f"the abandoned job finished by the new worker\n{second.output()}")
        probe = _probe(own_redis, token)
        assert (probe["started"], probe["finished"], probe["pid"]) == ("2", "1", str(second.pid))
        wait_until(lambda: Job.fetch(handle.id, connection=client).get_status() == "finished", 10, "job finished")
        assert "abandoned by dead worker" in second.output()
    finally:
        client.close()


def test_loading_the_jobs_imports_no_marketplace_module():
    """The jobs import their services inside their bodies: a service that enqueues (``workers.queue``) never pulls
    the other services in through the job modules, so the import circle is closed only at call time."""
    code = ("import sys; from workers.queue import load_jobs; jobs = load_jobs(); "
            "print(len(jobs), sorted(m for m in sys.modules if m.split('.')[0] == 'marketplace'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(" ", 1)
    assert int(out[0]) >= 12 and out[1].strip() == "[]", out

"""Background job throughput: jobs/s of ``cosmos worker`` (jobs in the worker's long-lived application, no fork)
against RQ's forking ``Worker`` (a work horse per job, the set-up before issue 15), on a Redis of its own.

    python bench/bench_jobs.py [--jobs 200] [--drain-jobs 20] [--database-url postgresql://…] [--modes cosmos,fork]

Two kinds of job: ``system.probe`` (touches only Redis: the pipeline's own cost) and ``search.drain_outbox`` with
an empty outbox (opens the search index: what every real job pays once per process, or once per job when forked).
Without ``--database-url`` a SQLite file in a temporary instance is created, migrated and loaded with the
reference data. Prints jobs/s per mode
and kind, and the load average (the machine may be shared).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.workers.processes import free_port, wait_until  # noqa: E402

COSMOS = Path(sys.executable).with_name("cosmos")
FORK_WORKER = """
from rq import Queue, Worker
from marketplace import create_app
from workers.queue import load_jobs, redis_connection
app = create_app()
with app.app_context():
    load_jobs()
    connection = redis_connection()
    Worker([Queue(n, connection=connection) for n in ("default", "search")], connection=connection).work(burst=True)
"""


def run_mode(mode: str, kind: str, jobs: int, env: dict[str, str], redis_url: str) -> tuple[float, float]:
    import redis
    from rq import Queue

    from workers.queue import execute

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    queue_name = "default" if kind == "system.probe" else "search"
    queue = Queue(queue_name, connection=client)
    args = (["bench", 0.0], {}) if kind == "system.probe" else ([], {})
    for _ in range(jobs):
        queue.enqueue(execute, kind, *args, job_timeout=600)
    start = time.perf_counter()
    if mode == "cosmos":
        proc = subprocess.run([str(COSMOS), "worker", "--burst", "--queues", queue_name], env=env,
                              capture_output=True, text=True)
    else:
        proc = subprocess.run([sys.executable, "-c", FORK_WORKER], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    registry = queue.finished_job_registry
    done = registry.count
    if proc.returncode or done != jobs:
        print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"{mode}/{kind}: {done} of {jobs} jobs finished (exit {proc.returncode})")
    from rq.job import Job

    ends = sorted(job.ended_at for job in Job.fetch_many(registry.get_job_ids(), connection=client))
    client.close()
    steady = (len(ends) - 1) / max((ends[-1] - ends[0]).total_seconds(), 1e-6)
    return jobs / seconds, steady


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--drain-jobs", type=int, default=20, help="empty drains (each forked one loads the app)")
    parser.add_argument("--modes", default="cosmos,fork")
    parser.add_argument("--kinds", default="system.probe,search.drain_outbox")
    opts = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    server = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
                               "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
                              stdout=subprocess.DEVNULL)
    env = dict(os.environ, REDIS_URL=redis_url, SECRET_KEY="bench", COSMOS_INSTANCE_PATH=str(workdir),
               DATABASE_URL=opts.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}")
    os.environ.update(env)
    try:
        import redis

        wait_until(lambda: _ping(redis, redis_url), 10, "redis-server")
        if not opts.database_url:  # a fresh SQLite: the schema and the reference data (the encoder fits on them)
            subprocess.run([str(COSMOS), "db", "upgrade"], env=env, check=True, capture_output=True)
            subprocess.run([str(COSMOS), "refdata", "load"], env=env, check=True, capture_output=True)
        # Once, untimed: the first drain fits the built-in encoder and creates the index (saved for every later one).
        subprocess.run([str(COSMOS), "run-job", "search.drain_outbox"], env=env, check=True, capture_output=True)
        from marketplace import create_app

        with create_app().app_context():  # RQ needs no app to enqueue, but the job names must be known
            from workers.queue import load_jobs

            load_jobs()
            for kind in opts.kinds.split(","):
                for mode in opts.modes.split(","):
                    jobs = opts.jobs if kind == "system.probe" else opts.drain_jobs
                    overall, steady = run_mode(mode, kind, jobs, env, redis_url)
                    print(f"{kind:20} {mode:6} {jobs:4} jobs: {steady:8.1f} jobs/s between the first and the last "
                          f"job's end, {overall:7.1f} jobs/s with the worker's start", flush=True)
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def _ping(redis, url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url).ping())
    except redis.exceptions.RedisError:
        return False


if __name__ == "__main__":
    main()

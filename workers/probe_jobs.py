"""``system.probe``: a job that touches nothing but Redis, to see that workers run jobs (and how fast).

``cosmos run-job system.probe`` or ``enqueue("system.probe", token, seconds)``: it counts its start and its end
under ``cosmos:probe:TOKEN`` (a Redis hash, kept a day), sleeping ``seconds`` between them. The benchmark of the
job pipeline (bench/bench_jobs.py) and the tests of worker death and Redis outages use it.
"""
from __future__ import annotations

import os
import time

from workers.queue import job

PROBE_KEY = "cosmos:probe:{}"


@job("system.probe", queue="default", timeout=120, retries=0)
def probe(token: str = "manual", seconds: float = 0.0) -> dict:
    from workers.queue import redis_connection

    key = PROBE_KEY.format(token)
    connection = redis_connection()
    try:
        connection.hincrby(key, "started", 1)
        connection.expire(key, 86400)
        if seconds:
            time.sleep(float(seconds))
        connection.hincrby(key, "finished", 1)
        connection.hset(key, "pid", os.getpid())
    finally:
        connection.close()
    return {"token": token, "pid": os.getpid()}

"""The job decorator, ``enqueue`` and the RQ entry point.

A job takes ids and plain values, never ORM objects, runs inside an application context with its own
session, and is safe to run twice. RQ stores only ``workers.queue.execute`` and the job's registered
name, so renaming a function never strands queued work.
"""
from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, has_app_context, has_request_context

log = logging.getLogger(__name__)

# Modules that define jobs; imported once before a job is looked up by name.
JOB_MODULES = ("workers.listing_jobs", "workers.search_jobs", "workers.matching_jobs", "workers.chain_jobs",
               "workers.notification_jobs", "workers.analytics_jobs", "workers.tender_jobs",
               "workers.probe_jobs")


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable[..., Any]
    queue: str = "default"
    timeout: int = 600
    retries: int = 3
    retry_intervals: tuple[int, ...] = (10, 60, 300)


@dataclass
class JobHandle:
    """What ``enqueue`` did: ``queued`` on RQ (with its id), ``finished`` or ``failed`` inline, or ``deferred``
    when Redis could not be reached (the work stays in the outbox or can be enqueued again)."""

    name: str
    status: str
    id: str | None = None
    result: Any = None
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, JobSpec] = {}
_loaded = False
_worker_app: Flask | None = None


def job(name: str | None = None, *, queue: str = "default", timeout: int = 600, retries: int = 3,
        retry_intervals: tuple[int, ...] = (10, 60, 300)) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a job: ``@job("search.drain_outbox", queue="search", timeout=120, retries=5)``."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        spec = JobSpec(name or f"{func.__module__}.{func.__name__}", func, queue, timeout, retries, retry_intervals)
        if spec.name in _REGISTRY and _REGISTRY[spec.name].func is not func:
            raise ValueError(f"job {spec.name!r} is declared twice")
        _REGISTRY[spec.name] = spec
        func.spec = spec  # type: ignore[attr-defined]
        func.enqueue = lambda *args, **kwargs: enqueue(spec.name, *args, **kwargs)  # type: ignore[attr-defined]
        return func

    return decorate


def load_jobs() -> dict[str, JobSpec]:
    global _loaded
    if not _loaded:
        for module in JOB_MODULES:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name != module:
                    raise
        _loaded = True
    return _REGISTRY


def get_spec(name: str) -> JobSpec:
    specs = load_jobs()
    try:
        return specs[name]
    except KeyError:
        raise LookupError(f"unknown job {name!r}") from None


def redis_connection(url: str | None = None):
    import redis

    url = url or current_app.config.get("REDIS_URL")
    if not url:
        raise RuntimeError("REDIS_URL is not set: jobs run inline")
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def enqueue(name: str, *args: Any, **kwargs: Any) -> JobHandle:
    """Run job ``name`` on RQ when Redis is configured, inline otherwise; call it after the commit."""
    spec = get_spec(name)
    if not current_app.config.get("REDIS_URL"):
        if current_app.config.get("JOBS_IN_BACKGROUND") and has_request_context():
            from workers.background import runner_for

            # The embedded mode: the request answers now, one background thread does the work after the commit.
            runner_for(current_app._get_current_object()).submit(spec.name, args, kwargs)  # type: ignore[attr-defined]
            return JobHandle(spec.name, "queued", meta={"background": True})
        return _run_inline(spec, args, kwargs)
    import redis
    from rq import Queue

    connection = redis_connection()
    try:
        queue = Queue(spec.queue, connection=connection)
        rq_job = queue.enqueue(execute, spec.name, list(args), kwargs, **rq_options(spec))
    except redis.exceptions.RedisError as exc:
        log.warning("Redis unavailable, job %s deferred: %s", spec.name, exc)
        return JobHandle(spec.name, "deferred", error=str(exc))
    finally:
        connection.close()  # one short-lived client per enqueue: no socket is left for the garbage collector
    return JobHandle(spec.name, "queued", id=rq_job.id)


def rq_options(spec: JobSpec) -> dict[str, Any]:
    """How a job of ``spec`` goes on RQ: its timeout, its retries and a readable description."""
    from rq import Retry

    retry = Retry(max=spec.retries, interval=list(spec.retry_intervals)) if spec.retries else None
    return {"job_timeout": spec.timeout, "retry": retry, "description": spec.name}


def enqueue_quietly(name: str, *args: Any, **kwargs: Any) -> JobHandle | None:
    """:func:`enqueue` for follow-up work after a commit (indexing, matching, e-mail): a failure is logged, never
    raised, so the user's committed change stands; the outbox and the periodic jobs catch up later."""
    try:
        handle = enqueue(name, *args, **kwargs)
    except Exception:
        log.exception("could not enqueue %s", name)
        return None
    if handle.status == "failed":
        log.warning("%s failed inline: %s", name, handle.error)
    return handle


def _run_inline(spec: JobSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> JobHandle:
    from marketplace.extensions import db

    # The job gets a clean session, as it would in a worker; the caller's session is left as it was.
    try:
        result = spec.func(*args, **kwargs)
    except Exception as exc:
        db.session.rollback()
        log.exception("inline job %s failed", spec.name)
        return JobHandle(spec.name, "failed", error=f"{type(exc).__name__}: {exc}")
    return JobHandle(spec.name, "finished", result=result)


def execute(name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """The function RQ runs: find the job, give it an application context and a fresh session."""
    spec = get_spec(name)
    if has_app_context():
        return _call(spec, args, kwargs)
    with _app().app_context():
        return _call(spec, args, kwargs)


def _call(spec: JobSpec, args: list[Any], kwargs: dict[str, Any]) -> Any:
    from marketplace.extensions import db

    try:
        return spec.func(*args, **kwargs)
    except Exception:
        db.session.rollback()
        raise
    finally:
        db.session.remove()


def _app() -> Flask:
    global _worker_app
    if _worker_app is None:
        from marketplace import create_app

        _worker_app = create_app()
    return _worker_app

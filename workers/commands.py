"""``cosmos worker`` and ``cosmos scheduler``."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker", help="Запустить RQ-воркер (нужен REDIS_URL).")
@click.option("--queues", "-q", default="default,search,matching,notifications", show_default=True,
              help="Очереди через запятую, в порядке приоритета.")
@click.option("--burst", is_flag=True, help="Выполнить накопившиеся задания и выйти.")
@with_appcontext
def worker_command(queues: str, burst: bool) -> None:
    from workers.queue import load_jobs, redis_connection
    from workers.runtime import ResilientWorker

    if not current_app.config.get("REDIS_URL"):
        raise click.UsageError("REDIS_URL не задан: во встроенном режиме задания выполняются сразу, воркер не нужен")
    load_jobs()
    names = [q.strip() for q in queues.split(",") if q.strip()]
    if not names:
        raise click.BadParameter("укажите хотя бы одну очередь", param_hint="--queues")
    _log_to_stderr()
    url = current_app.config["REDIS_URL"]
    ResilientWorker(current_app._get_current_object(), names, connect=lambda: redis_connection(url)).run(burst=burst)


def _log_to_stderr() -> None:
    """The workers' own messages (reconnects, requeues) on stderr beside RQ's."""
    import logging

    logger = logging.getLogger("cosmos.workers")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


@click.command("scheduler", help="Запустить планировщик периодических заданий (с Redis — через RQ, без него — "
                                   "в этом процессе).")
@with_appcontext
def scheduler_command() -> None:
    from workers.queue import redis_connection
    from workers.runtime import ResilientScheduler
    from workers.schedule import InlineScheduler

    if not current_app.config.get("REDIS_URL"):
        scheduler = InlineScheduler(current_app._get_current_object())
        click.echo(f"REDIS_URL не задан: {len(scheduler.jobs)} периодических заданий выполняются в этом процессе "
                   "(Ctrl+C — остановить).", err=True)
        try:
            scheduler.run_forever()
        except KeyboardInterrupt:
            scheduler.stop()
        return
    _log_to_stderr()
    url = current_app.config["REDIS_URL"]
    ResilientScheduler(current_app._get_current_object(), connect=lambda: redis_connection(url)).run()


@click.command("run-job", help="Выполнить задание по имени сейчас, в этом процессе.")
@click.argument("name")
@with_appcontext
def run_job_command(name: str) -> None:
    from workers.queue import execute, load_jobs

    if name not in load_jobs():
        raise click.BadParameter(f"неизвестное задание; есть: {', '.join(sorted(load_jobs()))}", param_hint="NAME")
    click.echo(repr(execute(name, [], {})))

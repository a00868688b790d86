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
    from rq import Queue, Worker

    from workers.queue import load_jobs, redis_connection

    if not current_app.config.get("REDIS_URL"):
        raise click.UsageError("REDIS_URL не задан: во встроенном режиме задания выполняются сразу, воркер не нужен")
    load_jobs()
    connection = redis_connection()
    names = [q.strip() for q in queues.split(",") if q.strip()]
    if not names:
        raise click.BadParameter("укажите хотя бы одну очередь", param_hint="--queues")
    worker = Worker([Queue(n, connection=connection) for n in names], connection=connection)
    try:
        worker.work(burst=burst, with_scheduler=True)
    finally:
        connection.close()


@click.command("scheduler", help="Запустить планировщик периодических заданий (с Redis — через RQ, без него — "
                                   "в этом процессе).")
@with_appcontext
def scheduler_command() -> None:
    from workers.queue import redis_connection
    from workers.schedule import InlineScheduler, build_scheduler

    if not current_app.config.get("REDIS_URL"):
        scheduler = InlineScheduler(current_app._get_current_object())
        click.echo(f"REDIS_URL не задан: {len(scheduler.jobs)} периодических заданий выполняются в этом процессе "
                   "(Ctrl+C — остановить).", err=True)
        try:
            scheduler.run_forever()
        except KeyboardInterrupt:
            scheduler.stop()
        return
    connection = redis_connection()
    try:
        build_scheduler(connection).start()
    finally:
        connection.close()


@click.command("run-job", help="Выполнить задание по имени сейчас, в этом процессе.")
@click.argument("name")
@with_appcontext
def run_job_command(name: str) -> None:
    from workers.queue import execute, load_jobs

    if name not in load_jobs():
        raise click.BadParameter(f"неизвестное задание; есть: {', '.join(sorted(load_jobs()))}", param_hint="NAME")
    click.echo(repr(execute(name, [], {})))

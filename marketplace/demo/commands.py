from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import case, func, select


@click.command("demo", help="Создать базу, загрузить справочники и демо-данные и запустить сайт на 127.0.0.1:5000.")
@click.option("--organizations", default=600, show_default=True, type=click.IntRange(1, 100000),
              help="Сколько организаций создать.")
@click.option("--seed", default=27, show_default=True, type=int, help="Начальное значение генератора.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-serve", is_flag=True, help="Только подготовить данные, сайт не запускать.")
@with_appcontext
def demo_command(organizations: int, seed: int, host: str, port: int, no_serve: bool) -> None:
    from flask_migrate import upgrade

    from marketplace.commands import progress_bar
    from marketplace.demo.seed import seed_demo
    from marketplace.extensions import db
    from marketplace.organizations.models import Organization
    from marketplace.refdata.loader import load_reference_data

    if _schema_is_current():
        click.echo("Схема базы данных актуальна.", err=True)
    else:
        click.echo("Создаю схему базы данных…", err=True)
        upgrade()
    click.echo("Загружаю справочники…", err=True)
    load_reference_data()
    db.session.commit()
    if db.session.scalar(select(func.count(Organization.id))):
        click.echo("Демо-данные уже есть, пропускаю заполнение.", err=True)
    else:
        report = seed_demo(organizations, seed, progress=progress_bar)
        db.session.commit()
        click.echo(f"Создано организаций: {report.organizations_created}, предложений и потребностей: "
                   f"{report.listings_created}.", err=True)
        from marketplace.demo.users import create_demo_users

        for email, password, role in create_demo_users():
            click.echo(f"Демо-пользователь {role}: {email} / {password}", err=True)
        from marketplace.demo.communities import create_demo_communities

        communities = create_demo_communities()
        click.echo(f"Сообщества: {', '.join(c.name for c in communities) or 'нет'}.", err=True)
        db.session.commit()
    from workers.outbox import schedule_drain

    click.echo("Индексирую предложения и потребности…", err=True)
    schedule_drain()
    _match_needs(progress_bar)
    _request_template_chains()
    _decide_some_chains()
    _refresh_analytics()
    if no_serve:
        return
    app = current_app._get_current_object()
    scheduler = None
    if not app.config.get("REDIS_URL"):  # with Redis, ``cosmos scheduler`` runs them through RQ
        from workers.schedule import InlineScheduler

        scheduler = InlineScheduler(app)
        scheduler.start()
        click.echo(f"Периодические задания ({len(scheduler.jobs)}: снятие истёкших, сверка индекса, подбор…) "
                   "выполняются в этом процессе.", err=True)
    click.echo(f"Космос: http://{host}:{port}/", err=True)
    # Not app.run(): Flask ignores it inside a ``flask``/``cosmos`` CLI command (FLASK_RUN_FROM_CLI).
    from werkzeug.serving import run_simple

    try:
        run_simple(host, port, app, use_reloader=False, use_debugger=False, threaded=True)
    finally:
        if scheduler is not None:
            scheduler.stop()


HOME = "27"  # the demo coordinator's region
COORDINATOR = "coordinator@cosmos.local"


def _request_template_chains(quantity: int = 10) -> None:
    """The coordinator's own requests: one per route template, a lot of ``quantity`` delivered to the region, so
    the queue shows every typical route built from the demo's offers (the region doing what it can, the rest from
    the Far East and Russia), besides the chains offered for needs no single domestic offer serves."""
    from marketplace.accounts.models import User
    from marketplace.chains import services as chains
    from marketplace.chains.models import ChainRequest
    from marketplace.extensions import db
    from matching.chains import template_names

    coordinator = db.session.scalar(select(User).where(User.email == COORDINATOR))
    if coordinator is None:
        return
    made = set(db.session.scalars(select(ChainRequest.template).where(
        ChainRequest.created_by_id == coordinator.id, ChainRequest.delivery_region == HOME)))
    rows = [chains.create_from_template(name, quantity=quantity, delivery_region=HOME, user=coordinator)
            for name in template_names() if name not in made]
    db.session.commit()
    if not rows:
        return
    click.echo(f"Координатор запрашивает цепочки по типовым маршрутам: {len(rows)}…", err=True)
    for row in rows:
        chains.enqueue_build(row)


def _decide_some_chains(approve: int = 2) -> None:
    """The coordinator's queue as after a while of use: suggested chains of up to ``approve`` requests delivered to
    the demo region are approved by its coordinator (with a comment; their own requests first), at least one
    request waits for a decision."""
    from marketplace.accounts.models import User
    from marketplace.chains import services as chains
    from marketplace.chains.models import ChainRequest, ChainStatus, CooperationChain
    from marketplace.extensions import db

    coordinator = db.session.scalar(select(User).where(User.email == COORDINATOR))
    if coordinator is None or db.session.scalar(select(func.count(CooperationChain.id)).where(
            CooperationChain.status == ChainStatus.APPROVED)):
        return
    waiting = list(db.session.scalars(
        select(CooperationChain).join(ChainRequest, ChainRequest.id == CooperationChain.request_id)
        .where(CooperationChain.status == ChainStatus.SUGGESTED, ChainRequest.delivery_region == HOME)
        .order_by(case((ChainRequest.created_by_id == coordinator.id, 0), else_=1), CooperationChain.request_id,
                  CooperationChain.rank)))
    approve = min(approve, max(1, len({c.request_id for c in waiting}) - 1))
    decided: set[int] = set()
    for chain in waiting:
        if len(decided) >= approve or chain.request_id in decided:
            continue
        chains.approve(chain, user=coordinator, comment="Согласовано с предприятиями края (демо).")
        decided.add(chain.request_id)
    db.session.commit()
    pending = len({c.request_id for c in waiting} - decided)
    click.echo(f"Цепочки кооперации: утверждено {len(decided)}, ждут решения координатора {pending}.", err=True)


def _refresh_analytics() -> None:
    """The coordinators' analytics over what the demo made, so that no tab opens «Данные ещё не рассчитаны»
    (inline; with Redis a worker does it)."""
    import time

    from workers import queue

    if current_app.config.get("REDIS_URL"):
        queue.enqueue("analytics.refresh")
        click.echo("Расчёт аналитики поставлен в очередь.", err=True)
        return
    from marketplace.analytics.snapshots import refresh
    from marketplace.extensions import db

    click.echo("Рассчитываю аналитику координаторов (пробелы, локализация, KPI, сеть)…", err=True)
    start = time.perf_counter()
    report = refresh()
    db.session.commit()
    click.echo(f"Аналитика рассчитана: {report.scopes} территорий за {time.perf_counter() - start:.0f} с.", err=True)


def _match_needs(progress_bar) -> None:
    """Every open need gets its suppliers (inline, with a progress bar; with Redis the workers do it)."""
    from marketplace.listings.models import Side
    from marketplace.matches.services import stale_listing_ids
    from workers import queue

    ids = stale_listing_ids(limit=1_000_000, side=Side.NEED)
    if not ids:
        return
    if current_app.config.get("REDIS_URL"):
        for listing_id in ids:
            queue.enqueue("matching.refresh", listing_id)
        click.echo(f"Подбор поставщиков для {len(ids)} потребностей поставлен в очередь.", err=True)
        return
    from workers.matching_jobs import refresh_and_notify, suggest_chains

    reports = [refresh_and_notify(listing_id) for listing_id in progress_bar(ids, "Подбор поставщиков", len(ids))]
    unserved = sum(r.chain_suggested for r in reports)
    if unserved and current_app.config.get("MATCH_SUGGEST_CHAINS", True):
        click.echo(f"Потребностей без подходящих российских предложений: {unserved}; предлагаю цепочки "
                   "кооперации…", err=True)
        suggest_chains(limit=20)


def _schema_is_current() -> bool:
    """The database is at every head of the migrations: read on the session's own connection, so that a second run
    of the demo (or a caller holding the write lock of an SQLite file) does not open another writer for nothing."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from marketplace.extensions import db

    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    try:
        current = MigrationContext.configure(db.session.connection()).get_current_heads()
    finally:
        db.session.rollback()  # gives the connection (and on SQLite its write turn) back before an upgrade
    return set(current) == set(script.get_heads())

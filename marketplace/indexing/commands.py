"""``cosmos search …``: reindex, check, drain."""
from __future__ import annotations

import json

import click
from flask.cli import with_appcontext


@click.group("search", help="Поисковый индекс.")
def search_group() -> None:
    pass


@search_group.command("reindex", help="Перестроить индекс из базы данных.")
@with_appcontext
def reindex_command() -> None:
    from marketplace.commands import progress_bar
    from marketplace.indexing.services import reindex

    count = reindex(progress=progress_bar)
    click.echo(f"Проиндексировано: {count}")


@search_group.command("check", help="Сравнить индекс с базой данных; код выхода 1 при расхождениях.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def check_command(as_json: bool) -> None:
    from marketplace.indexing.services import check

    report = check()
    if as_json:
        click.echo(json.dumps({"database": report.database, "index": report.index, "missing": report.missing,
                               "extra": report.extra, "stale": report.stale, "consistent": report.consistent}))
    else:
        click.echo(f"В базе: {report.database}, в индексе: {report.index}. Нет в индексе: {len(report.missing)}, "
                   f"лишних в индексе: {len(report.extra)}, устаревших: {len(report.stale)}.")
    if not report.consistent:
        raise SystemExit(1)


@search_group.command("drain", help="Перенести накопившиеся изменения из outbox в индекс сейчас.")
@with_appcontext
def drain_command() -> None:
    from marketplace.indexing.services import drain_outbox, pending_outbox

    before = pending_outbox()
    report = drain_outbox()
    click.echo(f"Событий было: {before}; обработано: {report.events}, проиндексировано: {report.indexed}, "
               f"удалено: {report.deleted}.")

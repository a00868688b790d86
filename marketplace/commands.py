"""The product's CLI commands, registered on ``app.cli`` so that ``cosmos`` and the test runner see them."""
from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext


def progress_bar(items: Iterable[Any], label: str, length: int) -> Iterable[Any]:
    """A click progress bar on stderr, shown only when the work is long enough to watch."""
    if length < 2:
        yield from items
        return
    with click.progressbar(items, length=length, label=label, file=sys.stderr) as bar:
        yield from bar


@click.group("refdata", help="Справочники: ОКПД2, ОКВЭД2, субъекты РФ, города, страны.")
def refdata_group() -> None:
    pass


@refdata_group.command("load", help="Загрузить справочники (повторный запуск ничего не меняет).")
@click.option("--json", "as_json", is_flag=True, help="Отчёт в формате JSON.")
@with_appcontext
def refdata_load(as_json: bool) -> None:
    from marketplace.extensions import db
    from marketplace.refdata.loader import load_reference_data

    report = load_reference_data(progress=None if as_json else lambda m: click.echo(f"… {m}", err=True))
    db.session.commit()
    from marketplace.classifiers.suggest import prepare_classifiers

    if not as_json:
        click.echo("… классификаторы кодов для подсказок", err=True)
    prepare_classifiers(progress_bar)  # fitted now, not at the first request (a new edition refits here)
    if as_json:
        click.echo(json.dumps({"inserted": report.inserted, "updated": report.updated, "total": report.total},
                              ensure_ascii=False))
        return
    for table, total in report.total.items():
        click.echo(f"{table:20s} всего {total:6d}  добавлено {report.inserted[table]:6d}  "
                   f"изменено {report.updated[table]:6d}")


@click.command("import", help="Импорт организаций, предложений и потребностей из CSV, XLSX или JSON Lines.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Импортировать верные строки, пропустив ошибочные.")
@click.option("--json", "as_json", is_flag=True, help="Отчёт в формате JSON.")
@click.option("--encoding", default=None, metavar="NAME",
              help="Кодировка CSV (utf-8, cp1251, koi8-r…); без неё определяется по содержимому.")
@with_appcontext
def import_command(file: Path, skip_invalid: bool, as_json: bool, encoding: str | None) -> None:
    from marketplace.extensions import db
    from marketplace.importer.readers import ImportFileError
    from marketplace.importer.service import ImportRejected, import_file

    try:
        report = import_file(file, skip_invalid=skip_invalid, progress=None if as_json else progress_bar,
                             encoding=encoding)
    except ImportFileError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    except ImportRejected as exc:
        db.session.rollback()
        report = exc.report
        if as_json:
            click.echo(json.dumps({"imported": False, "errors": [e.__dict__ for e in report.errors]},
                                  ensure_ascii=False))
        else:
            for error in report.errors:
                click.echo(str(error), err=True)
            click.echo(f"Файл отклонён: {len(report.errors)} ошибок в {len({e.row for e in report.errors})} "
                       "строках. Ничего не импортировано. Исправьте ошибки или запустите с --skip-invalid.", err=True)
        sys.exit(1)
    db.session.commit()
    _after_import()
    if as_json:
        click.echo(json.dumps({"imported": True, **report.summary(), "errors": [e.__dict__ for e in report.errors]},
                              ensure_ascii=False))
        return
    for error in report.errors:
        click.echo(f"пропущено: {error}", err=True)
    click.echo(
        f"Строк: {report.rows}. Организации: +{report.organizations_created}, изменено {report.organizations_updated}, "
        f"без изменений {report.organizations_unchanged}. Предложения и потребности: +{report.listings_created}, "
        f"изменено {report.listings_updated}, без изменений {report.listings_unchanged}. "
        f"Пропущено строк: {report.skipped_rows}.")


def _after_import() -> None:
    """Hand the outbox to the workers (inline in the embedded mode) once the import is committed."""
    from workers.outbox import schedule_drain

    schedule_drain()


def register(group: click.Group) -> None:
    group.add_command(refdata_group)
    group.add_command(import_command)
    from marketplace.demo.commands import demo_command

    group.add_command(demo_command)
    from marketplace.indexing.commands import search_group
    from workers.commands import run_job_command, scheduler_command, worker_command

    group.add_command(search_group)
    group.add_command(worker_command)
    group.add_command(scheduler_command)
    group.add_command(run_job_command)
    group.add_command(__import__("marketplace.analytics.commands", fromlist=["analytics_group"]).analytics_group)
    group.add_command(__import__("marketplace.chains.commands", fromlist=["chains_group"]).chains_group)
    from marketplace.matches.commands import classify_command, eval_group, match_command

    group.add_command(classify_command)
    group.add_command(match_command)
    group.add_command(eval_group)
    from marketplace.matches.eval_acceptability import eval_acceptability

    eval_group.add_command(eval_acceptability)
    from marketplace.classifiers.eval_commands import eval_codes

    eval_group.add_command(eval_codes)
    from marketplace.operations.commands import eval_operations_command, operations_group

    group.add_command(operations_group)
    eval_group.add_command(eval_operations_command)
    from marketplace.indexing.eval_search import eval_search_command

    eval_group.add_command(eval_search_command)

    from marketplace.admin.cli import users_group

    group.add_command(users_group)

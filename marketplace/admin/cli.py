"""``cosmos users create-admin | grant-coordinator | list``: accounts for a first start, from the server."""
from __future__ import annotations

import click

from marketplace.accounts.models import UserRole
from marketplace.admin.services import (
    AdminError,
    create_admin,
    find_user,
    grant_coordinator,
    list_users,
    resolve_regions,
)
from marketplace.extensions import db


def _fail(exc: AdminError) -> None:
    db.session.rollback()
    raise click.BadParameter(exc.message, param_hint=exc.field)


@click.group("users")
def users_group() -> None:
    """Accounts: administrators, coordinators and the list of users."""


@users_group.command("create-admin")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              envvar="COSMOS_ADMIN_PASSWORD", help="Пароль (спрашивается, если не задан; или COSMOS_ADMIN_PASSWORD).")
@click.option("--name", "full_name", default=None, help="Имя администратора.")
def create_admin_command(email: str, password: str, full_name: str | None) -> None:
    """Create the administrator EMAIL (an existing account becomes an administrator)."""
    try:
        user, created = create_admin(email, password, full_name=full_name, by="cli")
    except AdminError as exc:
        _fail(exc)
        return
    db.session.commit()
    click.echo(f"{'Создан администратор' if created else 'Назначен администратором'}: {user.email} (id {user.id})")


@users_group.command("grant-coordinator")
@click.argument("email")
@click.argument("regions", nargs=-1, metavar="REGION…")
@click.option("--replace", is_flag=True, help="Заменить регионы координатора, а не добавить.")
def grant_coordinator_command(email: str, regions: tuple[str, ...], replace: bool) -> None:
    """Appoint EMAIL coordinator of the REGIONs: region codes (27) or federal district codes (FEFD)."""
    try:
        user = find_user(email)
        chosen = resolve_regions(list(regions))
        grant_coordinator(user, chosen, by="cli", replace=replace)
    except AdminError as exc:
        _fail(exc)
        return
    db.session.commit()
    click.echo(f"{user.email} — координатор регионов: {', '.join(sorted(user.region_codes))}")


@users_group.command("list")
@click.option("--role", type=click.Choice([r.value for r in UserRole]), default=None)
@click.option("--search", "query", default=None, help="Часть адреса или имени.")
def list_command(role: str | None, query: str | None) -> None:
    """The users: id, e-mail, role, state and a coordinator's regions."""
    users = list_users(role=role, query=query)
    for user in users:
        state = "активен" if user.is_active else "заблокирован"
        regions = f"  регионы: {', '.join(sorted(user.region_codes))}" if user.regions else ""
        click.echo(f"{user.id}\t{user.email}\t{user.role}\t{state}{regions}")
    click.echo(f"Всего: {len(users)}")

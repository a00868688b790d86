"""``cosmos api token create|list|revoke``: personal API tokens from the command line."""
from __future__ import annotations

import click
from sqlalchemy import func, select

from marketplace.api.blueprint import bp


@bp.cli.group("token", help="Личные токены API.")
def token_group() -> None:
    pass


def _user(email: str):  # type: ignore[no-untyped-def]
    from marketplace.accounts.models import User
    from marketplace.extensions import db

    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"нет пользователя {email}")
    return user


@token_group.command("create", help="Создать токен; он печатается один раз.")
@click.option("--email", required=True, help="E-mail пользователя.")
@click.option("--name", required=True, help="Название: для чего токен (например, «1С:ERP»).")
def create(email: str, name: str) -> None:
    from marketplace.api.tokens import create_token
    from marketplace.core.validation import ValidationFailed
    from marketplace.extensions import db

    try:
        token, secret = create_token(_user(email), name=name, actor="cli")
    except ValidationFailed as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Токен #{token.id} «{token.name}» для {email}. Сохраните его сейчас, он больше не будет показан:",
               err=True)
    click.echo(secret)


@token_group.command("list", help="Токены пользователя (без секретов).")
@click.option("--email", required=True)
def list_tokens(email: str) -> None:
    from marketplace.api.tokens import user_tokens

    for token in user_tokens(_user(email)):
        state = "отозван" if token.revoked_at else "действует"
        used = token.last_used_at.isoformat(timespec="seconds") if token.last_used_at else "не использовался"
        click.echo(f"{token.id}\t{token.prefix}…\t{token.name}\t{state}\t{used}")


@token_group.command("revoke", help="Отозвать токен по номеру.")
@click.argument("token_id", type=int)
def revoke(token_id: int) -> None:
    from marketplace.api.models import ApiToken
    from marketplace.api.tokens import revoke_token
    from marketplace.extensions import db

    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(f"нет токена {token_id}")
    revoke_token(token)
    db.session.commit()
    click.echo(f"Токен {token_id} отозван.")

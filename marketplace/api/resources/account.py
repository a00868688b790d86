"""The caller and their personal API tokens."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from marketplace.api.blueprint import api_user, bp
from marketplace.api.models import ApiToken
from marketplace.api.openapi import PageQuery, json_response, operation
from marketplace.api.problems import Problem
from marketplace.api.schemas import MeSchema, NewTokenSchema, TokenCreateSchema, TokenSchema
from marketplace.api.tokens import create_token, revoke_token
from marketplace.extensions import db

TAG = "Учётная запись"


@bp.get("/me")
@operation("Кто я: пользователь токена", TAG, response=MeSchema, auth="required")
def me() -> Any:
    return api_user()


@bp.get("/tokens")
@operation("Мои токены (без секретов)", TAG, query=PageQuery, response=TokenSchema, paginated=True, auth="required")
def tokens(query: dict[str, Any]) -> Select[Any]:
    return (select(ApiToken).where(ApiToken.user_id == api_user().id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))


@bp.post("/tokens")
@operation("Новый токен: сам токен показывается один раз", TAG, body=TokenCreateSchema, response=NewTokenSchema,
           status=201, auth="required")
def new_token(body: dict[str, Any]) -> Any:
    token, secret = create_token(api_user(), name=body["name"])
    db.session.commit()
    return json_response({**TokenSchema().dump(token), "token": secret}, status=201)


@bp.delete("/tokens/<int(max=2147483647):token_id>")
@operation("Отозвать токен", TAG, status=204, auth="required")
def delete_token(token_id: int) -> None:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != api_user().id:
        raise Problem(404)
    revoke_token(token, user=api_user())
    db.session.commit()

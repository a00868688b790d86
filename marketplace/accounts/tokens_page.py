"""/account/tokens: a signed-in user makes and revokes their own API tokens. The token is shown once, on the page
that answers its creation (never in a redirect, the session or a log); only its hash and first characters are
stored (``api.tokens``). Another user's token is 404."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as WerkzeugResponse

from marketplace.api import tokens
from marketplace.api.models import ApiToken
from marketplace.core.validation import ValidationFailed
from marketplace.extensions import db

bp = Blueprint("api_tokens", __name__, url_prefix="/account/tokens")


class TokenForm(FlaskForm):
    """The CSRF token; the name is read from the form."""


def _render(*, secret: str | None = None, errors: dict[str, list[str]] | None = None, name: str = "",
            status: int = 200) -> tuple[str, int]:
    return render_template("accounts/tokens.html", tokens=tokens.user_tokens(current_user), secret=secret,
                           errors=errors or {}, name=name, form=TokenForm()), status


@bp.get("/")
@login_required
def index() -> tuple[str, int]:
    return _render()


@bp.post("/")
@login_required
def create() -> tuple[str, int]:
    if not TokenForm().validate_on_submit():
        abort(400)
    name = request.form.get("name", "")
    try:
        _token, secret = tokens.create_token(current_user, name=name)
    except ValidationFailed as exc:
        db.session.rollback()
        return _render(errors=exc.as_dict(), name=name, status=422)
    db.session.commit()
    response = _render(secret=secret, status=201)
    return response


@bp.post("/<int:token_id>/revoke")
@login_required
def revoke(token_id: int) -> WerkzeugResponse:
    if not TokenForm().validate_on_submit():
        abort(400)
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    tokens.revoke_token(token, user=current_user)
    db.session.commit()
    flash(_("Токен «%(name)s» отозван.", name=token.name), "success")
    return redirect(url_for("api_tokens.index"))


@bp.after_request
def no_store(response):  # the page that shows a secret is not cached
    response.headers["Cache-Control"] = "no-store"
    return response

"""The notifications page (read and unread, links to the object, paging), the header's bell and the e-mail
settings of the current user."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from marketplace.core.paging import paginate
from marketplace.core.permissions import organization_ids
from marketplace.core.validation import ValidationFailed
from marketplace.extensions import db
from marketplace.notifications import preferences, services
from marketplace.notifications.models import Notification

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
PER_PAGE = 20


@bp.app_template_global("unread_notifications")
def unread_notifications() -> int:
    """The bell's number: unread notifications of the current user's organizations."""
    if not getattr(current_user, "is_authenticated", False):
        return 0
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return services.unread_count(current_user)
    except SQLAlchemyError:  # the error page of an unreachable database still renders, without the number
        db.session.rollback()
        return 0


def _safe_link(link: str | None) -> str:
    if not link or not link.startswith("/") or link.startswith("//"):
        return url_for("notifications.index")
    return link


@bp.get("/")
@login_required
def index() -> str:
    only_unread = request.args.get("unread") == "1"
    stmt = services.notifications_query(current_user)
    if only_unread:
        stmt = stmt.where(Notification.read_at.is_(None))
    found = paginate(stmt, request.args.get("page"), per_page=PER_PAGE)
    return render_template("notifications/index.html", rows=found.items, page=found.number, total=found.total,
                           pages=found.pages, only_unread=only_unread,
                           categories={c.key: c.title_ru for c in preferences.CATEGORIES},
                           category_of=preferences.category_of)


def _note_or_404(notification_id: int) -> Notification:
    note = db.session.get(Notification, notification_id)
    if note is None or note.organization_id not in organization_ids(current_user):
        abort(404)
    return note


@bp.post("/<int:notification_id>/open")
@login_required
def open_note(notification_id: int) -> Any:
    """Mark read and go to the object."""
    note = _note_or_404(notification_id)
    services.mark_read(note)
    db.session.commit()
    return redirect(_safe_link(note.link))


@bp.post("/<int:notification_id>/read")
@login_required
def read(notification_id: int) -> Any:
    services.mark_read(_note_or_404(notification_id))
    db.session.commit()
    return redirect(url_for("notifications.index", page=request.form.get("page") or None))


@bp.post("/read-all")
@login_required
def read_all() -> Any:
    count = services.mark_all_read(current_user)
    db.session.commit()
    flash(f"Отмечено прочитанными: {count}.", "info")
    return redirect(url_for("notifications.index"))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings() -> Any:
    values = preferences.modes_for(current_user)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {**values, **request.form.to_dict()}
        try:
            preferences.set_modes(current_user, request.form.to_dict())
            db.session.commit()
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.as_dict()
        else:
            flash("Настройки писем сохранены.", "success")
            return redirect(url_for("notifications.settings"))
    return render_template("notifications/settings.html", values=values, errors=errors,
                           categories=preferences.CATEGORIES, modes=preferences.MODE_TITLES_RU,
                           confirmed=current_user.is_confirmed), (422 if errors else 200)

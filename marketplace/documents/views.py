"""Document pages: download (only to those who may see the owner: 404 otherwise), upload and removal from the
owner's page (CSRF-checked forms that come back to the page they were sent from)."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField

from marketplace.core.validation import ValidationFailed
from marketplace.documents import services
from marketplace.documents.content import ACCEPT_ATTRIBUTE, ACCEPTED_TEXT
from marketplace.extensions import db

bp = Blueprint("documents", __name__, url_prefix="/documents")


class DocumentForm(FlaskForm):
    """Upload or removal: the CSRF token and the page to come back to (the file travels as ``file``)."""

    next = HiddenField()


def _back(owner_url: str | None) -> str:
    """Only a path of this site (an absolute URL elsewhere would make the form an open redirect)."""
    target = request.form.get("next") or owner_url or url_for("showcase.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("showcase.index")
    return target


@bp.get("/<int:document_id>")
def download(document_id: int) -> Response:
    document = services.document_for(current_user, document_id)
    if document is None:
        abort(404)
    try:
        stream = services.open(document)
    except FileNotFoundError:
        abort(404)
    response = send_file(stream, mimetype=document.content_type, as_attachment=True,
                         download_name=document.filename, max_age=0, etag=document.sha256,
                         last_modified=document.created_at)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/<owner_kind>/<int:owner_id>")
@login_required
def upload(owner_kind: str, owner_id: int) -> Any:
    try:
        services.resolve_owner(current_user, owner_kind, owner_id)
    except services.OwnerNotFound:
        abort(404)
    form = DocumentForm()
    if not form.validate_on_submit():
        flash(_("Форма устарела: отправьте её ещё раз."), "danger")
        return redirect(_back(None))
    try:
        document = services.attach(owner_kind, owner_id, request.files.get("file"), current_user)
    except ValidationFailed as exc:
        db.session.rollback()
        for error in exc.errors:
            flash(_("Файл: %(message)s", message=error.message), "danger")
    else:
        db.session.commit()
        flash(_("Файл «%(name)s» прикреплён.", name=document.filename), "success")
    return redirect(_back(None))


@bp.post("/<int:document_id>/delete")
@login_required
def delete(document_id: int) -> Any:
    document = services.document_for(current_user, document_id)
    if document is None:
        abort(404)
    form = DocumentForm()
    if not form.validate_on_submit():
        flash(_("Форма устарела: отправьте её ещё раз."), "danger")
        return redirect(_back(None))
    name = document.filename
    try:
        services.remove(document, current_user)
    except ValidationFailed as exc:
        db.session.rollback()
        for error in exc.errors:
            flash(_("Файл: %(message)s", message=error.message), "danger")
    else:
        db.session.commit()
        flash(_("Файл «%(name)s» удалён.", name=name), "success")
    return redirect(_back(None))


def attachments_context(owner_kind: str, owner: Any) -> dict[str, Any]:
    """What the ``documents/_attachments.html`` macro shows for an owner the reader may see (the upload form, and
    with it a CSRF token in the session, only for who may attach: a public page stays the same for every visitor)."""
    from marketplace.documents.owners import owner_kind as kind_of

    kind = kind_of(owner_kind)
    documents = services.list_for(owner_kind, owner.id)
    can_attach = kind is not None and current_user.is_authenticated and kind.can_attach(current_user, owner)
    return {"kind": owner_kind, "owner_id": owner.id, "documents": documents, "can_attach": can_attach,
            "form": DocumentForm() if can_attach else None, "accept": ACCEPT_ATTRIBUTE, "accepted": ACCEPTED_TEXT,
            "max_mb": services.max_bytes() // (1024 * 1024), "next": request.full_path.rstrip("?"),
            "size": size_text}


def size_text(size: int) -> str:
    """«312 КБ», «2,4 МБ»."""
    if size < 1024 * 1024:
        return _("%(n)s КБ", n=max(1, round(size / 1024)))
    return _("%(n)s МБ", n=f"{size / (1024 * 1024):.1f}".replace(".", ","))


def init_app(app: Flask) -> None:
    services.init_app(app)
    app.register_blueprint(bp)
    app.add_template_global(attachments_context, "attachments_context")

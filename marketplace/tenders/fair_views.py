"""Tender pages of fair procurement: questions and answers, and the results protocol (XLSX). Registered on the
tenders blueprint; the rules live in ``questions`` and ``protocol``."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.core.audit import record_audit
from marketplace.core.permissions import actor
from marketplace.core.validation import ValidationFailed
from marketplace.extensions import db
from marketplace.tenders import access, protocol, questions
from marketplace.tenders.forms import ActionForm
from marketplace.tenders.models import TenderQuestion
from marketplace.tenders.views import Page, _csrf_failed, bp


@bp.post("/<int:tender_id>/questions")
@login_required
def ask(tender_id: int) -> Page:
    tender = access.tender_or_404(tender_id)
    form = ActionForm()
    if not form.validate_on_submit():
        _csrf_failed(form)
        return redirect(url_for("tenders.show", tender_id=tender.id, _anchor="questions"))
    try:
        questions.ask_question(tender, current_user, question=request.form.get("question"))
    except ValidationFailed as exc:
        db.session.rollback()
        for error in exc.errors:
            flash(_("Вопрос: %(message)s", message=error.message), "danger")
        return redirect(url_for("tenders.show", tender_id=tender.id, question=request.form.get("question", "")[:2000],
                                _anchor="questions"))
    db.session.commit()
    flash(_("Вопрос отправлен заказчику; ответ увидят все участники."), "success")
    return redirect(url_for("tenders.show", tender_id=tender.id, _anchor="questions"))


@bp.post("/<int:tender_id>/questions/<int:question_id>/answer")
@login_required
def answer(tender_id: int, question_id: int) -> Page:
    tender = access.tender_or_404(tender_id, manage=True)
    item = db.session.get(TenderQuestion, question_id)
    if item is None or item.tender_id != tender.id:
        abort(404)
    form = ActionForm()
    if not form.validate_on_submit():
        _csrf_failed(form)
    else:
        try:
            questions.answer_question(item, current_user, answer=request.form.get("answer"))
        except ValidationFailed as exc:
            db.session.rollback()
            for error in exc.errors:
                flash(_("Ответ: %(message)s", message=error.message), "danger")
        else:
            db.session.commit()
            flash(_("Ответ опубликован."), "success")
    return redirect(url_for("tenders.show", tender_id=tender.id, _anchor=f"question-{item.id}"))


@bp.get("/<int:tender_id>/protocol.xlsx")
@login_required
def protocol_xlsx(tender_id: int) -> Response:
    tender = access.tender_or_404(tender_id)
    if not protocol.can_download_protocol(current_user, tender):
        abort(404)
    data = protocol.build_protocol(tender)
    record_audit("protocol", "tender", tender.id, {"format": "xlsx"}, user_id=actor(current_user))
    db.session.commit()
    response = Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f'attachment; filename="tender-{tender.id}-protocol.xlsx"'
    response.headers["Cache-Control"] = "private, no-store"
    return response

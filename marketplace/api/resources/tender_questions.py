"""Questions and answers on a tender (visible to whoever sees the tender, without who asked) and the results
protocol (XLSX), over ``marketplace.tenders.questions`` and ``marketplace.tenders.protocol``."""
from __future__ import annotations

from typing import Any

from flask import Response
from sqlalchemy import Select, select

from marketplace.api.blueprint import api_user, bp
from marketplace.api.openapi import PageQuery, operation
from marketplace.api.problems import Problem
from marketplace.api.schemas import AnswerInputSchema, QuestionInputSchema, TenderQuestionSchema
from marketplace.core.audit import record_audit
from marketplace.core.permissions import actor
from marketplace.extensions import db
from marketplace.tenders import access, protocol, questions
from marketplace.tenders.models import TenderQuestion

TAG = "Тендеры"
ID = "int(max=2147483647)"


@bp.get(f"/tenders/<{ID}:tender_id>/questions")
@operation("Вопросы и ответы по тендеру (без того, кто спросил)", TAG, query=PageQuery,
           response=TenderQuestionSchema, paginated=True)
def tender_questions(tender_id: int, query: dict[str, Any]) -> Select[Any]:
    tender = access.tender_or_404(tender_id, user=api_user())
    return (select(TenderQuestion).where(TenderQuestion.tender_id == tender.id)
            .order_by(TenderQuestion.created_at, TenderQuestion.id))


@bp.post(f"/tenders/<{ID}:tender_id>/questions")
@operation("Задать вопрос заказчику (участник, пока идёт приём предложений)", TAG, body=QuestionInputSchema,
           response=TenderQuestionSchema, status=201, auth="required")
def ask_question(tender_id: int, body: dict[str, Any]) -> TenderQuestion:
    tender = access.tender_or_404(tender_id, user=api_user())
    item = questions.ask_question(tender, api_user(), question=body["question"])
    db.session.commit()
    return item


@bp.put(f"/tenders/<{ID}:tender_id>/questions/<{ID}:question_id>/answer")
@operation("Ответить на вопрос (заказчик)", TAG, body=AnswerInputSchema, response=TenderQuestionSchema,
           auth="required", errors=(403,))
def answer_question(tender_id: int, question_id: int, body: dict[str, Any]) -> TenderQuestion:
    tender = access.tender_or_404(tender_id, user=api_user())
    item = db.session.get(TenderQuestion, question_id)
    if item is None or item.tender_id != tender.id:
        raise Problem(404)
    if not access.can_manage_tender(api_user(), tender):
        raise Problem(403, "Отвечает только заказчик тендера.")
    questions.answer_question(item, api_user(), answer=body["answer"])
    db.session.commit()
    return item


@bp.get(f"/tenders/<{ID}:tender_id>/protocol.xlsx")
@operation("Протокол подведения итогов, XLSX (заказчику и участникам, после срока подачи)", TAG, auth="required",
           description="Каждый лот с каждым предложением (поставщик, ИНН, цена, количество, сумма, срок, время "
                       "подачи, итог) и решение по лоту.")
def protocol_xlsx(tender_id: int) -> Response:
    user = api_user()
    tender = access.tender_or_404(tender_id, user=user)
    if not protocol.can_download_protocol(user, tender):
        raise Problem(404, "Протокол доступен заказчику и участникам после срока подачи предложений.")
    data = protocol.build_protocol(tender)
    record_audit("protocol", "tender", tender.id, {"format": "xlsx", "via": "api"}, user_id=actor(user))
    db.session.commit()
    response = Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f'attachment; filename="tender-{tender.id}-protocol.xlsx"'
    return response

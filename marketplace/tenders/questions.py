"""Questions and answers on a tender: a prospective supplier asks while responses are taken, the buyer answers, and
everyone who may see the tender reads both (without learning who asked). The caller commits."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from marketplace.core.audit import record_audit
from marketplace.core.models import utcnow
from marketplace.core.permissions import actor, organization_ids
from marketplace.core.validation import FieldError, FieldParser, ValidationFailed
from marketplace.extensions import db
from marketplace.tenders.access import can_manage_tender, can_take_part
from marketplace.tenders.models import Tender, TenderQuestion, TenderStatus


def questions_for(tender: Tender) -> list[TenderQuestion]:
    return list(db.session.scalars(select(TenderQuestion).where(TenderQuestion.tender_id == tender.id)
                                   .order_by(TenderQuestion.created_at, TenderQuestion.id)))


def can_ask(user: Any, tender: Tender, now: datetime | None = None) -> bool:
    """A member of an organization that may take part, while the tender takes responses."""
    from marketplace.tenders.services import accepting_responses

    return accepting_responses(tender, now) and any(can_take_part(org_id, tender)
                                                    for org_id in organization_ids(user))


def ask_question(tender: Tender, user: Any, *, question: object, now: datetime | None = None) -> TenderQuestion:
    p = FieldParser()
    text = p.text("question", question, required=True, max_length=5000)
    if p.errors:
        raise ValidationFailed(p.errors)
    if not can_ask(user, tender, now):
        raise ValidationFailed([FieldError("question", "вопросы задают участники, пока идёт приём предложений")])
    if not getattr(user, "is_confirmed", False):
        raise ValidationFailed([FieldError("question", "подтвердите адрес электронной почты, чтобы задать вопрос")])
    org_id = next(org_id for org_id in sorted(organization_ids(user)) if can_take_part(org_id, tender))
    item = TenderQuestion(tender_id=tender.id, organization_id=org_id, asked_by_id=actor(user), question=text)
    db.session.add(item)
    db.session.flush()
    record_audit("ask", "tender_question", item.id, {"tender_id": tender.id, "organization_id": org_id,
                                                     "question": text}, user_id=actor(user))
    return item


def answer_question(item: TenderQuestion, user: Any, *, answer: object,
                    now: datetime | None = None) -> TenderQuestion:
    """The buyer's answer (it may be corrected until the tender is decided or cancelled)."""
    tender = item.tender
    if not can_manage_tender(user, tender):
        raise ValidationFailed([FieldError("answer", "отвечает только заказчик")])
    if tender.status in (TenderStatus.AWARDED, TenderStatus.CANCELLED):
        raise ValidationFailed([FieldError("answer", "тендер завершён: ответы больше не меняются")])
    p = FieldParser()
    text = p.text("answer", answer, required=True, max_length=10000)
    if p.errors:
        raise ValidationFailed(p.errors)
    before = item.answer
    item.answer, item.answered_at, item.answered_by_id = text, now or utcnow(), actor(user)
    db.session.flush()
    record_audit("answer", "tender_question", item.id, {"answer": [before, text]}, user_id=actor(user))
    return item

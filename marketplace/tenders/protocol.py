"""The protocol of a tender's results: every lot with every response (supplier, price, quantity, sum, lead time,
submitted at) and the decision — an XLSX workbook for the buyer and the participants once the responses are open."""
from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import select

from marketplace.core.cells import escape_workbook
from marketplace.core.models import utcnow
from marketplace.core.permissions import organization_ids
from marketplace.extensions import db
from marketplace.tenders.access import can_manage_tender, responses_sealed
from marketplace.tenders.models import ResponseStatus, Tender, TenderResponse, TenderStatus

RESULT_RU = {ResponseStatus.SUBMITTED: "итоги не подведены", ResponseStatus.AWARDED: "победитель",
             ResponseStatus.NOT_AWARDED: "не выбрано"}
HEADER = ("Лот", "Предмет", "Кол-во лота", "Ед.", "Бюджет, ₽", "№", "Поставщик", "ИНН", "Регион", "Проверена",
          "Цена за ед., ₽", "Количество", "Сумма, ₽", "Срок, дн.", "Подано", "Комментарий", "Итог")


def can_download_protocol(user: Any, tender: Tender, now: datetime | None = None) -> bool:
    """The buyer and the organizations that responded, once the responses are open (after the deadline)."""
    if tender.status not in (TenderStatus.CLOSED, TenderStatus.AWARDED) or responses_sealed(tender, now):
        return False
    if can_manage_tender(user, tender):
        return True
    mine = organization_ids(user)
    lot_ids = [lot.id for lot in tender.lots]
    return bool(mine and lot_ids and db.session.scalar(select(TenderResponse.id).where(
        TenderResponse.lot_id.in_(lot_ids), TenderResponse.organization_id.in_(mine)).limit(1)))


def _local(tender: Tender, moment: datetime | None) -> str:
    from marketplace.tenders.services import as_utc, organization_tz

    moment = as_utc(moment)
    return moment.astimezone(organization_tz(tender.organization)).strftime("%d.%m.%Y %H:%M") if moment else "—"


def build_protocol(tender: Tender, now: datetime | None = None) -> bytes:
    """The XLSX bytes of the protocol (numbers as numbers, user text never a formula)."""
    from marketplace.tenders.services import STATUS_TITLES_RU, lot_award, lot_responses

    book = Workbook()
    sheet = book.active
    sheet.title = "Протокол"
    buyer = tender.organization
    rows: list[tuple[str, Any]] = [
        ("Протокол подведения итогов тендера", None),
        ("Тендер", f"№ {tender.id} «{tender.title}»"),
        ("Заказчик", f"{buyer.name}, ИНН {buyer.tax_id}"),
        ("Статус", STATUS_TITLES_RU[tender.status]),
        ("Опубликован", _local(tender, tender.published_at)),
        ("Срок подачи предложений", _local(tender, tender.submission_deadline)),
        ("Предложения вскрыты", _local(tender, tender.closed_at or tender.submission_deadline)),
        ("Итоги подведены", _local(tender, tender.awarded_at)),
        ("Протокол сформирован", _local(tender, now or utcnow())),
    ]
    for label, value in rows:
        sheet.append([label, value])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([])
    sheet.append(list(HEADER))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for lot in tender.lots:
        lot_cells = [lot.lot_number, lot.title, _number(lot.quantity), lot.unit or "", _number(lot.budget)]
        responses = lot_responses(lot)
        for n, response in enumerate(responses, start=1):
            org = response.organization
            sheet.append(lot_cells + [n, org.name, org.tax_id, org.region.name if org.region else org.country_code,
                                      "да" if org.verified else "нет", _number(response.price),
                                      _number(response.quantity), _number(response.total),
                                      response.lead_time_days, _local(tender, response.created_at),
                                      response.comment or "", RESULT_RU[response.status]])
        award = lot_award(lot)
        if award is None:
            decision = "итоги по лоту не подведены"
        elif award.awarded:
            decision = f"присуждён: {award.supplier.name}, {award.amount} ₽ ({_local(tender, award.decided_at)})"
        else:
            decision = f"закрыт без присуждения: {award.reason} ({_local(tender, award.decided_at)})"
        sheet.append(lot_cells + [None, "предложений нет" if not responses else None] + [None] * 9 +
                     [f"Решение: {decision}"])
    for column, width in zip("ABCDEFGHIJKLMNOPQ", (6, 34, 11, 6, 13, 4, 34, 13, 22, 10, 14, 11, 15, 9, 17, 30, 40),
                             strict=True):
        sheet.column_dimensions[column].width = width
    escape_workbook(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _number(value: Decimal | None) -> float | int | None:
    if value is None:
        return None
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)

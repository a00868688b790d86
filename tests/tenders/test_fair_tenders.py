"""Fair tenders: sealed responses, who may respond, questions and answers, the results protocol — services, pages
and API."""
from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from marketplace.core.models import AuditLog, utcnow
from marketplace.core.validation import ValidationFailed
from marketplace.tenders import access, protocol, questions, services
from marketplace.tenders.models import TenderResponse
from tests.fixtures.tenders import close_now, login, make_tender, post


@pytest.fixture
def supplier(factories):
    org = factories.organization(verified=True, region="25", name="ООО «Приморская бронза»")
    return org, factories.user(organization=org, email_confirmed_at=utcnow())


def _open(tender) -> None:
    tender.submission_deadline = datetime.now(UTC) - timedelta(minutes=1)


# Who may respond -------------------------------------------------------------------------------------------------

def test_only_confirmed_users_of_verified_or_invited_organizations_respond(db, factories):
    world = make_tender(factories)
    unverified = factories.organization()
    unconfirmed = factories.user(organization=unverified)
    with pytest.raises(ValidationFailed) as caught:
        services.submit_response(world.lot, unverified, price="1", quantity="1", lead_time_days="1",
                                 user=unconfirmed)
    fields = {e.field: e.message for e in caught.value.errors}
    assert "подтвердите адрес электронной почты" in fields["email"]
    assert "ещё не проверена координатором" in fields["organization"]
    assert db.session.query(TenderResponse).count() == 0

    unverified.verified = True
    with pytest.raises(ValidationFailed, match="подтвердите"):
        services.submit_response(world.lot, unverified, price="1", quantity="1", lead_time_days="1",
                                 user=unconfirmed)
    unconfirmed.email_confirmed_at = utcnow()
    assert services.submit_response(world.lot, unverified, price="1", quantity="1", lead_time_days="1",
                                    user=unconfirmed).id

    invited = factories.organization()  # not verified, but the buyer invited it by name: approved
    closed = make_tender(factories, visibility="closed", invited=[invited], buyer_org=world.buyer_org)
    user = factories.user(organization=invited, email_confirmed_at=utcnow())
    assert access.response_refusals(user, invited, closed.tender) == []
    assert services.submit_response(closed.lot, invited, price="1", quantity="1", lead_time_days="1", user=user).id


def test_the_respond_page_says_why_and_offers_the_confirmation_mail(client, db, factories):
    world = make_tender(factories)
    org = factories.organization()
    login(client, factories.user(organization=org))
    url = f"/tenders/{world.tender.id}/lots/{world.lot.id}/respond"
    page = client.get(url).get_data(as_text=True)
    assert "Подать предложение пока нельзя" in page and "подтвердите адрес электронной почты" in page
    assert 'href="/account/confirm"' in page
    assert 'name="price"' not in page
    refused = post(client, None, url, organization_id=str(org.id), price="10", quantity="1", lead_time_days="1")
    assert refused.status_code == 422 and db.session.query(TenderResponse).count() == 0


# Sealed until the deadline -----------------------------------------------------------------------------------------

def test_sealed_prices_are_hidden_from_the_buyer_until_the_deadline_and_shown_after(client, db, factories,
                                                                                  supplier, bearer):
    org, user = supplier
    world = make_tender(factories)
    response = services.submit_response(world.lot, org, price="1 234,5", quantity="100", lead_time_days="14",
                                        user=user)
    assert services.opened_responses(world.lot) is None and services.response_count(world.lot) == 1
    login(client, world.buyer)
    for url in (f"/tenders/{world.tender.id}", f"/tenders/{world.tender.id}/lots/{world.lot.id}/responses"):
        page = client.get(url).get_data(as_text=True)
        assert "1\u00a0234,50" not in page and "Приморская бронза" not in page, url
    show = client.get(f"/tenders/{world.tender.id}").get_data(as_text=True)
    assert f'data-sealed="{world.lot.id}"' in show and "<strong>1</strong>" in show
    assert client.get(f"/tenders/responses/{response.id}").status_code == 404
    headers = bearer(world.buyer)
    api = client.get(f"/api/v1/tenders/{world.tender.id}/lots/{world.lot.id}/responses", headers=headers)
    assert api.status_code == 409 and "1234" not in api.get_data(as_text=True)
    assert client.get(f"/api/v1/responses/{response.id}", headers=headers).status_code == 404

    _open(world.tender)
    db.session.commit()
    page = client.get(f"/tenders/{world.tender.id}/lots/{world.lot.id}/responses").get_data(as_text=True)
    assert "1\u00a0234,50" in page and "Приморская бронза" in page
    api = client.get(f"/api/v1/tenders/{world.tender.id}/lots/{world.lot.id}/responses", headers=headers)
    assert api.status_code == 200 and api.get_json()["items"][0]["price"] == "1234.50"
    assert client.get(f"/api/v1/responses/{response.id}", headers=headers).status_code == 200
    counts = client.get(f"/api/v1/tenders/{world.tender.id}/responses/count", headers=headers).get_json()
    assert counts["sealed"] is False and counts["lots"][0]["responses"] == 1


def test_the_supplier_sees_its_own_sealed_response(client, db, factories, supplier):
    org, user = supplier
    world = make_tender(factories)
    response = services.submit_response(world.lot, org, price="10", quantity="1", lead_time_days="1", user=user)
    login(client, user)
    assert client.get(f"/tenders/responses/{response.id}").status_code == 200


# Questions and answers -------------------------------------------------------------------------------------------

def test_questions_and_answers_are_shown_to_all_who_see_the_tender_without_who_asked(client, db, factories,
                                                                                   supplier, bearer):
    org, user = supplier
    world = make_tender(factories)
    login(client, user)
    show = f"/tenders/{world.tender.id}"
    assert 'name="question"' in client.get(show).get_data(as_text=True)
    empty = post(client, None, f"{show}/questions", question="  ")
    assert "Вопрос: обязательное поле" in client.get(empty.headers["Location"]).get_data(as_text=True)
    asked = post(client, None, f"{show}/questions", question="Допускается ли бронза БрАЖ9-4 вместо БрО10Ф1?")
    assert asked.status_code == 302
    item = questions.questions_for(world.tender)[0]
    assert item.organization_id == org.id and item.answer is None

    login(client, world.buyer)
    page = client.get(show).get_data(as_text=True)
    assert "БрАЖ9-4" in page and f'action="/tenders/{world.tender.id}/questions/{item.id}/answer"' in page
    post(client, None, f"{show}/questions/{item.id}/answer", answer="Да, при тех же допусках.")
    db.session.refresh(item)
    assert item.answer == "Да, при тех же допусках." and item.answered_by_id == world.buyer.id
    assert db.session.query(AuditLog).filter_by(entity_type="tender_question", action="answer").count() == 1

    rival = factories.user(organization=factories.organization(), email_confirmed_at=utcnow())
    for visitor in (rival, None):
        login(client, visitor)
        page = client.get(show).get_data(as_text=True)
        assert "БрАЖ9-4" in page and "Да, при тех же допусках." in page and "Приморская бронза" not in page
    listed = client.get(f"/api/v1/tenders/{world.tender.id}/questions").get_json()["items"]
    assert listed[0]["answer"] == "Да, при тех же допусках." and "organization_id" not in listed[0]

    # The buyer does not ask, a rival answers nothing, and nobody asks after the deadline.
    with pytest.raises(ValidationFailed):
        questions.ask_question(world.tender, world.buyer, question="?")
    with pytest.raises(ValidationFailed, match="отвечает только заказчик"):
        questions.answer_question(item, rival, answer="нет")
    sent = client.post(f"/api/v1/tenders/{world.tender.id}/questions", headers=bearer(user),
                       json={"question": "Срок поставки можно сдвинуть?"})
    assert sent.status_code == 201
    answered = client.put(f"/api/v1/tenders/{world.tender.id}/questions/{sent.get_json()['id']}/answer",
                          headers=bearer(rival), json={"answer": "да"})
    assert answered.status_code == 403
    _open(world.tender)
    with pytest.raises(ValidationFailed, match="пока идёт приём"):
        questions.ask_question(world.tender, user, question="Ещё вопрос")


def test_a_closed_tenders_questions_are_not_shown_to_strangers(client, db, factories):
    invited = factories.organization()
    world = make_tender(factories, visibility="closed", invited=[invited])
    user = factories.user(organization=invited, email_confirmed_at=utcnow())
    questions.ask_question(world.tender, user, question="Нужен ли сертификат?")
    login(client, None)
    assert client.get(f"/api/v1/tenders/{world.tender.id}/questions").status_code == 404


# The protocol ------------------------------------------------------------------------------------------------------

def test_the_award_produces_a_protocol_with_every_response(client, db, factories, supplier, bearer):
    org, user = supplier
    rival_org = factories.organization(verified=True, name="=1+2 ООО «Амурская бронза»")
    rival = factories.user(organization=rival_org, email_confirmed_at=utcnow())
    world = make_tender(factories, lots=2)
    second = world.tender.lots[1]
    winner = services.submit_response(world.lot, org, price="1500", quantity="100", lead_time_days="20", user=user)
    services.submit_response(world.lot, rival_org, price="1450,5", quantity="100", lead_time_days="30", user=rival)
    url = f"/tenders/{world.tender.id}/protocol.xlsx"
    login(client, world.buyer)
    assert client.get(url).status_code == 404  # not before the deadline
    close_now(world.tender)
    services.award_lot(world.lot, winner, user=world.buyer)
    services.close_lot_without_award(second, reason="нет предложений", user=world.buyer)
    db.session.commit()

    page = client.get(f"/tenders/{world.tender.id}").get_data(as_text=True)
    assert "data-protocol" in page
    got = client.get(url)
    assert got.status_code == 200 and got.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(got.data)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    flat = [str(c) for row in rows for c in row if c is not None]
    assert any("Поставка втулок" in c for c in flat) and "ООО «Приморская бронза»" in flat
    formula_cell = next(c for row in sheet.iter_rows() for c in row if c.value == "=1+2 ООО «Амурская бронза»")
    assert formula_cell.data_type == "s"  # a name that looks like a formula stays text
    responses = [row for row in rows if row[6] in ("ООО «Приморская бронза»", "=1+2 ООО «Амурская бронза»")]
    assert {(row[10], row[16]) for row in responses} == {(1500, "победитель"), (1450.5, "не выбрано")}
    assert any("Решение: присуждён: ООО «Приморская бронза»" in c for c in flat)
    assert any("закрыт без присуждения: нет предложений" in c for c in flat)
    assert db.session.query(AuditLog).filter_by(entity_type="tender", action="protocol").count() == 1

    login(client, rival)  # a participant may read it, a stranger may not
    assert client.get(url).status_code == 200
    login(client, factories.user(organization=factories.organization(), email_confirmed_at=utcnow()))
    assert client.get(url).status_code == 404
    api = client.get(f"/api/v1/tenders/{world.tender.id}/protocol.xlsx", headers=bearer(world.buyer))
    assert api.status_code == 200 and api.data[:2] == b"PK"
    assert protocol.can_download_protocol(None, world.tender) is False

"""Tender pages: the buyer's flow through forms (CSRF, errors next to fields, input kept), the supplier's response,
comparing and awarding, and the authorization matrix of every tender endpoint."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from marketplace.accounts.models import UserRole
from marketplace.core.models import utcnow
from marketplace.tenders import services
from marketplace.tenders.models import LotAward, TenderStatus
from tests.fixtures.tenders import csrf_token, login, make_tender, post


@pytest.fixture(autouse=True)
def jobs(enqueued: list[str]) -> list[str]:
    """The jobs the pages enqueue (the search slice's outbox drain, matching) are recorded, not run: they have
    their own tests, and run inline they would fit the search encoder here."""
    return enqueued


# The buyer's and the supplier's flow ---------------------------------------------------------------

def test_buyer_creates_tender_errors_show_next_to_fields_and_input_is_kept(client, factories):
    org = factories.organization(verified=True, region="27")
    buyer = factories.user(email_confirmed_at=utcnow(), role=UserRole.BUYER, organization=org)
    login(client, buyer)
    response = post(client, "/tenders/new", title="", description="Моё описание", visibility="open",
                    submission_deadline="не дата", organization_id=str(org.id), community_id="")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Моё описание" in page  # the input is kept
    assert re.search(r'name="title"[^>]*is-invalid|is-invalid[^>]*name="title"', page)
    assert "обязательное поле" in page and "дата и время не распознаны" in page


def test_post_without_csrf_token_changes_nothing(client, factories, db):
    org = factories.organization(verified=True, region="27")
    login(client, factories.user(email_confirmed_at=utcnow(), role=UserRole.BUYER, organization=org))
    response = client.post("/tenders/new", data={"title": "Без токена", "organization_id": str(org.id)})
    assert response.status_code == 400
    from sqlalchemy import select

    from marketplace.tenders.models import Tender
    assert db.session.scalar(select(Tender).where(Tender.title == "Без токена")) is None


def test_buyer_flow_create_lot_publish(client, factories, db, jobs):
    org = factories.organization(verified=True, region="27")
    buyer = factories.user(email_confirmed_at=utcnow(), role=UserRole.BUYER, organization=org)
    login(client, buyer)
    deadline = (datetime.now(UTC) + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    response = post(client, "/tenders/new", title="Поставка подшипников", description="", visibility="open",
                    submission_deadline=deadline, organization_id=str(org.id), community_id="",
                    invited_tax_ids="")
    assert response.status_code == 302
    tender_url = response.headers["Location"]
    tender_id = int(tender_url.rstrip("/").split("/")[-1])
    lot_url = f"/tenders/{tender_id}/lots/new"
    response = post(client, lot_url, title="Подшипник 6205", okpd2="99.99", quantity="1 000", unit="шт",
                    region="27", town="", delivery_deadline="2030-01-01", budget="", description="")
    assert response.status_code == 422 and "неизвестный код ОКПД2" in response.get_data(as_text=True)
    assert "1 000" in response.get_data(as_text=True)  # the quantity as typed
    response = post(client, lot_url, title="Подшипник 6205", okpd2="28.15.10", quantity="1 000", unit="шт",
                    region="27", town="Хабаровск", delivery_deadline="2030-01-01", budget="50000", description="")
    assert response.status_code == 302
    jobs.clear()
    response = post(client, None, f"/tenders/{tender_id}/publish")
    assert response.status_code == 302
    assert "search.drain_outbox" in jobs  # the published lots go to the search index
    tender = db.session.get(services.Tender, tender_id)
    db.session.refresh(tender)
    assert tender.status == TenderStatus.PUBLISHED and tender.lots[0].quantity == 1000
    page = client.get(f"/tenders/{tender_id}").get_data(as_text=True)
    assert "Подшипник 6205" in page and 'data-status="published"' in page


def test_publish_errors_are_shown(client, factories):
    world = make_tender(factories, publish=False)
    world.tender.lots.clear()
    login(client, world.buyer)
    response = post(client, None, f"/tenders/{world.tender.id}/publish")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "добавьте хотя бы один лот" in page


def test_supplier_responds_edits_and_buyer_awards(client, factories, db):
    world = make_tender(factories)
    supplier_org = factories.organization(verified=True, region="25", name="ООО «Приморская бронза»")
    rival_org = factories.organization(verified=True, region="27", name="ООО «Амурская бронза»")
    supplier = factories.user(email_confirmed_at=utcnow(), organization=supplier_org)
    rival = factories.user(email_confirmed_at=utcnow(), organization=rival_org)
    respond_url = f"/tenders/{world.tender.id}/lots/{world.lot.id}/respond"

    login(client, supplier)
    response = post(client, respond_url, organization_id=str(supplier_org.id), price="abc", quantity="100",
                    lead_time_days="20", comment="Сертификат ГОСТ")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "не число" in page and "Сертификат ГОСТ" in page
    response = post(client, respond_url, organization_id=str(supplier_org.id), price="1 500", quantity="100",
                    lead_time_days="20", comment="Сертификат ГОСТ")
    assert response.status_code == 302
    response_url = response.headers["Location"]
    assert client.get(response_url).status_code == 200
    response = post(client, respond_url, organization_id=str(supplier_org.id), price="1 400", quantity="100",
                    lead_time_days="20", comment="Скидка")
    assert response.status_code == 302

    login(client, rival)
    assert post(client, respond_url, organization_id=str(rival_org.id), price="1 450", quantity="100",
                lead_time_days="10", comment="").status_code == 302
    assert client.get(response_url).status_code == 404  # a competitor's response

    login(client, world.buyer)
    compare_url = f"/tenders/{world.tender.id}/lots/{world.lot.id}/responses"
    page = client.get(compare_url).get_data(as_text=True)
    assert "Предложения запечатаны" in page and "<strong>2</strong>" in page  # before the deadline: how many only
    assert "Приморская бронза" not in page and "1\u00a0400" not in page and "Присудить" not in page
    assert client.get(response_url).status_code == 404  # a sealed envelope, for the buyer too

    world.tender.submission_deadline = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    page = client.get(compare_url).get_data(as_text=True)
    assert page.index("Приморская бронза") < page.index("Амурская бронза")  # 1 400 before 1 450
    assert "Приморский край" in page and "Присудить" in page
    winner = services.organization_response(world.lot, supplier_org.id)
    response = post(client, None, f"/tenders/{world.tender.id}/lots/{world.lot.id}/award",
                    response_id=str(winner.id))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(LotAward, world.lot.id).supplier_organization_id == supplier_org.id
    assert db.session.get(services.Tender, world.tender.id).status == TenderStatus.AWARDED

    login(client, supplier)
    assert "Победитель" in client.get(f"/tenders/{world.tender.id}").get_data(as_text=True)
    late = post(client, None, respond_url, organization_id=str(supplier_org.id), price="1", quantity="1",
                lead_time_days="1")
    assert late.status_code == 422 and "Приём предложений завершён" in late.get_data(as_text=True)
    db.session.refresh(winner)
    assert winner.price == 1400


def test_amounts_are_written_the_readers_way_and_awarding_asks_first(client, factories, db):
    world = make_tender(factories)
    supplier_org = factories.organization(verified=True, region="25", name="ООО «Приморская бронза»")
    services.submit_response(world.lot, supplier_org, price="1 850,5", quantity="100", lead_time_days="21")
    world.tender.submission_deadline = datetime.now(UTC) - timedelta(minutes=1)
    services.close_tender(world.tender)
    login(client, world.buyer)
    compare_url = f"/tenders/{world.tender.id}/lots/{world.lot.id}/responses"

    page = client.get(compare_url).get_data(as_text=True)
    cells = re.findall(r'<td class="text-end">([^<]*)</td>', page)
    assert cells == ["1\u00a0850,50", "100", "185\u00a0050", "21"]  # price, quantity, total, lead time
    assert "бюджет 250\u00a0000 ₽" in page
    assert 'data-confirm="Присудить лот № 1: ООО «Приморская бронза»? Решение окончательное."' in page
    english = client.get(compare_url + "?lang=en").get_data(as_text=True)
    assert re.findall(r'<td class="text-end">([^<]*)</td>', english)[:3] == ["1,850.50", "100", "185,050"]


def test_negative_price_is_refused_next_to_the_field_and_the_comment_is_kept(client, factories, db):
    world = make_tender(factories)
    supplier_org = factories.organization(verified=True, region="25")
    login(client, factories.user(email_confirmed_at=utcnow(), organization=supplier_org))
    response = post(client, f"/tenders/{world.tender.id}/lots/{world.lot.id}/respond",
                    organization_id=str(supplier_org.id), price="-5", quantity="100", lead_time_days="-1",
                    comment="Отгрузка партиями")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'is-invalid[^>]*name="price"[^>]*value="-5"', page)
    assert page.count("не может быть отрицательным") == 2  # price and lead time, each under its field
    assert "Отгрузка партиями</textarea>" in page
    # A tenth of a kopeck is not rounded away to a free offer: the columns keep 2 (price) and 3 (quantity) places.
    response = post(client, f"/tenders/{world.tender.id}/lots/{world.lot.id}/respond",
                    organization_id=str(supplier_org.id), price="0,001", quantity="0,0004", lead_time_days="5")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "не больше двух знаков после запятой" in page and "не больше трёх знаков после запятой" in page
    assert services.organization_response(world.lot, supplier_org.id) is None


def test_lot_of_a_published_tender_is_not_offered_for_editing(client, factories, db):
    world = make_tender(factories)
    login(client, world.buyer)
    edit_url = f"/tenders/{world.tender.id}/lots/{world.lot.id}/edit"
    response = client.get(edit_url)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/tenders/{world.tender.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Лоты опубликованного тендера изменить нельзя." in page
    response = client.post(edit_url, data={"csrf_token": csrf_token(client), "title": "Другое", "quantity": "1",
                                           "unit": "шт", "region": "27", "delivery_deadline": "2030-01-01",
                                           "okpd2": "25.62.20"})
    assert response.status_code == 302
    db.session.refresh(world.lot)
    assert world.lot.title == "Втулки бронзовые 1"


def test_response_after_deadline_is_refused(client, factories, db):
    world = make_tender(factories)
    supplier_org = factories.organization(verified=True)
    login(client, factories.user(email_confirmed_at=utcnow(), organization=supplier_org))
    respond_url = f"/tenders/{world.tender.id}/lots/{world.lot.id}/respond"
    token = csrf_token(client)
    world.tender.submission_deadline = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    response = client.post(respond_url, data={"csrf_token": token, "organization_id": str(supplier_org.id),
                                              "price": "1", "quantity": "1", "lead_time_days": "1"})
    assert response.status_code == 422
    assert "Приём предложений завершён" in response.get_data(as_text=True)
    assert services.organization_response(world.lot, supplier_org.id) is None


def test_buyer_cancels_with_reason(client, factories, db):
    world = make_tender(factories)
    login(client, world.buyer)
    response = post(client, None, f"/tenders/{world.tender.id}/cancel", reason=" ")
    assert "Причина: обязательное поле" in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.refresh(world.tender)
    assert world.tender.status == TenderStatus.PUBLISHED
    response = post(client, None, f"/tenders/{world.tender.id}/cancel",
                    reason="Потребность отпала")
    assert response.status_code == 302
    db.session.refresh(world.tender)
    assert world.tender.status == TenderStatus.CANCELLED


def test_list_shows_open_tenders_and_hides_closed_ones(client, factories):
    open_world = make_tender(factories)
    open_world.tender.title = "Открытая закупка втулок"
    invited = factories.organization(verified=True)
    closed_world = make_tender(factories, visibility="closed", invited=[invited])
    closed_world.tender.title = "Секретная закупка"
    login(client, None)
    page = client.get("/tenders/").get_data(as_text=True)
    assert "Открытая закупка втулок" in page and "Секретная закупка" not in page
    login(client, factories.user(email_confirmed_at=utcnow(), organization=invited))
    assert "Секретная закупка" in client.get("/tenders/").get_data(as_text=True)


def test_the_list_comes_in_pages(client, factories, db, monkeypatch):
    from marketplace.core import paging

    monkeypatch.setattr(paging, "PER_PAGE", 2)  # the pages of a long list, on three tenders
    buyer = factories.organization(region="27", name="АО «Заказчик»")
    for title in ("Закупка один", "Закупка два", "Закупка три"):
        make_tender(factories, buyer_org=buyer).tender.title = title
    login(client, None)
    first = client.get("/tenders/?status=published").get_data(as_text=True)
    second = client.get("/tenders/?status=published&page=2").get_data(as_text=True)
    assert "страница 1 из 2" in first and "страница 2 из 2" in second
    assert ("Закупка три" in first and "Закупка два" in first) and "Закупка один" in second
    assert "Закупка один" not in first and "status=published" in re.findall(r'rel="next" href="([^"]+)"', first)[0]


def test_list_closes_tenders_whose_deadline_passed(client, factories, db):
    world = make_tender(factories)
    world.tender.title = "Просроченная закупка"
    world.tender.submission_deadline = datetime.now(UTC) - timedelta(minutes=1)
    login(client, None)
    published = client.get("/tenders/?status=published").get_data(as_text=True)
    assert "Просроченная закупка" not in published
    page = client.get("/tenders/").get_data(as_text=True)
    row = re.search(r"Просроченная закупка.*?</tr>", page, re.S).group(0)
    assert 'data-status="closed"' in row and "приём завершён, подведение итогов" in row
    db.session.refresh(world.tender)
    assert world.tender.status == TenderStatus.CLOSED


# Authorization matrix ----------------------------------------------------------------------------

@pytest.fixture
def matrix(factories):
    """A closed tender of a buyer in region 27 with an invited supplier's response, and every kind of visitor."""
    invited_org = factories.organization(verified=True, region="25")
    world = make_tender(factories, visibility="closed", invited=[invited_org])
    response = services.submit_response(world.lot, invited_org, price="10", quantity="100", lead_time_days="5")
    users = {
        "anonymous": None,
        "buyer": world.buyer,
        "invited": factories.user(email_confirmed_at=utcnow(), organization=invited_org),
        "stranger": factories.user(email_confirmed_at=utcnow(), organization=factories.organization(verified=True, region="27")),
        "coordinator27": factories.user(email_confirmed_at=utcnow(), role=UserRole.COORDINATOR, regions=["27"]),
        "coordinator25": factories.user(email_confirmed_at=utcnow(), role=UserRole.COORDINATOR, regions=["25"]),
        "admin": factories.user(email_confirmed_at=utcnow(), role=UserRole.ADMIN),
    }
    return world, response, users


VISITORS = ("anonymous", "buyer", "invited", "stranger", "coordinator27", "coordinator25", "admin")
GET_MATRIX = {
    # url template: the status per visitor, in the order of VISITORS (302: to the login page, or a published
    # tender's editing pages sending its managers back to the tender)
    "/tenders/{t}": (404, 200, 200, 404, 404, 404, 200),
    "/tenders/{t}/lots/{l}/responses": (302, 200, 404, 404, 404, 404, 200),
    "/tenders/responses/{r}": (302, 404, 200, 404, 404, 404, 404),  # sealed: only its author before the deadline
    "/tenders/{t}/lots/{l}/respond": (302, 404, 200, 404, 404, 404, 404),
    "/tenders/{t}/edit": (302, 302, 404, 404, 404, 404, 302),
    "/tenders/{t}/lots/new": (302, 302, 404, 404, 404, 404, 302),
    "/tenders/{t}/lots/{l}/edit": (302, 302, 404, 404, 404, 404, 302),
}


@pytest.mark.parametrize("url", list(GET_MATRIX))
def test_get_matrix_of_a_closed_tender(client, matrix, url):
    world, response, users = matrix
    target = url.format(t=world.tender.id, l=world.lot.id, r=response.id)
    got = {}
    for visitor in VISITORS:
        login(client, users[visitor])
        got[visitor] = client.get(target).status_code
    assert got == dict(zip(VISITORS, GET_MATRIX[url], strict=True))


POST_URLS = ["/tenders/{t}/publish", "/tenders/{t}/cancel", "/tenders/{t}/lots/{l}/award",
             "/tenders/{t}/lots/{l}/no-award", "/tenders/{t}/lots/{l}/delete"]


@pytest.mark.parametrize("url", POST_URLS)
def test_state_changes_of_others_are_404(client, matrix, url, db):
    world, response, users = matrix
    target = url.format(t=world.tender.id, l=world.lot.id)
    for visitor in ("invited", "stranger", "coordinator27", "coordinator25"):
        login(client, users[visitor])
        data = {"response_id": str(response.id), "reason": "x", "csrf_token": csrf_token(client)}
        assert client.post(target, data=data).status_code == 404, visitor
    db.session.refresh(world.tender)
    assert world.tender.status == TenderStatus.PUBLISHED and len(world.tender.lots) == 1


@pytest.mark.parametrize("url", ["/tenders/{t}/publish", "/tenders/{t}/lots/{l}/award"])
def test_state_changes_need_login(client, matrix, url):
    world, response, _users = matrix
    target = url.format(t=world.tender.id, l=world.lot.id)
    data = {"response_id": str(response.id), "csrf_token": csrf_token(client)}
    assert client.post(target, data=data).status_code == 302


@pytest.mark.parametrize("url", ["/tenders/999999", "/tenders/999999/lots/1/responses", "/tenders/responses/999999",
                                 "/tenders/{t}/lots/999999/respond", "/tenders/{t}/lots/999999/responses"])
def test_unknown_ids_are_404(client, matrix, url):
    world, _response, users = matrix
    login(client, users["admin"])
    assert client.get(url.format(t=world.tender.id)).status_code == 404


def test_lot_of_another_tender_is_404(client, factories, matrix):
    world, _response, _users = matrix
    other = make_tender(factories)
    login(client, world.buyer)
    assert client.get(f"/tenders/{world.tender.id}/lots/{other.lot.id}/responses").status_code == 404


def test_draft_is_404_for_everyone_but_the_buyer(client, factories):
    world = make_tender(factories, publish=False)
    login(client, None)
    assert client.get(f"/tenders/{world.tender.id}").status_code == 404
    login(client, factories.user(email_confirmed_at=utcnow(), organization=factories.organization(verified=True)))
    assert client.get(f"/tenders/{world.tender.id}").status_code == 404
    login(client, world.buyer)
    assert client.get(f"/tenders/{world.tender.id}").status_code == 200


def test_open_tender_is_public(client, factories):
    world = make_tender(factories)
    login(client, None)
    page = client.get(f"/tenders/{world.tender.id}")
    assert page.status_code == 200 and world.lot.title in page.get_data(as_text=True)

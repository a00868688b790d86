"""A buyer announces a tender with a lot (its ОКПД2 code picked with the search-as-you-type picker) and publishes it;
a manufacturer from another region finds it, is told off for a negative price, responds; after the deadline the buyer
compares the responses side by side and awards the lot — in a real browser against a real server, each user in their
own browser context."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from marketplace.accounts.models import UserRole
from marketplace.organizations.models import OrganizationKind

pytestmark = pytest.mark.browser

PASSWORD = "Бронзовые втулки 2026"
TENDER_TITLE = "Поставка бронзовых втулок для ремонта земснаряда"
LOT_TITLE = "Втулка БрАЖ9-4 Ø 120 мм по чертежу"
NBSP = "\u00a0"  # Russian digit grouping: 222 060
DRAWING = b"  0\nSECTION\n  2\nHEADER\n  9\n$ACADVER\n  1\nAC1015\n  0\nENDSEC\n  0\nEOF\n"
COMMENT = "Бронза БрАЖ9-4, отгрузка двумя партиями, сертификат качества на каждую"


def shot(page, name: str) -> None:
    page.screenshot(path=str(page.shots / f"{name}.png"), full_page=True)


def flash_texts(page) -> list[str]:
    return [text.strip() for text in page.locator(".flash").all_inner_texts()]


def status_badge(page) -> str:
    return page.locator("h1 [data-status]").inner_text().strip()


def path_is(pattern: str):
    """A URL predicate for ``wait_for_url``: the whole path matches (a ``?next=/tenders/new`` does not)."""
    return lambda url: re.fullmatch(pattern, urlsplit(url).path) is not None


def follow(page, target) -> None:
    """Click a link or a submit button and wait for the page it leads to (even when the URL stays the same)."""
    with page.expect_navigation():
        target.click()


def log_in(page, email: str) -> None:
    """Fill the real login form the page was redirected to (or linked to)."""
    page.wait_for_url(path_is(r"/account/login"))
    page.fill("#f-email", email)
    page.fill("#f-password", PASSWORD)
    follow(page, page.locator("form[action*='/account/login'] button[type=submit]"))


@pytest.fixture
def people(live_server):
    """A buyer organization (Хабаровский край), the supplier who will respond in the browser (Приморский край) and
    a local rival supplier, each with a confirmed user who logs in with PASSWORD."""
    from marketplace.extensions import db
    from tests.fixtures.factories import Factories

    with live_server.app.app_context():
        make = Factories(db)
        confirmed = datetime.now(UTC)
        buyer_org = make.organization(region="27", kind=OrganizationKind.BUYER, name="АО «Хабаровский судоремонт»")
        # Suppliers verified by a coordinator: only they (with a confirmed e-mail) may respond to an open tender.
        supplier_org = make.organization(region="25", kind=OrganizationKind.MANUFACTURER,
                                         name="ООО «Приморский литейный завод»", verified=True)
        rival_org = make.organization(region="27", kind=OrganizationKind.MANUFACTURER, name="ООО «Амурлит»",
                                      verified=True)
        buyer = make.user(role=UserRole.BUYER, organization=buyer_org, password=PASSWORD,
                          email_confirmed_at=confirmed)
        supplier = make.user(role=UserRole.MANUFACTURER, organization=supplier_org, password=PASSWORD,
                             email_confirmed_at=confirmed)
        rival = make.user(role=UserRole.MANUFACTURER, organization=rival_org, password=PASSWORD,
                          email_confirmed_at=confirmed)
        db.session.commit()
        out = {"buyer": buyer.email, "supplier": supplier.email, "rival": rival.email, "rival_user_id": rival.id,
               "supplier_org_id": supplier_org.id, "rival_org_id": rival_org.id}
        db.session.remove()
    return out


def test_buyer_publishes_a_tender_a_supplier_responds_and_the_buyer_awards(live_server, new_page, people,
                                                                          monkeypatch):
    from marketplace.extensions import db
    from marketplace.tenders import services
    from marketplace.tenders.models import LotAward, ResponseStatus, Tender, TenderResponse, TenderStatus

    base = live_server.url
    buyer, supplier = new_page(), new_page()
    # The buyer types the deadline in the time of the buyer's region (Хабаровск, UTC+10).
    khabarovsk = datetime.now(UTC).astimezone(timezone(timedelta(hours=10)))
    deadline = (khabarovsk + timedelta(days=7)).replace(hour=18, minute=0, second=0, microsecond=0)
    delivery = (deadline + timedelta(days=60)).date()

    # 1. The buyer asks for the new-tender page, is sent to the login form, and comes back to it.
    buyer.goto(f"{base}/tenders/new")
    log_in(buyer, people["buyer"])
    buyer.wait_for_url(path_is(r"/tenders/new"))
    buyer.fill("#title", TENDER_TITLE)
    buyer.fill("#description", "Втулки для ремонта дноуглубительного снаряда, приёмка на складе заказчика")
    buyer.fill("#submission_deadline", deadline.strftime("%Y-%m-%dT%H:%M"))
    buyer.select_option("#visibility", "open")
    shot(buyer, "01-buyer-new-tender")
    follow(buyer, buyer.get_by_role("button", name="Сохранить", exact=True))
    buyer.wait_for_url(path_is(r"/tenders/\d+"))
    tender_url = buyer.url
    tender_id = int(tender_url.rsplit("/", 1)[1])
    assert "Черновик тендера создан. Добавьте лоты и опубликуйте." in flash_texts(buyer)
    assert status_badge(buyer) == "черновик"
    assert deadline.strftime("%d.%m.%Y 18:00 (UTC+10:00)") in buyer.locator("dl").inner_text()
    assert buyer.locator("text=Лотов пока нет.").is_visible()
    shot(buyer, "02-buyer-draft")

    # 2. A lot, its ОКПД2 code picked from the search.
    follow(buyer, buyer.get_by_role("link", name="Добавить лот"))
    buyer.wait_for_url(path_is(rf"/tenders/{tender_id}/lots/new"))
    assert buyer.input_value("#region") == "27"  # the buyer's own region by default
    buyer.fill("#title", LOT_TITLE)
    buyer.fill("#description", "Материал БрАЖ9-4 по ГОСТ 18175, чертёж прилагается")
    buyer.locator(".field-okpd2 .picker-search").type("прочих основных технологических", delay=20)
    option = buyer.locator(".field-okpd2 .picker-item[data-code='25.62.20']")
    option.wait_for(state="visible")
    shot(buyer, "03-buyer-okpd2-picker")
    option.click()
    assert buyer.input_value("#okpd2") == "25.62.20"
    buyer.fill("#quantity", "120")
    buyer.fill("#unit", "шт")
    buyer.fill("#budget", "300 000")  # typed the Russian way
    buyer.fill("#town", "Хабаровск")
    buyer.fill("#delivery_deadline", delivery.isoformat())
    shot(buyer, "04-buyer-lot-form")
    follow(buyer, buyer.get_by_role("button", name="Сохранить лот"))
    buyer.wait_for_url(tender_url)
    assert "Лот добавлен." in flash_texts(buyer)
    lot_card = buyer.locator("[data-lot-id]")
    assert lot_card.count() == 1
    lot_text = lot_card.inner_text()
    assert f"Лот № 1: {LOT_TITLE}" in lot_text
    assert "ОКПД2: 25.62.20" in lot_text and "120 шт" in lot_text and "Хабаровск" in lot_text
    assert f"бюджет: 300{NBSP}000 ₽" in lot_text and delivery.strftime("до %d.%m.%Y") in lot_text
    lot_id = int(lot_card.get_attribute("data-lot-id"))

    # The drawing, attached to the lot from its card: first an executable named .dxf (refused by its content),
    # then the real DXF.
    file_input = buyer.locator(f"#file-listing-{lot_id}")
    file_input.set_input_files(files=[{"name": "втулка.dxf", "mimeType": "image/vnd.dxf", "buffer": b"MZ\x90\x00" * 64}])
    follow(buyer, lot_card.get_by_role("button", name="Прикрепить"))
    assert any("назван как DXF, но содержимое не распознано" in t for t in flash_texts(buyer))
    buyer.locator(f"#file-listing-{lot_id}").set_input_files(files=[{"name": "втулка.dxf", "mimeType": "image/vnd.dxf",
                                                                      "buffer": DRAWING}])
    follow(buyer, buyer.locator("[data-lot-id]").get_by_role("button", name="Прикрепить"))
    assert "Файл «втулка.dxf» прикреплён." in flash_texts(buyer)
    drawing_href = buyer.locator("[data-lot-id] [data-document-id] a").get_attribute("href")
    shot(buyer, "04b-buyer-lot-drawing")

    # 3. Publishing.
    follow(buyer, buyer.get_by_role("button", name="Опубликовать"))
    buyer.wait_for_url(tender_url)
    assert "Тендер опубликован: поставщики могут подавать предложения." in flash_texts(buyer)
    assert status_badge(buyer) == "приём предложений"
    assert buyer.get_by_role("link", name="Добавить лот").count() == 0
    assert buyer.locator(f"[data-sealed='{lot_id}']").inner_text().startswith("Подано предложений: 0")
    shot(buyer, "05-buyer-published")

    # The local rival answers too (through the service: the browser part is the supplier's below).
    with live_server.app.app_context():
        from marketplace.accounts.models import User
        from marketplace.organizations.models import Organization

        lot = db.session.get(Tender, tender_id).lots[0]
        services.submit_response(lot, db.session.get(Organization, people["rival_org_id"]), price="1990",
                                 quantity="120", lead_time_days="14", comment="Со склада в Хабаровске",
                                 user=db.session.get(User, people["rival_user_id"]))
        db.session.commit()
        db.session.remove()

    # Sealed until the deadline: the buyer learns how many, not who or at what price.
    buyer.reload()
    sealed = buyer.locator(f"[data-sealed='{lot_id}']").inner_text()
    assert "Подано предложений: 1" in sealed and "1990" not in buyer.content() and "Амурлит" not in buyer.content()
    assert buyer.get_by_role("link", name=re.compile("Сравнить предложения")).count() == 0

    # 4. The supplier finds the tender in the list without logging in, then logs in from the tender page.
    supplier.goto(f"{base}/tenders/")
    row = supplier.locator("table tr", has_text=TENDER_TITLE)
    assert "АО «Хабаровский судоремонт»" in row.inner_text() and "приём предложений" in row.inner_text()
    shot(supplier, "06-supplier-tender-list")
    follow(supplier, row.get_by_role("link", name=TENDER_TITLE))
    supplier.wait_for_url(tender_url)
    assert supplier.get_by_role("link", name="Подать предложение").count() == 0  # anonymous: log in first
    follow(supplier, supplier.get_by_role("link", name="Войдите"))
    log_in(supplier, people["supplier"])
    supplier.wait_for_url(tender_url)
    assert supplier.get_by_role("link", name=re.compile("Сравнить предложения")).count() == 0  # the buyer's only
    shot(supplier, "07-supplier-tender")
    assert supplier.locator("[data-lot-id] [data-document-id] a").inner_text() == "втулка.dxf"
    assert supplier.request.get(f"{base}{drawing_href}").body() == DRAWING  # the published lot's drawing
    assert supplier.locator(f"#file-listing-{lot_id}").count() == 0  # only the buyer attaches
    follow(supplier, supplier.get_by_role("link", name="Подать предложение"))
    supplier.wait_for_url(path_is(rf"/tenders/{tender_id}/lots/{lot_id}/respond"))
    assert supplier.input_value("#quantity") == "120"  # the lot's quantity, to start from

    # 5. Bad input: a negative price is refused next to the field, and what was typed stays.
    supplier.fill("#price", "-1850,50")
    supplier.fill("#lead_time_days", "21")
    supplier.fill("#comment", COMMENT)
    follow(supplier, supplier.get_by_role("button", name="Подать предложение"))
    price_field = supplier.locator(".field-price")
    assert "is-invalid" in price_field.locator("#price").get_attribute("class")
    assert price_field.locator(".invalid-feedback").inner_text().strip() == "не может быть отрицательным"
    assert supplier.locator(".invalid-feedback").count() == 1  # only the price is wrong
    assert supplier.input_value("#comment") == COMMENT
    assert supplier.input_value("#price") == "-1850,50"
    assert supplier.input_value("#lead_time_days") == "21"
    shot(supplier, "08-supplier-negative-price")
    with live_server.app.app_context():
        assert db.session.scalar(select(TenderResponse).where(
            TenderResponse.organization_id == people["supplier_org_id"])) is None
        db.session.remove()

    # 6. The corrected response.
    supplier.fill("#price", "1 850,50")
    follow(supplier, supplier.get_by_role("button", name="Подать предложение"))
    supplier.wait_for_url(path_is(r"/tenders/responses/\d+"))
    response_id = int(supplier.url.rsplit("/", 1)[1])
    assert "Предложение сохранено. Его можно изменить до окончания срока подачи." in flash_texts(supplier)
    details = supplier.locator(f"dl[data-response-id='{response_id}']").inner_text()
    for expected in (f"1{NBSP}850,50 ₽", "120 шт", f"222{NBSP}060 ₽", "21 дн.", COMMENT, "подано"):
        assert expected in details
    assert supplier.get_by_role("link", name="Изменить").is_visible()
    shot(supplier, "09-supplier-response")

    # 7. The deadline passes (the clock moves on; nobody waits): the pages close the tender themselves.
    later = datetime.now(UTC) + timedelta(days=8)
    monkeypatch.setattr(services, "utcnow", lambda: later)
    supplier.goto(f"{base}/tenders/")  # the list agrees with the tender page before the periodic job comes round
    assert "приём завершён, подведение итогов" in supplier.locator("table tr", has_text=TENDER_TITLE).inner_text()
    follow(supplier, supplier.get_by_role("link", name=TENDER_TITLE))
    assert status_badge(supplier) == "приём завершён, подведение итогов"
    assert supplier.get_by_role("link", name=re.compile("(Подать|Изменить) предложение")).count() == 0
    assert f"Ваше предложение (ООО «Приморский литейный завод»): 1{NBSP}850,50 ₽ × 120, 21 дн." in \
        supplier.locator("[data-lot-id]").inner_text()
    shot(supplier, "10-supplier-after-deadline")

    # 8. The buyer compares the responses side by side: cheapest unit price first, the local one marked.
    buyer.goto(tender_url)
    assert status_badge(buyer) == "приём завершён, подведение итогов"
    follow(buyer, buyer.get_by_role("link", name="Сравнить предложения (2)"))
    buyer.wait_for_url(path_is(rf"/tenders/{tender_id}/lots/{lot_id}/responses"))
    rows = buyer.locator("#responses tbody tr")
    assert rows.count() == 2
    first, second = rows.nth(0), rows.nth(1)
    assert first.get_attribute("data-response-id") == str(response_id)
    cells = [c.strip() for c in first.locator("td").all_inner_texts()]
    assert cells[:8] == ["1", "ООО «Приморский литейный завод» проверена", "Приморский край", f"1{NBSP}850,50", "120",
                         f"222{NBSP}060", "21",
                         COMMENT]
    rival_cells = [c.strip() for c in second.locator("td").all_inner_texts()]
    assert rival_cells[1:8] == ["ООО «Амурлит» проверена", "Хабаровский край местный", f"1{NBSP}990", "120", f"238{NBSP}800", "14",
                                "Со склада в Хабаровске"]
    assert buyer.get_by_role("button", name="Присудить").count() == 2
    shot(buyer, "11-buyer-compare")

    # 9. Awarding the supplier's response.
    asked: list[str] = []
    buyer.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    follow(buyer, first.get_by_role("button", name="Присудить"))
    assert asked == ["Присудить лот № 1: ООО «Приморский литейный завод»? Решение окончательное."]
    buyer.wait_for_url(path_is(rf"/tenders/{tender_id}/lots/{lot_id}/responses"))
    assert "Лот № 1 присуждён: ООО «Приморский литейный завод»." in flash_texts(buyer)
    assert buyer.locator(f"[data-award='{lot_id}']").inner_text().strip() == \
        f"Лот присуждён: ООО «Приморский литейный завод», 222{NBSP}060 ₽"
    assert buyer.get_by_role("button", name="Присудить").count() == 0
    winner = buyer.locator(f"#responses tr[data-response-id='{response_id}']")
    assert winner.locator(".badge", has_text="победитель").is_visible()
    assert buyer.locator("#responses .badge", has_text="победитель").count() == 1
    shot(buyer, "12-buyer-awarded")
    buyer.goto(tender_url)
    assert status_badge(buyer) == "итоги подведены"
    assert buyer.locator(f"[data-award='{lot_id}']").inner_text().strip() == \
        f"Победитель: ООО «Приморский литейный завод», 222{NBSP}060 ₽"
    shot(buyer, "13-buyer-tender-awarded")

    # 10. The supplier sees the win, on the tender and among its responses.
    supplier.goto(tender_url)
    assert status_badge(supplier) == "итоги подведены"
    assert supplier.locator(f"[data-award='{lot_id}']").inner_text().strip() == \
        f"Победитель: ООО «Приморский литейный завод», 222{NBSP}060 ₽"
    supplier.goto(f"{base}/tenders/")
    follow(supplier, supplier.get_by_role("link", name="Мои предложения по тендерам"))
    assert supplier.locator("h1").inner_text() == "Мои предложения по тендерам"
    mine = supplier.locator("table tbody tr")
    assert mine.count() == 1
    assert [c.strip() for c in mine.locator("td").all_inner_texts()] == [
        TENDER_TITLE, f"№ 1 {LOT_TITLE}", f"1{NBSP}850,50 ₽", "21", "победитель"]
    shot(supplier, "14-supplier-won")

    # 11. The rival learns that its response was not chosen, but not who won or for how much.
    rival = new_page()
    rival.goto(f"{base}/account/login?next=/tenders/{tender_id}")
    log_in(rival, people["rival"])
    rival.wait_for_url(tender_url)
    assert status_badge(rival) == "итоги подведены"
    assert rival.locator("[data-award]").count() == 0
    assert "Приморский литейный завод" not in rival.content()
    follow(rival, rival.locator("[data-lot-id] a[href*='/tenders/responses/']"))
    assert "не выбрано" in rival.locator("dl[data-response-id]").inner_text()
    shot(rival, "15-rival-not-chosen")

    # What the server saved.
    with live_server.app.app_context():
        tender = db.session.get(Tender, tender_id)
        assert tender.status == TenderStatus.AWARDED
        award = db.session.get(LotAward, lot_id)
        assert award.response_id == response_id and award.supplier_organization_id == people["supplier_org_id"]
        assert award.amount == Decimal("222060")
        statuses = {r.organization_id: r.status for r in db.session.scalars(
            select(TenderResponse).where(TenderResponse.lot_id == lot_id))}
        assert statuses == {people["supplier_org_id"]: ResponseStatus.AWARDED,
                            people["rival_org_id"]: ResponseStatus.NOT_AWARDED}
        db.session.remove()

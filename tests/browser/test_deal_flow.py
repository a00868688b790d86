"""A buyer finds a supplier through its need's matches, asks it for a quotation with a drawing, the supplier —
told by the bell — answers with an offer and a file, the buyer accepts; both see their notifications. In a real
browser (Debian's Chromium) against a real server, with the jobs run inline as in the embedded mode."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from marketplace.accounts.models import UserRole
from marketplace.listings.models import ListingKind
from marketplace.organizations.models import OrganizationKind

pytestmark = pytest.mark.browser
PASSWORD = "Токарный станок 16К20"
DRAWING = b"0\nSECTION\n2\nHEADER\n0\nENDSEC\n0\nEOF\n"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def shot(page, name: str) -> None:
    page.screenshot(path=str(page.shots / f"{name}.png"), full_page=True)


@pytest.fixture
def inline_jobs(live_server, monkeypatch):
    from workers import queue

    monkeypatch.setattr(queue, "enqueue", lambda name, *args, **kwargs: queue._run_inline(
        queue.get_spec(name), args, kwargs))


@pytest.fixture
def market(live_server):
    """A Хабаровск buyer with a published need for turning, a local turning shop with contacts; matched."""
    from marketplace.core.audit import record_outbox
    from marketplace.extensions import db
    from marketplace.indexing.services import drain_outbox
    from marketplace.organizations.contacts import replace_persons
    from tests.fixtures.factories import Factories
    from workers.matching_jobs import refresh_and_notify

    with live_server.app.app_context():
        make = Factories(db)
        now = datetime.now(UTC)
        buyer_org = make.organization(region="27", kind=OrganizationKind.BUYER, name="АО «Амурский судостроительный»")
        buyer = make.user(role=UserRole.BUYER, organization=buyer_org, password=PASSWORD, email_confirmed_at=now)
        shop = make.organization(region="27", kind=OrganizationKind.MANUFACTURER, name="ООО «Хабаровский механический»",
                                 phone="+7 (4212) 45-67-89", email="sales@khmz.ru", website="https://khmz.ru")
        replace_persons(shop.id, [{"full_name": "Иванов Иван", "position": "начальник отдела продаж"}])
        supplier = make.user(organization=shop, password=PASSWORD, email_confirmed_at=now)
        offer = make.listing(ListingKind.CAPABILITY, organization=shop, title="Токарные работы на станках с ЧПУ",
                             description="Токарная обработка валов и втулок из стали", okved2=["25.62"],
                             okpd2=["25.62.10"], capacity_per_month=Decimal("1000"), capacity_unit="шт",
                             lead_time_days=10)
        need = make.listing(ListingKind.MISSING_OPERATION, organization=buyer_org, title="Токарная обработка валов",
                            description="Нужна токарная обработка стальных валов на станках с ЧПУ", okpd2=["25.62.10"],
                            okved2=["25.62"], quantity=Decimal("200"), unit="шт",
                            ends_on=date.today() + timedelta(days=60))
        for listing in (offer, need):
            record_outbox("listing", listing.id, "upsert")
        db.session.commit()
        drain_outbox()
        refresh_and_notify(need.id)
        out = {"buyer": buyer.email, "supplier": supplier.email, "need": need.id, "offer": offer.id}
        db.session.remove()
    return out


def log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/account/login")
    page.fill("#f-email", email)
    page.fill("#f-password", PASSWORD)
    page.click("form[action*='/account/login'] button[type=submit]")
    page.wait_for_load_state()


def test_buyer_requests_supplier_offers_buyer_accepts(live_server, new_page, market, inline_jobs, tmp_path):
    base = live_server.url
    drawing, pdf = tmp_path / "вал-чертёж.dxf", tmp_path / "КП-валы.pdf"
    drawing.write_bytes(DRAWING)
    pdf.write_bytes(PDF)

    buyer = new_page()
    buyer.on("dialog", lambda dialog: dialog.accept())
    log_in(buyer, base, market["buyer"])
    buyer.goto(f"{base}/listings/{market['need']}/matches")
    row = buyer.locator(f".match-row[data-offer-id='{market['offer']}']")
    assert "ООО «Хабаровский механический»" in row.inner_text()
    shot(buyer, "01-buyer-matches")
    # The header with «Запросы» and the bell fits the window: nothing scrolls sideways.
    assert buyer.evaluate("document.documentElement.scrollWidth") <= 1280
    row.locator(".rfq-from-match").click()
    buyer.wait_for_url(re.compile(r"/deals/new\?match=\d+"))
    assert buyer.locator("input[name=target]:checked").count() == 1
    assert buyer.input_value("#f-quantity") == "200" and buyer.input_value("#f-delivery_region") == "27"
    buyer.fill("#f-text", "Просим цену и срок на 200 валов по чертежу, сталь 40Х.")
    buyer.set_input_files("#f-files", str(drawing))
    shot(buyer, "02-request-form")
    buyer.click(".rfq-form button[type=submit]")
    buyer.wait_for_url(re.compile(r"/deals/\d+$"))
    conversation_url = buyer.url
    assert buyer.locator(".deal-status").get_attribute("data-status") == "sent"
    assert "вал-чертёж.dxf" in buyer.locator(".messages").inner_text()
    shot(buyer, "03-request-sent")

    supplier = new_page()
    log_in(supplier, base, market["supplier"])
    assert int(supplier.locator(".notification-bell .unread-count").inner_text()) >= 1
    supplier.click(".notification-bell")
    supplier.wait_for_url(re.compile(r"/notifications/$"))
    shot(supplier, "04-supplier-notifications")
    supplier.locator(".notification-link", has_text="Запрос предложения").first.click()
    supplier.wait_for_url(re.compile(r"/deals/\d+$"))
    assert supplier.url == conversation_url
    assert "сталь 40Х" in supplier.locator(".messages").inner_text()
    with supplier.expect_download() as download:
        supplier.click("text=вал-чертёж.dxf")
    assert download.value.suggested_filename == "вал-чертёж.dxf"
    supplier.fill("#f-offer\\.price", "450000")
    supplier.fill("#f-offer\\.lead_time_days", "21")
    supplier.fill("#f-offer\\.body", "Сталь 40Х наша, доставка до Комсомольска включена.")
    supplier.set_input_files(".offer-form input[type=file]", str(pdf))
    supplier.click(".send-offer")
    supplier.wait_for_url(conversation_url)
    assert supplier.locator(".deal-status").get_attribute("data-status") == "offer"
    shot(supplier, "05-offer-sent")

    buyer.goto(f"{base}/notifications/")
    assert buyer.locator(".notification.unread", has_text="Предложение по запросу").count() == 1
    buyer.locator(".notification-link", has_text="Предложение по запросу").first.click()
    buyer.wait_for_url(conversation_url)
    assert "450 000" in buyer.locator(".accept-box").inner_text().replace("\u00a0", " ")
    assert "КП-валы.pdf" in buyer.locator(".messages").inner_text()
    buyer.click(".accept-offer")
    buyer.wait_for_url(conversation_url)
    assert buyer.locator(".deal-status").get_attribute("data-status") == "accepted"
    assert buyer.locator(".deal-record").count() == 1
    shot(buyer, "06-accepted")
    buyer.goto(f"{base}/listings/{market['need']}/matches")
    assert "предложение принято" in buyer.locator(f".match-row[data-offer-id='{market['offer']}']").inner_text()

    supplier.goto(f"{base}/notifications/")
    assert supplier.locator(".notification", has_text="Ваше предложение принято").count() == 1
    shot(supplier, "07-supplier-accepted")
    supplier.goto(f"{base}/deals/")
    assert "предложение принято" in supplier.locator(".conversations").inner_text()

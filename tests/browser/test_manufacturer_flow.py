"""A manufacturer registers, confirms the address from the e-mailed link and publishes a capability, picking its
ОКВЭД2 code with the search-as-you-type picker — in a real browser against a real server."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from marketplace.organizations.validators import make_inn

pytestmark = pytest.mark.browser


def shot(page, name: str) -> None:
    page.screenshot(path=str(page.shots / f"{name}.png"), full_page=True)


def test_register_confirm_and_publish_a_capability_with_the_okved2_picker(live_server, browser_page):
    page = browser_page
    base = live_server.url

    # 1. Registration with a new organization.
    page.goto(f"{base}/account/register")
    page.fill("#f-email", "browser@amurmash.ru")
    page.fill("#f-full_name", "Петров Пётр Петрович")
    page.fill("#f-password", "Станки и прессы 2026")
    page.fill("#f-password_confirm", "Станки и прессы 2026")
    page.select_option("#f-role", "manufacturer")
    page.select_option("#f-organization", "new")
    page.fill("#f-tax_id", make_inn("272012345"))
    page.fill("#f-name", "ООО «Амурмаш»")
    page.select_option("#f-kind", "manufacturer")
    page.select_option("#f-region", "27")
    page.fill("#f-town", "Хабаровск")
    page.check("#f-consent")  # the 152-ФЗ consent
    shot(page, "01-register")
    page.click("#register-form button[type=submit]")
    page.wait_for_url(re.compile(r"/my/offers$"))
    assert page.locator(".banner-unconfirmed").is_visible()
    shot(page, "02-registered-unconfirmed")

    # 2. The confirmation link, as the log has it (no SMTP here).
    links = [link for link in live_server.mail.links() if "/account/confirm/" in link]
    assert len(links) == 1
    page.goto(links[0])
    page.wait_for_url(re.compile(r"/my/offers$"))
    assert page.locator(".flash").first.inner_text().startswith("Адрес электронной почты подтверждён")
    assert page.locator(".banner-unconfirmed").count() == 0
    shot(page, "03-confirmed")

    # 3. A capability with its ОКВЭД2 code picked from the search.
    page.click("a[href*='/my/listings/new/capability']")
    page.wait_for_url(re.compile(r"/my/listings/new/capability"))
    page.fill("#f-title", "Токарная обработка деталей до Ø 500 мм")
    page.fill("#f-description", "Серийно и единично, по чертежам заказчика")
    search = page.locator(".field-okved2 .picker-search")
    search.type("обработка металлических", delay=30)
    option = page.locator(".field-okved2 .picker-item[data-code='25.62']")
    option.wait_for(state="visible")
    shot(page, "04-okved2-picker")
    option.click()
    assert page.input_value("#f-okved2") == "25.62"
    page.fill("#f-capacity_per_month", "1200")
    page.fill("#f-capacity_unit", "шт")
    shot(page, "05-capability-form")
    page.click("button[name=action][value=publish]")
    page.wait_for_url(re.compile(r"/listings/\d+$"))
    assert "Токарная обработка деталей" in page.locator("h1").inner_text()
    assert "25.62" in page.content()
    shot(page, "06-capability-published")

    # What the server saved.
    from marketplace.extensions import db
    from marketplace.listings.models import Listing, ListingStatus

    listing_id = int(page.url.rstrip("/").split("/")[-1])
    with live_server.app.app_context():
        listing = db.session.scalar(select(Listing).where(Listing.id == listing_id))
        assert listing.status == ListingStatus.ACTIVE and listing.okved2_codes == ["25.62"]
        assert listing.organization.name == "ООО «Амурмаш»" and listing.region_code == "27"
        db.session.remove()
    assert "search.drain_outbox" in live_server.enqueued

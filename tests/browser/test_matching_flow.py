"""A buyer in Хабаровский край describes a missing operation, takes the ОКПД2 code the engine reads from the
description, publishes, and sees the local supplier first with its reasons; the district's supplier only when
exploring all tiers — in a real browser against a real server, with the jobs run inline as in the embedded mode."""
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


def shot(page, name: str) -> None:
    page.screenshot(path=str(page.shots / f"{name}.png"), full_page=True)


@pytest.fixture
def inline_jobs(live_server, monkeypatch):
    """Run the jobs the pages enqueue right away (the embedded mode), instead of recording them."""
    from workers import queue

    monkeypatch.setattr(queue, "enqueue", lambda name, *args, **kwargs: queue._run_inline(
        queue.get_spec(name), args, kwargs))


@pytest.fixture
def suppliers(live_server):
    """Turning shops in Хабаровский край and Приморский край, indexed; a buyer with a confirmed user."""
    from marketplace.core.audit import record_outbox
    from marketplace.extensions import db
    from marketplace.indexing.services import drain_outbox
    from tests.fixtures.factories import Factories

    with live_server.app.app_context():
        make = Factories(db)
        buyer_org = make.organization(region="27", kind=OrganizationKind.BUYER, name="АО «Амурский судостроительный»")
        buyer = make.user(role=UserRole.BUYER, organization=buyer_org, password=PASSWORD,
                          email_confirmed_at=datetime.now(UTC))
        ids = {}
        for region, name in (("27", "ООО «Хабаровский механический»"), ("25", "ООО «Приморский станкозавод»")):
            org = make.organization(region=region, kind=OrganizationKind.MANUFACTURER, name=name)
            listing = make.listing(ListingKind.CAPABILITY, organization=org, title="Токарные работы на станках с ЧПУ",
                                   description="Токарная обработка валов и втулок из стали", okved2=["25.62"],
                                   capacity_per_month=Decimal("1000"), capacity_unit="шт", lead_time_days=10)
            record_outbox("listing", listing.id, "upsert")
            ids[region] = listing.id
        db.session.commit()
        drain_outbox()
        out = {"buyer": buyer.email, **ids}
        db.session.remove()
    return out


def test_a_buyer_takes_suggested_codes_and_sees_the_local_supplier_first(live_server, browser_page, suppliers,
                                                                          inline_jobs):
    page = browser_page
    base = live_server.url
    page.goto(f"{base}/account/login")
    page.fill("#f-email", suppliers["buyer"])
    page.fill("#f-password", PASSWORD)
    page.click("form[action*='/account/login'] button[type=submit]")
    page.wait_for_load_state()

    page.goto(f"{base}/my/listings/new/missing_operation")
    page.fill("#f-title", "Токарная обработка валов")
    page.fill("#f-description", "Нужна токарная обработка стальных валов на станках с ЧПУ, партия 200 шт")
    page.locator(".field-okpd2 .picker-suggest").click()
    first = page.locator(".field-okpd2 .picker-item").first
    first.wait_for(state="visible")
    shot(page, "01-suggested-codes")
    code = first.get_attribute("data-code")
    assert code.startswith("25.62"), code  # the engine read a machining service from the words
    first.click()
    assert page.input_value("#f-okpd2") == code
    page.fill("#f-quantity", "200")
    page.fill("#f-unit", "шт")
    page.fill("#f-ends_on", (date.today() + timedelta(days=60)).isoformat())
    page.click("button[name=action][value=publish]")
    page.wait_for_url(re.compile(r"/listings/\d+$"))
    need_url = page.url

    matches = page.locator("#matches")
    matches.wait_for(state="visible")
    shot(page, "02-need-with-matches")
    assert page.locator("#matches .tier-group").count() == 1  # strict: the nearest tier with a good match only
    local = page.locator("#matches .tier-group[data-tier='local'] .match-row")
    assert local.count() == 1 and local.first.get_attribute("data-offer-id") == str(suppliers["27"])
    assert "ООО «Хабаровский механический»" in local.first.inner_text()
    why = local.first.inner_text()  # the reason in words; the checks and numbers only under «подробнее»
    assert "токарная обработка" in why and "нужно 200, доступно 1000 шт" in why and "км" in why
    assert "✓ объём" not in why
    local.first.locator("summary", has_text="подробнее").click()
    assert "✓ объём" in local.first.inner_text() and "×" in local.first.inner_text()
    assert "Ещё подходящих на дальних уровнях: 1" in matches.inner_text()

    page.click("text=Показать все уровни")
    page.wait_for_url(re.compile(r"/matches\?mode=weighted$"))
    groups = page.locator(".tier-group")
    assert [groups.nth(i).get_attribute("data-tier") for i in range(groups.count())] == ["local", "district"]
    district = page.locator(".tier-group[data-tier='district'] .match-row").first
    assert district.get_attribute("data-offer-id") == str(suppliers["25"])
    shot(page, "03-all-tiers")

    page.goto(need_url)
    page.locator("#matches form[action*='/status'] button").first.click()
    page.wait_for_load_state()
    assert "связались" in page.locator("#matches .tier-group").first.inner_text()
    shot(page, "04-contacted")

"""The main pages of a seeded demo read as Russian (and as English when asked): no ISO date, no dotted decimal of
money or score and no raw status or kind code in the text a person sees.

A small demo is seeded (organizations, offers, needs, tenders with lots), its needs matched against a fresh index,
analytics computed, then every role's main pages are rendered and their visible text (no tags, scripts, styles,
attribute values, e-mail addresses or links) is checked.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from marketplace.listings.models import Listing, ListingStatus, Side
from tests.indexing.conftest import index  # noqa: F401  (a fresh embedded index per test)
from tests.web.conftest import login

ISO_DATE = re.compile(r"(?<![\d.])\d{4}-\d{2}(?:-\d{2})?(?![\d])")
ISO_MOMENT = re.compile(r"\d{2}:\d{2}:\d{2}")
# 12212917.23 (money) or 1234.5; codes (25.62.10) have at most two digits before a dot.
DOTTED_AMOUNT = re.compile(r"(?<![\d.,])\d{3,}\.\d{1,2}(?![\d.])")
# 0.78 (a score or share); ОКВЭД2 codes begin with two digits (01.11), never with a lone zero.
DOTTED_SHARE = re.compile(r"(?<![\d.,])[01]\.\d{1,3}(?![\d.])")
RAW_CODES = ("active", "hidden", "pending", "draft", "published", "awarded", "not_awarded", "cancelled", "archived",
             "suggested", "approved", "rejected", "infeasible", "building", "built", "submitted", "answered",
             "accepted", "declined", "dismissed", "contacted", "tender_lot", "purchase_request", "missing_operation",
             "capability", "surplus", "equipment_rent", "manufacturer", "coordinator", "owner", "member", "district",
             "national", "eaeu", "friendly", "excluded", "lot", "strict", "weighted", "requested", "invited")
RAW_CODE = re.compile(r"(?<![\w@./-])(" + "|".join(RAW_CODES) + r")(?![\w@.-])")
# In English most codes are words too ("a manufacturer", "active"): only the ones no sentence has.
RAW_CODE_EN = re.compile(r"(?<![\w@./-])(" + "|".join(c for c in RAW_CODES if "_" in c) + r")(?![\w@.-])")
EMAIL_OR_URL = re.compile(r"\S+@\S+|https?://\S+|/\S+")


class VisibleText(HTMLParser):
    """The text nodes of a page outside <script>, <style> and <template>."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template", "svg"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template", "svg") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return EMAIL_OR_URL.sub(" ", "\n".join(parser.parts))


def problems(text: str, *, english: bool = False) -> list[str]:
    """What a reader should never see, each with a little of its context (in English a dot is the decimal
    separator, so only dates and codes are checked there)."""
    checks = [("ISO date", ISO_DATE), ("ISO time", ISO_MOMENT), ("raw code", RAW_CODE_EN if english else RAW_CODE)]
    if not english:
        checks += [("dotted amount", DOTTED_AMOUNT), ("dotted score", DOTTED_SHARE)]
    found = []
    for name, pattern in checks:
        for m in pattern.finditer(text):
            found.append(f"{name}: …{text[max(0, m.start() - 40):m.end() + 20]!r}…")
    return found


def test_the_checker_catches_what_the_review_found():
    for raw in ("до 2027-06-11", "бюджет 12212917.23", "оценка 0.78", "статус active", "hidden: спам",
                "вид lot"):
        assert problems(visible_text(f"<p>{raw}</p>")), raw
    for fine in ("ОКПД2 25.62.10", "ОКВЭД2 01.11", "бюджет 12 212 917,23 ₽", "оценка 78 %", "3 декабря 2026",
                 "maker@cosmos.local", '<a href="/listings/1?status=active">опубликовано</a>'):
        assert not problems(visible_text(f"<p>{fine}</p>")), fine


@pytest.fixture
def demo(app, db, index):  # noqa: F811  (the imported fixture)
    from marketplace.analytics.snapshots import refresh as refresh_analytics
    from marketplace.demo.communities import create_demo_communities
    from marketplace.demo.seed import seed_demo
    from marketplace.demo.users import create_demo_users
    from marketplace.indexing import services as indexing
    from marketplace.matches import services as matches

    report = seed_demo(organizations=40, seed=3)
    assert not report.errors
    create_demo_users()
    create_demo_communities()
    db.session.commit()
    indexing.drain_outbox()
    needs = list(db.session.scalars(select(Listing.id).where(Listing.side == Side.NEED,
                                                            Listing.status == ListingStatus.ACTIVE)
                                    .order_by(Listing.id).limit(40)))
    for need_id in needs:
        matches.refresh_listing(need_id)
    refresh_analytics()
    db.session.commit()
    return db


def _user(db, email):
    from marketplace.accounts.models import User

    return db.session.scalar(select(User).where(User.email == email))


def _pages(db, role: str) -> list[str]:
    from marketplace.accounts.models import Membership
    from marketplace.tenders.models import Tender, TenderStatus

    tender = db.session.scalar(select(Tender).where(Tender.status != TenderStatus.DRAFT).order_by(Tender.id))
    offer = db.session.scalar(select(Listing).where(Listing.side == Side.OFFER,
                                                    Listing.status == ListingStatus.ACTIVE).order_by(Listing.id))
    need = db.session.scalar(select(Listing).where(Listing.side == Side.NEED, Listing.status == ListingStatus.ACTIVE,
                                                   Listing.budget.is_not(None)).order_by(Listing.id))
    common = ["/", "/tenders/", "/regions/27", f"/listings/{offer.id}", f"/listings/{need.id}",
              f"/producers/{offer.organization_id}", "/communities/"]
    if tender is not None:
        common.append(f"/tenders/{tender.id}")
    if role == "anonymous":
        return common
    user = _user(db, f"{role}@cosmos.local")
    org_ids = [m.organization_id for m in db.session.scalars(select(Membership).where(Membership.user_id == user.id))]
    own = list(db.session.scalars(select(Listing.id).where(Listing.organization_id.in_(org_ids)).limit(3)))
    pages = common + ["/my/offers", "/my/needs", "/my/feed", "/notifications/", "/deals/", "/tenders/responses",
                     "/chains/mine", f"/organizations/{org_ids[0]}" if org_ids else "/account/tokens/", "/search?q=сварка",
                     "/operations"]
    pages += [f"/listings/{i}" for i in own] + [f"/listings/{i}/matches" for i in own]
    if role == "coordinator":
        pages += ["/coordinator/", "/coordinator/listings?region=27", "/coordinator/organizations?region=27",
                  "/coordinator/needs?region=27", "/chains/", "/analytics/27/gaps", "/analytics/27/localization",
                  "/analytics/27/kpis", "/analytics/27/network"]
    if role == "admin":
        pages += ["/admin/users", "/admin/organizations", "/admin/audit"]
    return pages


@pytest.mark.parametrize("role, lang", [("anonymous", "ru"), ("maker", "ru"), ("buyer", "ru"), ("coordinator", "ru"),
                                        ("admin", "ru"), ("maker", "en"), ("coordinator", "en")])
def test_main_pages_show_no_raw_dates_numbers_or_codes(client, demo, role, lang):
    login(client, None if role == "anonymous" else _user(demo, f"{role}@cosmos.local"))
    if lang == "en":
        assert "Log out" in client.get("/?lang=en").get_data(as_text=True)  # the cookie keeps English
    checked, failures = 0, []
    for url in _pages(demo, role):
        response = client.get(url)
        if response.status_code in (302, 403, 404):
            continue
        assert response.status_code == 200, (url, response.status_code)
        checked += 1
        failures += [f"{url}: {p}" for p in problems(visible_text(response.get_data(as_text=True)),
                                                     english=lang == "en")]
    assert checked >= 8
    assert not failures, "\n".join(failures[:200])

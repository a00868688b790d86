"""Every main page fits the window at 1280 px and on a 390 px phone: the page itself never scrolls sideways (a wide
table scrolls in its own box, a chart shrinks to its column, the menu collapses), for an anonymous visitor, a
manufacturer-buyer, the coordinator of Хабаровский край and an admin; and the chain diagram's text is at least 12 px
as rendered. One Chromium, one page per user, both widths — on a small instance seeded here."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from marketplace.accounts.models import UserRole
from marketplace.listings.models import ListingKind
from marketplace.organizations.models import OrganizationKind

pytestmark = pytest.mark.browser
PASSWORD = "Фрезерный станок 6Р82"
WIDTHS = (1280, 390)
MIN_DIAGRAM_PX = 12.0
# What the pump unit's diagram must show in full: a stage, its supplier, its region and its tier.
STAGE_TEXTS = ("Сборка насоса, монтаж на раму с электродвигателем, центровка муфты, гидравлические испытания",
               "АО «Хабаровскнасос»", "Хабаровский край", "свой регион")

# The page is wider than the window: which elements stick out past its right (or left) edge without a scrolling or
# clipping box around them — the outermost of each, described so that a reader finds them in the template.
OVERFLOW_JS = """() => {
  const vw = window.innerWidth, doc = document.documentElement;
  const out = {scrollWidth: doc.scrollWidth, innerWidth: vw, offenders: []};
  if (doc.scrollWidth <= vw) return out;
  const sticksOut = el => { const r = el.getBoundingClientRect();
    return (r.width > 0 || r.height > 0) && (r.right > vw + 0.5 || r.left < -0.5); };
  const contained = el => { for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    if (getComputedStyle(p).overflowX !== 'visible') return true; } return false; };
  for (const el of document.body.querySelectorAll('*')) {
    if (!sticksOut(el) || contained(el) || (el.parentElement !== document.body && sticksOut(el.parentElement)))
      continue;
    const r = el.getBoundingClientRect();
    const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      [...el.classList].slice(0, 3).map(c => '.' + c).join('');
    const text = (el.innerText || el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
    out.offenders.push(`${name} [${Math.round(r.left)}..${Math.round(r.right)} px] «${text}»`);
    if (out.offenders.length >= 6) break;
  }
  return out;
}"""

# The rendered size of every piece of text in the chain diagram: an SVG's text is scaled by its viewBox.
DIAGRAM_FONTS_JS = """() => {
  const figure = document.querySelector('.chain-diagram');
  if (!figure) return null;
  const sizes = [];
  const walker = document.createTreeWalker(figure, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement, text = node.textContent.trim();
    if (!text || !el.getClientRects().length) continue;
    let px = parseFloat(getComputedStyle(el).fontSize);
    if (el instanceof SVGElement && el.getScreenCTM()) px *= Math.abs(el.getScreenCTM().a);
    sizes.push([text.slice(0, 30), Math.round(px * 10) / 10]);
  }
  return {sizes: sizes, text: figure.innerText};
}"""


class _Offers:
    """The chain scenario's ``offers`` helper on the live server's session: capability offers, indexed on demand."""

    def __init__(self, make: Any) -> None:
        self.make = make

    def add(self, region: str, okved2: str | list[str], *, title: str, price: float, lead: int, capacity: float,
            certifications: list[str] | None = None, organization: Any = None) -> Any:
        from marketplace.core.audit import record_outbox

        listing = self.make.listing(ListingKind.CAPABILITY, organization=organization or self.make.organization(
            region=region), title=title, okved2=[okved2] if isinstance(okved2, str) else okved2, price=price,
            lead_time_days=lead, capacity_per_month=capacity, certifications=certifications or [])
        record_outbox("listing", listing.id, "upsert")
        return listing

    def index(self) -> None:
        from marketplace.extensions import db
        from marketplace.indexing.services import drain_outbox

        db.session.commit()
        drain_outbox()


@pytest.fixture
def world(live_server) -> dict[str, Any]:
    """Хабаровский край with long names, a tender, a matched need, a quotation request and its notifications,
    a pump-unit chain built for the coordinator, analytics computed, and an admin."""
    from marketplace.chains import services as chains
    from marketplace.deals.services import Target, send_request
    from marketplace.extensions import db
    from marketplace.notifications.services import notify
    from marketplace.tenders import services as tenders
    from tests.chains.scenario import pump_request, seed_pump_unit
    from tests.fixtures.factories import Factories
    from tests.fixtures.tenders import LOT
    from workers.analytics_jobs import refresh_analytics
    from workers.matching_jobs import refresh_and_notify

    with live_server.app.app_context():
        make = Factories(db)
        now = datetime.now(UTC)
        buyer_org = make.organization(region="27", kind=OrganizationKind.BOTH,
                                      name="Акционерное общество «Комсомольский-на-Амуре судостроительный завод»")
        buyer = make.user(role=UserRole.BUYER, organization=buyer_org, password=PASSWORD, email_confirmed_at=now)
        shop = make.organization(region="27", kind=OrganizationKind.MANUFACTURER, phone="+7 (4212) 45-67-89",
                                 name="Общество с ограниченной ответственностью «Хабаровский механический завод»",
                                 email="sales@khabarovsk-mechanical-plant.ru", website="https://khabmehzavod.ru")
        make.user(organization=shop, password=PASSWORD, email_confirmed_at=now)
        make.organization(country="KZ", tax_id=shop.tax_id, name=f"{shop.name} (дубль)")  # the admin's duplicates
        offer = make.listing(ListingKind.CAPABILITY, organization=shop, okved2=["25.62"], okpd2=["25.62.10"],
                             title="Токарная обработка валов и втулок на станках с ЧПУ длиной до 3000 мм",
                             description="Токарная обработка валов и втулок из стали 40Х, 45, 09Г2С. " * 4,
                             capacity_per_month=Decimal("1000"), capacity_unit="шт", lead_time_days=10,
                             price=Decimal("12212917.23"))
        need = make.listing(ListingKind.MISSING_OPERATION, organization=buyer_org, okpd2=["25.62.10"],
                            okved2=["25.62"], title="Требуется токарная обработка гребных валов по чертежам",
                            description="Нужна токарная обработка стальных валов на станках с ЧПУ",
                            quantity=Decimal("200"), unit="шт", ends_on=date.today() + timedelta(days=60))
        _Offers(make).add("27", "25.62", title="Окраска металлоконструкций", price=500, lead=5, capacity=500)
        tender = tenders.create_tender(buyer_org, title="Поставка бронзовых втулок для ремонта земснаряда «Амурский»",
                                       description="Закупка для ремонта", visibility="open", user=buyer,
                                       submission_deadline=now + timedelta(days=14), invited_organization_ids=[],
                                       community_id=None)
        tenders.add_lot(tender, user=buyer, **LOT)
        tenders.publish_tender(tender, user=buyer)
        from marketplace.core.audit import record_outbox

        for listing in (offer, need):
            record_outbox("listing", listing.id, "upsert")
        seed_pump_unit(_Offers(make), make)  # commits and indexes everything above
        refresh_and_notify(need.id)
        deal = send_request(buyer_org, buyer, {"title": "Валы гребные Ø 280 мм, 12 шт.", "quantity": "12",
                                               "unit": "шт", "delivery_region": "27", "text": "Просим КП " * 30},
                            [Target(shop.id, offer.id)])
        notify(buyer_org.id, "deal_offer", "Предложение по запросу: Валы гребные Ø 280 мм, 12 шт.",
               body="ООО «Хабаровский механический завод»: 1 250 000 ₽, срок 30 дн.", link="/deals/")
        coordinator = make.user(role=UserRole.COORDINATOR, regions=["27"], password=PASSWORD, email_confirmed_at=now)
        admin = make.user(role=UserRole.ADMIN, password=PASSWORD, email_confirmed_at=now)
        row = chains.create_request(pump_request(), user=coordinator)
        db.session.commit()
        chains.build(row.id, alternatives=1)
        db.session.commit()
        refresh_analytics("27")
        out = {"buyer": buyer.email, "coordinator": coordinator.email, "admin": admin.email,
               "buyer_org": buyer_org.id, "shop": shop.id, "offer": offer.id, "need": need.id, "tender": tender.id,
               "conversation": deal.conversations[0].id,
               "chain_request": row.id, "chain": row.chains[0].id}
        db.session.remove()
    return out


def pages_of(w: dict[str, Any]) -> dict[str | None, list[str]]:
    """The main pages each user opens, by the e-mail they log in with (None: an anonymous visitor)."""
    return {
        None: ["/", "/districts/FEFD", "/regions/27", "/search?q=токарная+обработка", f"/listings/{w['offer']}",
               f"/producers/{w['shop']}", "/tenders/", f"/tenders/{w['tender']}", "/communities/", "/operations",
               "/account/login", "/account/register"],
        w["buyer"]: ["/my/offers", "/my/needs", "/my/feed", f"/listings/{w['need']}", f"/listings/{w['need']}/matches",
                     "/my/listings/new/capability", f"/tenders/{w['tender']}", "/tenders/new", "/deals/",
                     f"/deals/{w['conversation']}", "/notifications/", f"/organizations/{w['buyer_org']}", "/account/tokens/"],
        w["coordinator"]: ["/coordinator/", "/coordinator/organizations", "/coordinator/needs",
                           "/coordinator/listings", "/chains/", f"/chains/requests/{w['chain_request']}",
                           f"/chains/chains/{w['chain']}", "/chains/new", "/analytics/27/gaps",
                           "/analytics/27/localization", "/analytics/27/kpis", "/analytics/27/network",
                           "/analytics/27/report"],
        w["admin"]: ["/admin/users", "/admin/organizations", "/admin/organizations/duplicates", "/admin/communities",
                     "/admin/audit", "/coordinator/"],
    }


def log_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/account/login")
    page.fill("#f-email", email)
    page.fill("#f-password", PASSWORD)
    with page.expect_navigation():
        page.click("form[action*='/account/login'] button[type=submit]")


def test_no_main_page_is_wider_than_the_window(live_server, new_page, world):
    base = live_server.url
    overflowing: list[str] = []
    diagram_problems: list[str] = []
    diagram_seen = 0
    for email, paths in pages_of(world).items():
        page = new_page()
        if email:
            log_in(page, base, email)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            for path in paths:
                response = page.goto(base + path)
                assert response is not None and response.ok, f"{path} ({email or 'аноним'}): {response and response.status}"
                page.wait_for_load_state("load")
                found = page.evaluate(OVERFLOW_JS)
                if found["scrollWidth"] > found["innerWidth"]:
                    overflowing.append(f"{width} px {path} ({email or 'аноним'}): page {found['scrollWidth']} px — "
                                       + "; ".join(found["offenders"]))
                    page.screenshot(path=str(page.shots / f"overflow-{width}-{len(overflowing)}.png"))
                fonts = page.evaluate(DIAGRAM_FONTS_JS) if path.startswith("/chains/chains/") else None
                if path.startswith(("/chains/chains/", "/analytics/27/kpis")):
                    page.screenshot(path=str(page.shots / f"{path.strip('/').replace('/', '-')}-{width}.png"),
                                    full_page=True)
                if fonts is not None:
                    diagram_seen += 1
                    diagram_problems += [f"{width} px: «{t}» {px} px" for t, px in fonts["sizes"] if px < MIN_DIAGRAM_PX]
                    missing = [t for t in STAGE_TEXTS if " ".join(t.split()) not in " ".join(fonts["text"].split())]
                    diagram_problems += [f"{width} px: «{t}» cut or missing" for t in missing]
    assert not overflowing, "pages wider than the window:\n" + "\n".join(overflowing)
    assert diagram_seen == len(WIDTHS), "the chain page has no diagram"
    assert not diagram_problems, "the chain diagram is not legible:\n" + "\n".join(diagram_problems)

"""A small hand-made marketplace around Хабаровский край (27), with matches stored as the engine would."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from marketplace.listings.models import Listing, ListingKind
from marketplace.matches.models import Match

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


@dataclass
class Market:
    orgs: dict[str, Any]
    needs: dict[str, Listing]
    offers: dict[str, Listing]


def add_match(db, need: Listing, offer: Listing, tier: str, *, acceptable: bool = True, score: float = 0.8,
              after: timedelta = timedelta(hours=3)) -> Match:
    match = Match(need_id=need.id, offer_id=offer.id, score=score, tier=tier, acceptable=acceptable,
                  created_at=need.created_at + after)
    db.session.add(match)
    db.session.flush()
    return match


@pytest.fixture
def market(db, factories) -> Market:
    """Needs delivered to 27 and 25 with suppliers in 27, 25 (same district), 77 (Russia) and Belarus (EAEU).

    * ``turning`` (27, 25.62, 100 000): only a Приморский край supplier is acceptable — a local gap, not a district one;
    * ``milling`` (27, 25.62, 50 000): a local supplier — no gap;
    * ``machine`` (27, 28.41, 200 000): acceptable only in Belarus, the Moscow offer is not acceptable — a national gap;
    * ``coating`` (27, 25.62, no budget, 10 pcs): no match at all — a national gap;
    * ``prim`` (25, 25.62, 70 000): a supplier in 25 — no gap;
    * ``bolts`` (27, 25.62, no budget, 4 pcs, November): a local supplier at 1 500 per piece — matched value 6 000.
    """
    orgs = {code: factories.organization(region=code, name=f"Завод {code}") for code in ("27", "25", "77")}
    orgs["27b"] = factories.organization(region="27", name="Хабаровский покупатель")
    orgs["BY"] = factories.organization(region=None, country="BY", name="Белорусский завод")

    def need(key: str, org: str, okpd2: str, **fields: Any) -> Listing:
        fields.setdefault("created_at", T0)
        return factories.listing(ListingKind.PURCHASE_REQUEST, organization=orgs[org], okpd2=[okpd2],
                                 title=f"Потребность {key}", **fields)

    def offer(org: str, okpd2: str, **fields: Any) -> Listing:
        return factories.listing(ListingKind.CAPABILITY, organization=orgs[org], okpd2=[okpd2], **fields)

    needs = {
        "turning": need("turning", "27b", "25.62.10", budget=Decimal("100000")),
        "milling": need("milling", "27b", "25.62.20", budget=Decimal("50000")),
        "machine": need("machine", "27b", "28.41", budget=Decimal("200000")),
        "coating": need("coating", "27b", "25.62.20.000", quantity=Decimal("10"), unit="шт"),
        "prim": need("prim", "25", "25.62.10", budget=Decimal("70000")),
        "bolts": need("bolts", "27b", "25.62.20", quantity=Decimal("4"), unit="шт",
                      created_at=T0 + timedelta(days=40)),
    }
    offers = {
        "khv": offer("27", "25.62.20", price=Decimal("1500")),
        "prim": offer("25", "25.62.10", price=Decimal("900")),
        "msk": offer("77", "28.41"),
        "by": offer("BY", "28.41"),
    }
    add_match(db, needs["turning"], offers["prim"], "district", after=timedelta(hours=2))
    add_match(db, needs["turning"], offers["khv"], "local", acceptable=False)
    add_match(db, needs["milling"], offers["khv"], "local", after=timedelta(hours=5))
    add_match(db, needs["machine"], offers["msk"], "national", acceptable=False)
    add_match(db, needs["machine"], offers["by"], "eaeu", after=timedelta(hours=30))
    add_match(db, needs["prim"], offers["prim"], "local", after=timedelta(hours=1))
    add_match(db, needs["prim"], offers["khv"], "district", after=timedelta(hours=1))
    add_match(db, needs["bolts"], offers["khv"], "local", after=timedelta(hours=10))
    return Market(orgs, needs, offers)

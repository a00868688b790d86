"""The issue's example against the shipped catalogue (marketplace/refdata/data): a powder-coating capability picked
from the catalogue, with its chamber and materials, read back on the listing page."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.core.models import utcnow
from marketplace.listings.models import Listing
from marketplace.operations.catalogue import get_catalogue
from tests.web.conftest import login, page_text, submit

pytestmark = pytest.mark.usefixtures("enqueued")


def test_powder_coating_capability_with_the_shipped_catalogue(client, db, factories):
    catalogue = get_catalogue()
    if "coating.powder" not in catalogue:
        pytest.skip("the shipped catalogue has no coating.powder yet")
    title = "Порошковая окраска, камера 6×2×2 м, сталь и алюминий"
    assert catalogue.recognize(title)[0].operation_id == "coating.powder"  # what the form suggests
    org = factories.organization(region="27")
    login(client, factories.user(organization=org, email_confirmed_at=utcnow()))
    response = submit(client, "/my/listings/new/capability", {
        "title": title, "operations": "coating.powder", "material_ids": "сталь; алюминий",
        "max_length_mm": "6000", "max_width_mm": "2000", "max_height_mm": "2000", "action": "publish"})
    assert response.status_code == 302, page_text(response)
    listing = db.session.scalars(select(Listing).where(Listing.title == title)).one()
    assert listing.operation_ids == ["coating.powder"]
    assert listing.parameters["materials"] == ["steel", "aluminium"]
    assert listing.okved2_codes == list(catalogue.get("coating.powder").okved2)
    page = page_text(client.get(f"/listings/{listing.id}"))
    assert 'href="/operations/coating.powder"' in page
    names = ", ".join(catalogue.materials.title(m).lower() for m in ("steel", "aluminium"))  # «алюминий и …»
    assert f"Материалы: {names}; наибольшая деталь 6000×2000×2000 мм" in page

"""The public showcase: district → region → town, filters over active offers, counts, the organization page."""
from __future__ import annotations

import re

from marketplace.listings.models import ListingKind, ListingStatus
from marketplace.showcase import services
from tests.fixtures.tenders import login


def _count_after(page: str, name: str) -> int:
    start = page.index(name)
    return int(re.search(r'<span class="count">(\d+)</span>', page[start:]).group(1))


def _world(factories):
    from sqlalchemy import select

    from marketplace.extensions import db
    from marketplace.geo.models import Town

    khabarovsk = db.session.scalar(select(Town).where(Town.region_code == "27", Town.name == "Хабаровск"))
    foundry = factories.organization(region="27", name="ООО «Амурский литейный»", town_id=khabarovsk.id)
    factories.listing(ListingKind.CAPABILITY, organization=foundry, title="Литьё бронзы", okpd2=["24.54.10"],
                      okved2=["24.54"], certifications=["ISO 9001"])
    machining = factories.organization(region="27", name="АО «Хабаровский мехзавод»")
    factories.listing(ListingKind.PRODUCT, organization=machining, title="Втулки", okpd2=["25.62.20"])
    factories.listing(ListingKind.SURPLUS, organization=machining, title="Старое", okpd2=["24.54.10"],
                      quantity=1, status=ListingStatus.ARCHIVED)
    idle = factories.organization(region="27", name="ООО «Без предложений»")
    primorye = factories.organization(region="25", name="ООО «Приморская сталь»")
    factories.listing(ListingKind.PRODUCT, organization=primorye, title="Прокат", okpd2=["24.10.31"])
    return foundry, machining, idle, primorye, khabarovsk


def test_counts_without_filters_include_every_organization(client, factories):
    _world(factories)
    login(client, None)
    page = client.get("/").get_data(as_text=True)
    assert _count_after(page, "Хабаровский край") >= 3


def test_filter_by_okpd2_class_section_kind_and_certification(db, factories):
    foundry, machining, idle, primorye, _town = _world(factories)

    def ids(**args):
        return set(services.matching_organizations(services.OfferFilter.from_args(args)))

    assert foundry.id in ids(okpd2_class="24") and machining.id not in ids(okpd2_class="24")  # archived offer
    assert primorye.id in ids(okpd2_class="24")
    assert {foundry.id, machining.id, primorye.id} <= ids(section="C") and idle.id not in ids(section="C")
    assert machining.id in ids(kind="product") and foundry.id not in ids(kind="product")
    assert ids(certification="any") >= {foundry.id} and machining.id not in ids(certification="any")
    assert foundry.id in ids(certification="iso 9001") and foundry.id not in ids(certification="ГОСТ Р")
    assert services.OfferFilter.from_args({"kind": "tender_lot", "section": "1", "okpd2_class": "x"}).active is False


def test_filtered_region_counts_and_pages(client, factories):
    foundry, machining, idle, primorye, town = _world(factories)
    login(client, None)
    page = client.get("/?okpd2_class=25").get_data(as_text=True)
    assert _count_after(page, "Хабаровский край") >= 1
    page = client.get("/regions/27?okpd2_class=24").get_data(as_text=True)
    assert "ООО «Амурский литейный»" in page and "Хабаровский мехзавод" not in page and "Без предложений" not in page
    assert 'name="okpd2_class"' in page  # the filter form keeps its choice
    assert re.search(r'<option value="24" selected', page)


def test_district_and_town_pages(client, factories):
    foundry, machining, idle, primorye, town = _world(factories)
    login(client, None)
    page = client.get("/districts/FEFD").get_data(as_text=True)
    assert "Хабаровский край" in page and "Приморский край" in page
    assert client.get("/districts/NOPE").status_code == 404
    page = client.get("/regions/27").get_data(as_text=True)
    assert "Хабаровск" in page
    page = client.get(f"/regions/27?town={town.id}").get_data(as_text=True)
    assert "ООО «Амурский литейный»" in page and "Хабаровский мехзавод" not in page
    from sqlalchemy import select

    from marketplace.extensions import db
    from marketplace.geo.models import Town

    vladivostok = db.session.scalar(select(Town).where(Town.region_code == "25"))
    assert client.get(f"/regions/27?town={vladivostok.id}").status_code == 404


def test_public_organization_page_lists_active_offers(client, factories, db):
    foundry, machining, idle, primorye, town = _world(factories)
    login(client, None)
    page = client.get(f"/producers/{machining.id}").get_data(as_text=True)
    assert "Втулки" in page and "Старое" not in page
    foundry.archived = True
    db.session.commit()
    assert client.get(f"/producers/{foundry.id}").status_code == 404
    assert client.get("/producers/999999").status_code == 404


def test_region_organizations_come_in_pages_sorted_by_name_or_verified_first(client, factories, monkeypatch):
    monkeypatch.setattr(services, "ORGANIZATIONS_PER_PAGE", 3)
    names = [f"ООО «Регион-{n:02d}»" for n in range(7)]
    for n, name in enumerate(names):
        factories.organization(region="49", name=name, verified=(n == 5))
    login(client, None)

    def shown(url: str) -> list[str]:
        return re.findall(r"ООО «Регион-\d\d»", client.get(url).get_data(as_text=True))

    assert shown("/regions/49") == names[:3]
    assert shown("/regions/49?page=2") == names[3:6]
    assert shown("/regions/49?page=3") == names[6:]
    assert shown("/regions/49?page=99") == names[6:]  # past the end: the last page
    first = client.get("/regions/49").get_data(as_text=True)
    assert "Показаны 1–3 из 7" in first and 'rel="next" href="/regions/49?page=2"' in first
    assert shown("/regions/49?sort=verified") == [names[5], names[0], names[1]]
    wrong = client.get("/regions/49?sort=drop+table").get_data(as_text=True)
    assert "параметр sort" in wrong and re.findall(r"ООО «Регион-\d\d»", wrong)[:3] == names[:3]

"""Queries per page of the load mix (bench/bench_load.py) do not grow with the data: the same number with 5 and with
50 items on the page (organizations of a region, offers of a producer, codes and operations of a listing, hits of a
search, rows of the API's list), so no page loads its rows one by one (N+1). Pages are rendered, not kept."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event, select

from marketplace.core.audit import record_outbox
from marketplace.listings.models import ListingKind
from tests.web.conftest import login


@pytest.fixture
def queries(db):
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    yield seen
    event.remove(db.engine, "before_cursor_execute", note)


@pytest.fixture
def index(app, db, tmp_path):
    from marketplace.indexing import services

    app.config["SEARCH_URL"] = f"embedded://{tmp_path / 'search'}"
    services.close_search(keep_encoder=True)
    yield services.get_backend()
    services.close_search(keep_encoder=True)


def _count(client, db, queries, url, headers=None) -> int:
    from flask import g

    # The test's requests share its application context and session: start each with nothing loaded, as a
    # request of the server does.
    g.pop("_login_user", None)
    db.session.expunge_all()
    queries.clear()
    response = client.get(url, headers=headers or {})
    assert response.status_code == 200, (url, response.status_code)
    return len(queries)


def _operations(db, n):
    from marketplace.operations.models import Operation

    return list(db.session.scalars(select(Operation.id).order_by(Operation.id).limit(n)))


def _codes(db, n):
    from marketplace.classifiers.models import ClassifierCode

    return list(db.session.scalars(select(ClassifierCode.code).where(
        ClassifierCode.scheme == "okpd2", ClassifierCode.level >= 3).order_by(ClassifierCode.code).limit(n)))


def _towns(db, region):
    from marketplace.geo.models import Town

    return list(db.session.scalars(select(Town.id).where(Town.region_code == region).order_by(Town.id)))


@pytest.mark.parametrize("viewer", ["anonymous", "member"])
def test_queries_per_page_do_not_grow_with_the_data(client, db, factories, queries, index, bearer, viewer):
    from marketplace.indexing.services import drain_outbox
    from marketplace.listings.models import ListingCode
    from marketplace.operations.models import ListingOperation

    word = "штамповка" + uuid.uuid4().hex[:6]
    towns = _towns(db, "79")
    ops = _operations(db, 50)
    codes = _codes(db, 50)
    producer = factories.organization(region="79", name="ООО «Много предложений»")
    listing = factories.listing(ListingKind.CAPABILITY, organization=producer, title=f"Основное {word}")
    buyer = factories.user(organization=factories.organization(region="27"))
    headers = bearer(buyer)
    if viewer == "member":
        login(client, buyer)
    else:
        login(client, None)

    producer_id, listing_id = producer.id, listing.id

    def grow(to: int, have: int) -> None:
        from marketplace.organizations.models import Organization

        producer = db.session.get(Organization, producer_id)
        for i in range(have, to):
            org = factories.organization(region="79", town_id=towns[i % len(towns)] if towns else None)
            offer = factories.listing(ListingKind.CAPABILITY, organization=producer if i % 2 else org,
                                      title=f"Предложение {i} {word}", okpd2=["25.62.20"],
                                      certifications=["ISO 9001"])
            offer.operation_links = [ListingOperation(operation_id=ops[i % len(ops)], position=0)]
            record_outbox("listing", offer.id, "upsert")
            db.session.add(ListingCode(listing_id=listing_id, scheme="okpd2", code=codes[i], position=i))
            if i < len(ops):
                db.session.add(ListingOperation(listing_id=listing_id, operation_id=ops[i], position=i))
        record_outbox("listing", listing_id, "upsert")
        db.session.commit()
        drain_outbox()
        db.session.expire_all()

    pages = {"home": "/", "district": "/districts/FEFD", "region": "/regions/79",
             "region filtered": "/regions/79?okpd2_class=25&certification=ISO", "producer": f"/producers/{producer_id}",
             "listing": f"/listings/{listing_id}", "search": f"/search?q={word}",
             "api list": f"/api/v1/listings?organization={producer_id}&per_page=100&q={word}"}
    grow(5, 0)
    _count(client, db, queries, pages["api list"], headers)  # the token's first use writes last_used_at
    few = {name: _count(client, db, queries, url, headers if name.startswith("api") else None)
           for name, url in pages.items()}
    grow(50, 5)
    many = {name: _count(client, db, queries, url, headers if name.startswith("api") else None)
            for name, url in pages.items()}
    assert many == few, "\n".join(f"{n}: {few[n]} -> {many[n]}" for n in pages)

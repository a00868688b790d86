"""The API's ``q`` finds Russian text in any inflection through the search index, and titles as typed."""
from __future__ import annotations

from marketplace.indexing import services
from marketplace.listings.models import ListingKind


def test_q_finds_other_inflections_and_unindexed_titles(client, db, factories, index, add_listing):
    org = factories.organization(region="27")
    turning = add_listing(kind=ListingKind.CAPABILITY, organization=org, title="Токарные работы по металлу",
                          okved2=["25.62"])
    add_listing(kind=ListingKind.PRODUCT, organization=org, title="Доски обрезные хвойные", okpd2=["16.10.10"])
    services.drain_outbox()
    fresh = add_listing(kind=ListingKind.PRODUCT, organization=org, title="Токарный патрон трёхкулачковый")  # not drained

    found = client.get("/api/v1/offers", query_string={"q": "токарная обработка"}).get_json()["items"]
    assert [item["id"] for item in found] == [turning]
    typed = client.get("/api/v1/offers", query_string={"q": "Токарный патрон"}).get_json()["items"]
    # the title as typed, read from the database before the index has it; turning services are not a lathe chuck
    # (every content word of the query must agree, «патрон» too)
    assert {item["id"] for item in typed} == {fresh}
    assert client.get("/api/v1/offers", query_string={"q": "подшипники"}).get_json()["items"] == []

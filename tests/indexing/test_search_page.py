"""The search page reads the index: Russian words in any inflection, filters, facet counts, visibility."""
import re

import pytest

from marketplace.indexing import services
from marketplace.indexing.finder import BadCriteria, ListingCriteria, find_listings, text_listing_ids
from marketplace.listings.models import ListingStatus
from search import Query


@pytest.fixture
def world(db, factories, index, add_listing):
    khv = factories.organization(region="27", name="ООО «Амурмаш»")
    prim = factories.organization(region="25", name="АО «Владлит»")
    ids = {
        "turning_27": add_listing(kind="capability", organization=khv, title="Токарные работы по металлу",
                                  description="Валы и втулки по чертежам", okved2=["25.62"]),
        "turning_25": add_listing(kind="capability", organization=prim, title="Токарная обработка на станках ЧПУ",
                                  okved2=["25.62"]),
        "boards": add_listing(kind="product", organization=khv, title="Доски обрезные хвойные", okpd2=["16.10.10"]),
        "need_25": add_listing(kind="purchase_request", organization=prim, title="Купим токарный станок",
                               okpd2=["28.41.21"]),
        "draft": add_listing(kind="capability", organization=khv, title="Токарные работы (черновик)",
                             okved2=["25.62"], status=ListingStatus.DRAFT),
    }
    services.drain_outbox()
    return ids


def hit_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-listing-id="(\d+)"', page)]


def test_the_page_finds_russian_words_in_any_inflection(client, world):
    response = client.get("/search", query_string={"q": "токарная обработка"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    found = hit_ids(page)
    assert world["turning_27"] in found and world["turning_25"] in found  # "токарные работы" and "токарная"
    assert world["boards"] not in found
    assert world["draft"] not in found  # drafts are not public
    assert "Токарные работы по металлу" in page


def test_filters_and_facet_counts(client, world):
    page = client.get("/search", query_string={"q": "токарный"}).get_data(as_text=True)
    facets = page[page.index('id="search-facets"'):page.index('id="search-results"')]
    region_block = facets[facets.index('data-facet="region"'):]
    assert "Хабаровский край" in region_block and "Приморский край" in region_block
    assert 'data-facet="side"' in facets

    found = hit_ids(client.get("/search", query_string={"q": "токарный", "region": "27"}).get_data(as_text=True))
    assert found == [world["turning_27"]]
    found = hit_ids(client.get("/search", query_string={"q": "токарный", "side": "need"}).get_data(as_text=True))
    assert found == [world["need_25"]]
    found = hit_ids(client.get("/search", query_string={"okpd2": "C"}).get_data(as_text=True))
    assert found == [world["need_25"], world["boards"]]  # section C holds 28.41.21 and 16.10.10; newest first
    found = hit_ids(client.get("/search", query_string={"okpd2": "16.10"}).get_data(as_text=True))
    assert found == [world["boards"]]


def test_browsing_without_words_lists_newest_first(client, world):
    found = hit_ids(client.get("/search", query_string={"district": "FEFD"}).get_data(as_text=True))
    public = [world[k] for k in ("turning_27", "turning_25", "boards", "need_25")]
    assert found == sorted(public, reverse=True)


def test_finder_counts_the_match_set_and_says_when_nothing_is_relevant(app, db, world):
    result = find_listings(ListingCriteria(text="токарные работы"))
    assert result.total == 3 and not result.suggestions
    assert result.facets["side"] == {"offer": 2, "need": 1}
    assert result.facets["region"] == {"27": 1, "25": 2}
    result = find_listings(ListingCriteria(text="зубофрезерование"))  # no listing has the word or its meaning
    assert result.total == 0 and not result.listings and result.suggestions  # no whole-catalogue fallback
    assert text_listing_ids("токарных работ")[:1] in ([world["turning_27"]], [world["turning_25"]])


def test_lots_of_a_closed_tender_are_neither_shown_nor_counted(app, db, factories, index, world):
    from tests.fixtures.tenders import make_tender

    hidden = make_tender(factories, visibility="closed", invited=[factories.organization(region="25")])
    hidden.lot.title = "Втулки бронзовые по приглашению"
    from marketplace.core.audit import record_outbox

    record_outbox("listing", hidden.lot.id, "upsert")
    db.session.commit()
    services.drain_outbox()
    assert [h.id for h in index.search(Query(text="втулки по приглашению", k=1)).hits] == [hidden.lot.id]
    anonymous = find_listings(ListingCriteria(text="втулки"))
    assert hidden.lot.id not in [listing.id for listing in anonymous.listings]
    assert anonymous.total == 1  # only the public capability with "втулки" in its description
    buyer = find_listings(ListingCriteria(text="втулки"), hidden.buyer)
    assert hidden.lot.id in [listing.id for listing in buyer.listings] and buyer.total == 2


@pytest.mark.parametrize("args,field", [({"side": "both"}, "side"), ({"kind": "spaceship"}, "kind"),
                                        ({"region": "99"}, "region"), ({"okpd2": "25.62'"}, "okpd2"),
                                        ({"page": "0"}, "page"), ({"side": "offer", "kind": "tender_lot"}, "kind")])
def test_bad_parameters_are_named(client, app, db, args, field):
    with pytest.raises(BadCriteria) as excinfo:
        ListingCriteria.from_args(args)
    assert excinfo.value.field == field
    response = client.get("/search", query_string=args)
    assert response.status_code == 400 and f"{field}:" in response.get_data(as_text=True)


def test_a_broken_index_does_not_break_the_page(client, world, index, monkeypatch):
    def down(_query):
        raise ConnectionError("search is down")

    monkeypatch.setattr(index, "search", down)
    response = client.get("/search", query_string={"q": "токарная"})
    assert response.status_code == 503 and "Поиск временно недоступен" in response.get_data(as_text=True)
    assert client.get("/").status_code == 200


def test_the_menu_links_the_search_page(client, world):
    assert 'href="/search"' in client.get("/").get_data(as_text=True)

"""The catalogue's pages: the tree with offer counts and its search box, and an operation's page with who performs
it (the viewer's region first, a child operation's shops too, nothing hidden, closed or of a closed tender) and
the open needs that ask for it."""
from __future__ import annotations

import re

import pytest

from marketplace.accounts.models import UserRole
from marketplace.listings.models import ListingKind, ListingStatus
from marketplace.operations.models import ListingOperation
from tests.fixtures.listing_operations import catalogue  # noqa: F401  (a fixture)
from tests.fixtures.tenders import make_tender
from tests.web.conftest import login, page_text

pytestmark = pytest.mark.usefixtures("catalogue")


def with_operations(db, listing, *op_ids: str):
    for position, op_id in enumerate(op_ids):
        db.session.add(ListingOperation(listing_id=listing.id, operation_id=op_id, position=position))
    db.session.flush()
    return listing


@pytest.fixture
def shops(db, factories):
    """Powder coating in Хабаровский край and Приморье, hot-dip zinc in Новосибирск (a child of «Цинкование»), and
    listings nobody else may see: a hidden one, a closed one, a draft."""
    khv = factories.organization(region="27", name="ООО «Амур-Покрытия»")
    prim = factories.organization(region="25", name="ООО «Приморская окраска»")
    nsk = factories.organization(region="54", name="АО «Сибцинк»")
    out = {
        "khv": with_operations(db, factories.listing(organization=khv, title="Порошковая окраска металлоконструкций"),
                               "coating.powder"),
        "prim": with_operations(db, factories.listing(organization=prim, title="Полимерная окраска деталей"),
                                "coating.powder"),
        "nsk": with_operations(db, factories.listing(organization=nsk, title="Горячее цинкование до 12 м"),
                               "coating.zinc.hot_dip"),
    }
    for status, name in ((ListingStatus.HIDDEN, "Скрытая"), (ListingStatus.CLOSED, "Закрытая"),
                         (ListingStatus.DRAFT, "Черновая")):
        org = factories.organization(region="27", name=f"ООО «{name} покраска»")
        out[status.value] = with_operations(
            db, factories.listing(organization=org, title=f"{name} порошковая окраска", status=status),
            "coating.powder")
    return out


def _positions(text: str, *needles: str) -> list[int]:
    found = [text.find(n) for n in needles]
    assert all(i >= 0 for i in found), [n for n, i in zip(needles, found, strict=True) if i < 0]
    return found


def test_the_tree_lists_families_with_offer_counts(client, shops):
    text = page_text(client.get("/operations"))
    assert "Нанесение покрытий" in text and "Механическая обработка" in text
    # coating counts its three visible offers (two powder, one hot-dip zinc); hidden, closed, drafts don't count
    family = re.search(r'id="family-coating">.*?class="count"[^>]*>(\d+)<', text, re.S)
    assert family and family.group(1) == "3"
    zinc = re.search(r'data-operation-id="coating.zinc"><a [^>]+>Цинкование</a>\s*<span class="count"[^>]*>(\d+)<',
                     text)
    assert zinc and zinc.group(1) == "1"
    assert 'href="/operations/machining.turning"' in text
    home = client.get("/").get_data(as_text=True)  # the catalogue is reached from the main menu
    assert re.search(r'class="nav-link[^"]*" href="/operations">Операции</a>', home)


def test_the_search_box_finds_an_operation_by_a_word_form(client, shops):
    text = page_text(client.get("/operations?q=оцинковка"))
    assert 'href="/operations/coating.zinc"' in text
    assert 'href="/operations/machining.turning"' not in text
    assert "не нашлось" in page_text(client.get("/operations?q=вязание крючком"))


def test_the_viewers_region_comes_first(client, factories, shops):
    user = factories.user(organization=factories.organization(region="27"))
    login(client, user)
    text = page_text(client.get("/operations/coating.powder"))
    khv_heading, prim_heading, khv_shop, prim_shop = _positions(
        text, 'id="region-27">Хабаровский край', 'id="region-25">Приморский край', "ООО «Амур-Покрытия»",
        "ООО «Приморская окраска»")
    assert khv_heading < khv_shop < prim_heading < prim_shop
    assert "ваш регион" in text[khv_heading:prim_heading]
    assert f'href="/listings/{shops["khv"].id}"' in text


def test_a_viewer_in_primorye_sees_primorye_first(client, shops):
    text = page_text(client.get("/operations/coating.powder?region=25"))
    khv, prim = _positions(text, 'id="region-27"', 'id="region-25"')
    assert prim < khv


def test_hidden_closed_and_draft_offers_do_not_show(client, shops):
    text = page_text(client.get("/operations/coating.powder"))
    for name in ("Скрытая", "Закрытая", "Черновая"):
        assert name not in text
    # counts in words: two organizations in two regions of one district
    assert "Дальневосточный федеральный округ" in text


def test_a_parent_shows_its_childs_shops_but_a_child_not_its_parents(client, db, factories, shops):
    broad = with_operations(db, factories.listing(organization=factories.organization(region="28"),
                                                  title="Любые покрытия металла"), "coating")
    coating = page_text(client.get("/operations/coating"))
    assert "АО «Сибцинк»" in coating and "ООО «Амур-Покрытия»" in coating and broad.title in coating
    zinc = page_text(client.get("/operations/coating.zinc"))
    assert "АО «Сибцинк»" in zinc and "Горячее цинкование до 12 м" in zinc
    assert broad.title not in zinc  # a shop naming only the family is not taken to do each child
    assert "ООО «Амур-Покрытия»" not in zinc


def test_the_page_describes_the_operation(client, shops):
    page = client.get("/operations/coating.zinc.hot_dip")
    text = page_text(page)
    assert page.status_code == 200
    assert "Горячее цинкование" in text and "горячая оцинковка" in text
    assert 'href="/operations/coating.zinc"' in text and 'aria-current="page"' in text  # breadcrumbs
    assert "25.61.11.111" in text and "25.61" in text  # own ОКПД2, ОКВЭД2 inherited
    assert "наибольшая длина (мм)" in text  # parameters inherited from «Нанесение покрытий»
    children = page_text(client.get("/operations/coating"))
    assert 'data-operation-id="coating.powder"' in children and "окрасочная камера" not in children


def test_open_needs_for_the_operation_and_no_closed_tenders_lot(client, db, factories, shops):
    buyer = factories.organization(region="27", name="АО «Заказчик»")
    need = with_operations(db, factories.listing(ListingKind.MISSING_OPERATION, organization=buyer,
                                                 title="Нужно горячее цинкование ограждений"), "coating.zinc.hot_dip")
    done = with_operations(db, factories.listing(ListingKind.MISSING_OPERATION, organization=buyer,
                                                 title="Уже найдено цинкование", status=ListingStatus.CLOSED),
                           "coating.zinc.hot_dip")
    closed = make_tender(factories, visibility="closed", invited=[shops["nsk"].organization])
    closed.lot.title = "Лот закрытого тендера: цинкование"
    with_operations(db, closed.lot, "coating.zinc.hot_dip")
    text = page_text(client.get("/operations/coating.zinc"))
    assert need.title in text and done.title not in text
    assert closed.lot.title not in text
    invited = factories.user(role=UserRole.MANUFACTURER, organization=shops["nsk"].organization)
    login(client, invited)
    assert closed.lot.title in page_text(client.get("/operations/coating.zinc"))


def test_an_unknown_operation_is_the_apps_404(client):
    page = client.get("/operations/coating.nonexistent")
    assert page.status_code == 404
    assert "Страница не найдена" in page_text(page)

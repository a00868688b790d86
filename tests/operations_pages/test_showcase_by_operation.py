"""The showcase filters organizations by a catalogue operation (the operation or a more specific one), shows it as
an active filter chip, and says plainly when ``?operation=`` names no operation of the catalogue."""
from __future__ import annotations

import re

import pytest

from marketplace.listings.models import ListingStatus
from marketplace.operations.models import ListingOperation
from tests.fixtures.listing_operations import catalogue  # noqa: F401  (a fixture)
from tests.web.conftest import page_text

pytestmark = pytest.mark.usefixtures("catalogue")


def offer(db, factories, org, title, op_id, **fields):
    listing = factories.listing(organization=org, title=title, **fields)
    db.session.add(ListingOperation(listing_id=listing.id, operation_id=op_id, position=0))
    db.session.flush()
    return listing


@pytest.fixture
def orgs(db, factories):
    zinc = factories.organization(region="27", name="ООО «Хабаровский цинк»")
    powder = factories.organization(region="27", name="ООО «Порошок-ДВ»")
    turner = factories.organization(region="27", name="ООО «Токарь»")
    hidden = factories.organization(region="27", name="ООО «Скрытый цинк»")
    offer(db, factories, zinc, "Горячее цинкование", "coating.zinc.hot_dip")
    offer(db, factories, powder, "Порошковая окраска", "coating.powder")
    offer(db, factories, turner, "Токарные работы", "machining.turning")
    offer(db, factories, hidden, "Цинкование (скрыто)", "coating.zinc.hot_dip", status=ListingStatus.HIDDEN)
    return {"zinc": zinc, "powder": powder, "turner": turner, "hidden": hidden}


def _region_count(text: str, code: str) -> int:
    found = re.search(rf'href="/regions/{code}[^"]*">[^<]+</a>\s*<span class="count">(\d+)</span>', text)
    assert found, f"no count for region {code}"
    return int(found.group(1))


def test_the_region_lists_only_organizations_doing_the_operation(client, orgs):
    text = page_text(client.get("/regions/27?operation=coating.zinc"))
    assert "ООО «Хабаровский цинк»" in text  # hot-dip zinc is a kind of zinc plating
    for name in ("ООО «Порошок-ДВ»", "ООО «Токарь»", "ООО «Скрытый цинк»"):
        assert name not in text
    family = page_text(client.get("/regions/27?operation=coating"))
    assert "ООО «Хабаровский цинк»" in family and "ООО «Порошок-ДВ»" in family and "ООО «Токарь»" not in family


def test_the_counts_follow_the_operation_and_the_chip_names_it(client, orgs):
    text = page_text(client.get("/?operation=coating.powder"))
    assert _region_count(text, "27") == 1
    assert _region_count(page_text(client.get("/?operation=coating")), "27") == 2
    chip = re.search(r'class="[^"]*filter-chip[^"]*" data-operation-id="coating.powder">(.*?)</span>', text, re.S)
    assert chip and "Порошковая окраска" in chip.group(1) and "Убрать фильтр" in chip.group(1)
    assert '<option value="coating.powder" selected>' in text
    # the region links carry the filter on
    assert re.search(r'href="/regions/27\?[^"]*operation=coating.powder', text)


def test_an_unknown_operation_is_a_clear_message_not_an_error(client, orgs):
    page = client.get("/regions/27?operation=coating.nonexistent")
    text = page_text(page)
    assert page.status_code == 200
    assert "Операции «coating.nonexistent» нет в каталоге" in text
    assert "ООО «Токарь»" in text  # the filter is not applied
    assert "filter-chip" not in text

"""The gaps read by operation: the same report keyed by the needs' main catalogue operation, needs without one under
their ОКПД2 class; on the page (a toggle, drill-downs), in the stored snapshots and in ``cosmos analytics gaps``."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from marketplace.accounts.models import UserRole
from marketplace.analytics.gaps import gap_operation_needs, gaps
from marketplace.analytics.scope import resolve_scope
from marketplace.listings.models import ListingKind
from marketplace.matches.models import Match
from marketplace.operations.models import ListingOperation
from tests.fixtures.listing_operations import catalogue  # noqa: F401  (a fixture)
from tests.web.conftest import login, page_text

pytestmark = pytest.mark.usefixtures("catalogue")


def with_operations(db, listing, *op_ids):
    for position, op_id in enumerate(op_ids):
        db.session.add(ListingOperation(listing_id=listing.id, operation_id=op_id, position=position))
    db.session.flush()
    return listing


def match(db, need, offer, tier, acceptable=True):
    db.session.add(Match(need_id=need.id, offer_id=offer.id, score=0.8, tier=tier, acceptable=acceptable))
    db.session.flush()


@pytest.fixture
def scenario(db, factories):
    """Needs in Хабаровский край, all ОКПД2 25.61:

    * ``zinc`` — hot-dip galvanizing, 300 000: the only acceptable supplier is in Новосибирск (a local and a
      district gap); a Хабаровск powder-coating shop was matched but is not acceptable;
    * ``powder`` — powder coating then zinc plating, 80 000: its main operation (powder) has a local supplier — no gap;
    * ``plain`` — no operation, 20 000, no match at all: stays under the class 25.61.
    """
    buyer = factories.organization(region="27", name="АО «Хабаровский мостостроитель»")
    khv = factories.organization(region="27", name="ООО «Амур-Покрытия»")
    nsk = factories.organization(region="54", name="АО «Сибцинк»")

    def need(title, budget, *ops):
        listing = factories.listing(ListingKind.MISSING_OPERATION, organization=buyer, okpd2=["25.61.11"],
                                    title=title, budget=Decimal(budget))
        return with_operations(db, listing, *ops)

    needs = {"zinc": need("Горячее цинкование ограждений", "300000", "coating.zinc.hot_dip"),
             "powder": need("Окраска и цинкование кронштейнов", "80000", "coating.powder", "coating.zinc"),
             "plain": need("Покрытие деталей", "20000")}
    powder_shop = with_operations(db, factories.listing(organization=khv, okpd2=["25.61.11"]), "coating.powder")
    zinc_shop = with_operations(db, factories.listing(organization=nsk, okpd2=["25.61.11"]), "coating.zinc.hot_dip")
    match(db, needs["zinc"], zinc_shop, "national")
    match(db, needs["zinc"], powder_shop, "local", acceptable=False)
    match(db, needs["powder"], powder_shop, "local")
    return needs


def test_by_class_the_three_needs_are_one_line(scenario):
    report = gaps(resolve_scope("27"), "local")
    assert [(r.okpd2_class, r.unmet_needs, r.needs, r.unmet_budget) for r in report.rows] == [
        ("25.61", 2, 3, 320000.0)]
    assert report.by == "class" and report.rows[0].operation_id is None


def test_by_operation_hot_dip_galvanizing_is_a_local_gap_of_its_own(scenario):
    report = gaps(resolve_scope("27"), "local", by="operation")
    lines = [(r.rank, r.operation_id, r.okpd2_class, r.name, r.unmet_needs, r.needs, r.unmet_budget)
             for r in report.rows]
    assert lines == [(1, "coating.zinc.hot_dip", "25.61", "Горячее цинкование", 1, 1, 300000.0),
                     (2, None, "25.61", lines[1][3], 1, 1, 20000.0)]
    assert report.by == "operation" and report.needs == 3 and report.unmet_needs == 2
    assert all(r.operation_id != "coating.powder" for r in report.rows)  # served locally
    assert all(r.operation_id != "coating.zinc" for r in report.rows)  # a second operation is not the main one
    # a district gap too: the only acceptable supplier is in Siberia
    district = gaps(resolve_scope("27"), "district", by="operation")
    assert [r.operation_id for r in district.rows] == ["coating.zinc.hot_dip", None]
    assert [n.title for n in gap_operation_needs(resolve_scope("27"), "coating.zinc.hot_dip", "local")] == [
        "Горячее цинкование ограждений"]


def test_an_unknown_reading_is_refused(scenario):
    with pytest.raises(ValueError, match="unknown gap reading"):
        gaps(resolve_scope("27"), "local", by="okved")


def test_the_page_toggles_between_classes_and_operations(client, db, factories, scenario):
    from marketplace.analytics.snapshots import refresh

    refresh(["27"])
    login(client, factories.user(role=UserRole.COORDINATOR, regions=["27"]))
    by_class = page_text(client.get("/analytics/27/gaps"))
    assert "по операциям" in by_class and "Горячее цинкование" not in by_class
    page = client.get("/analytics/27/gaps?by=operation")
    text = page_text(page)
    assert page.status_code == 200
    assert 'data-operation-id="coating.zinc.hot_dip"' in text and "без операции каталога" in text
    assert "/analytics/27/gaps/operations/coating.zinc.hot_dip" in text
    drill = page_text(client.get("/analytics/27/gaps/operations/coating.zinc.hot_dip?level=local"))
    assert "Горячее цинкование ограждений" in drill and "Покрытие деталей" not in drill
    rest = page_text(client.get("/analytics/27/gaps/25.61?level=local&by=operation"))
    assert "Покрытие деталей" in rest and "Горячее цинкование ограждений" not in rest
    assert client.get("/analytics/27/gaps/operations/coating.powder?level=local").status_code == 404
    csv_text = client.get("/analytics/27/gaps.csv?by=operation").get_data(as_text=True)
    assert "Горячее цинкование" in csv_text


def test_the_cli_reads_by_operation(runner, scenario):
    result = runner.invoke(args=["analytics", "gaps", "--region", "27", "--by", "operation", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["by"] == "operation"
    assert [r["operation_id"] for r in data["rows"]] == ["coating.zinc.hot_dip", None]
    text = runner.invoke(args=["analytics", "gaps", "--region", "27", "--by", "operation"]).output
    assert "coating.zinc.hot_dip" in text and "Горячее цинкование" in text

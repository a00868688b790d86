from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from marketplace.accounts.models import UserRole


@pytest.fixture
def refreshed(market, db):
    from marketplace.analytics.snapshots import refresh

    refresh(["27", "25", "FEFD", "RU"])
    return market


def login(client, user):
    """Log ``user`` in; the requests share the test's application context, so forget the user Flask-Login cached
    on ``g``, and commit the setup (to the test's savepoint) so that a view's rollback keeps it."""
    from flask import g

    from marketplace.extensions import db

    db.session.commit()
    g.pop("_login_user", None)
    with client.session_transaction() as session:
        session.clear()
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


@pytest.fixture
def coordinator(factories):
    return factories.user(role=UserRole.COORDINATOR, regions=["27"])


def test_coordinator_of_27_sees_the_gaps_of_27(client, refreshed, coordinator):
    login(client, coordinator)
    page = client.get("/analytics/27/gaps")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Хабаровский край" in html and "28.41" in html and "Оборудование металлообрабатывающее" in html
    assert "Данные рассчитаны" in html
    assert client.get("/analytics/").headers["Location"].endswith("/analytics/27/gaps")


def test_every_page_of_a_region_renders(client, refreshed, coordinator):
    login(client, coordinator)
    for path in ("gaps?level=national", "gaps/25.62?level=local", "localization", "kpis", "network", "report"):
        assert client.get(f"/analytics/27/{path}").status_code == 200, path
    drill = client.get("/analytics/27/gaps/25.62?level=local").get_data(as_text=True)
    assert "Потребность turning" in drill and "Потребность coating" in drill and "Потребность milling" not in drill


def test_a_coordinator_of_another_region_gets_404(client, refreshed, factories):
    login(client, factories.user(role=UserRole.COORDINATOR, regions=["25"]))
    assert client.get("/analytics/27/gaps").status_code == 404
    assert client.get("/analytics/27/gaps.csv").status_code == 404
    assert client.get("/analytics/FEFD/gaps").status_code == 404  # coordinates only part of the district
    assert client.get("/analytics/RU/gaps").status_code == 404
    assert client.get("/analytics/25/gaps").status_code == 200


def test_other_roles_get_404_and_anonymous_visitors_the_login_page(client, refreshed, factories):
    anonymous = client.get("/analytics/27/gaps")
    assert anonymous.status_code in (301, 302, 401)
    login(client, factories.user(role=UserRole.MANUFACTURER))
    r = client.get("/analytics/27/gaps")
    assert r.status_code == 404, r.headers.get("Location")
    assert client.get("/analytics/").status_code == 404


def test_admins_see_every_scope(client, refreshed, factories):
    login(client, factories.user(role=UserRole.ADMIN))
    for code in ("RU", "FEFD", "54"):
        assert client.get(f"/analytics/{code}/gaps").status_code == 200
    assert "Дальневосточный" in client.get("/analytics/").get_data(as_text=True)


def test_exports_carry_the_cached_list(client, refreshed, coordinator):
    login(client, coordinator)
    response = client.get("/analytics/27/gaps.csv?level=national")
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")  # a BOM, or Excel reads UTF-8 as cp1251
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert [r[1] for r in rows[1:]] == ["28.41", "25.62"]
    wb = load_workbook(io.BytesIO(client.get("/analytics/27/gaps.xlsx").data))
    assert wb["Пробелы"].cell(row=3, column=2).value == "28.41"
    report = load_workbook(io.BytesIO(client.get("/analytics/27/report.xlsx").data))
    assert {"Пробелы — регион", "Локализация", "KPI", "Сеть кооперации"} <= set(report.sheetnames)


def test_pages_without_a_snapshot_say_so(client, market, coordinator):
    login(client, coordinator)
    html = client.get("/analytics/27/gaps").get_data(as_text=True)
    assert "ещё не рассчитаны" in html


def test_a_coordinator_sets_a_target_and_sees_the_progress(client, refreshed, coordinator, app):
    login(client, coordinator)
    token = _csrf(client, app, "/analytics/27/kpis")
    response = client.post("/analytics/27/targets", data={"metric": "organizations", "year": "2026",
                                                         "target": "4", "csrf_token": token})
    assert response.status_code == 302
    html = client.get("/analytics/27/kpis").get_data(as_text=True)
    assert "50\u00a0%" in html


def test_the_recompute_button_runs_the_job(client, market, coordinator, app):
    login(client, coordinator)
    token = _csrf(client, app, "/analytics/27/gaps")
    response = client.post("/analytics/27/refresh", data={"csrf_token": token, "next": "/analytics/27/kpis"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/analytics/27/kpis")
    assert "Данные рассчитаны" in client.get("/analytics/27/gaps").get_data(as_text=True)


def _csrf(client, app, path):
    import re

    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    return found.group(1) if found else None


def test_acceptance_khabarovsk_coordinator_sees_niches_localization_kpis_and_the_network(
        app, client, db, market, factories, coordinator, runner):
    """Issue 7's «done when»: the region's top niches with the needs behind them, the localization share by tier,
    KPI progress with charts and the network picture; the CLI prints the same gap list."""
    import json
    import os
    import re
    from datetime import date
    from decimal import Decimal

    from marketplace.analytics.kpis import set_kpi_target
    from marketplace.analytics.snapshots import refresh
    from marketplace.chains.models import ChainRequest, ChainStatus, CooperationChain

    buyer = factories.organization(region="27", name="Заказчик цепочки")
    welder = factories.organization(region="54", name="Сварка Новосибирск")
    result = {"assignments": [{"stage": "weld", "listing_id": "1", "organization_id": str(welder.id),
                               "organization": welder.name, "region": "54", "tier": "national",
                               "production_cost": 700.0}]}
    request = ChainRequest(organization_id=buyer.id, item="Рама", quantity=Decimal(10), unit_weight_kg=Decimal(50),
                           delivery_region="27", deadline_days=30, spec={})
    request.chains = [CooperationChain(rank=0, status=ChainStatus.APPROVED, total_cost=1000, lead_time_days=10,
                                       distance_km=5000, result=result)]
    db.session.add(request)
    set_kpi_target("27", "organizations", date.today().year, 6)  # 3 organizations registered in 27
    refresh(["27"])
    login(client, coordinator)

    gaps_html = client.get("/analytics/27/gaps").get_data(as_text=True)
    page_order = list(dict.fromkeys(re.findall(r"/analytics/27/gaps/([\d.]+)", gaps_html)))
    cli = json.loads(runner.invoke(args=["analytics", "gaps", "--region", "27", "--json"]).output)
    assert page_order == [row["okpd2_class"] for row in cli["rows"]] == ["28.41", "25.62"]
    drill = client.get("/analytics/27/gaps/28.41").get_data(as_text=True)
    assert "Потребность machine" in drill and "Потребность turning" not in drill

    localization = client.get("/analytics/27/localization").get_data(as_text=True)
    # matched value: milling 50 000 + bolts 6 000 local, turning 100 000 district, machine 200 000 EAEU
    for share in ("15,7\u00a0%", "28,1\u00a0%", "56,2\u00a0%"):
        assert share in localization, share
    assert 'id="chart-matched"' in localization

    kpis = client.get("/analytics/27/kpis").get_data(as_text=True)
    assert "50\u00a0%" in kpis and 'id="chart-orgs"' in kpis and "new Chart(" in kpis

    network = client.get("/analytics/27/network").get_data(as_text=True)
    svg = network[network.index('<svg class="an-net"'):network.index("</svg>")]
    assert "Заказчик цепочки" in svg and "Сварка Новосибирск" in svg and "<line" in svg

    vendored = os.path.isfile(os.path.join(app.static_folder, "vendor", "chart.js", "chart.umd.js"))
    assert ("vendor/chart.js/chart.umd.js" in kpis) is vendored  # Chart.js from npm when built; tables always

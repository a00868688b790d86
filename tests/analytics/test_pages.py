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
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
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
    assert "50%" in html


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

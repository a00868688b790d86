from __future__ import annotations

from marketplace.analytics.models import AnalyticsSnapshot


def test_refresh_is_a_job_scheduled_every_hour():
    from workers.queue import get_spec
    from workers.schedule import PERIODIC_JOBS

    spec = get_spec("analytics.refresh")
    assert spec.queue == "default" and spec.timeout >= 600
    assert any(p.job == "analytics.refresh" and p.cron == "0 * * * *" for p in PERIODIC_JOBS)


def test_the_job_stores_every_kind_for_every_scope_and_replaces_them(app, db, market):
    from workers.queue import enqueue

    handle = enqueue("analytics.refresh")
    assert handle.status == "finished", handle.error
    assert handle.result["scopes"] == 98  # 89 regions, 8 districts, Russia
    rows = db.session.query(AnalyticsSnapshot).all()
    assert len(rows) == 98 * 4
    assert {r.kind for r in rows} == {"gaps", "localization", "kpis", "network"}
    first = {(r.kind, r.scope): r.computed_at for r in rows}
    assert enqueue("analytics.refresh", "27").status == "finished"
    db.session.expire_all()
    assert db.session.query(AnalyticsSnapshot).count() == 98 * 4
    again = {(r.kind, r.scope): r.computed_at for r in db.session.query(AnalyticsSnapshot)}
    assert again[("gaps", "27")] >= first[("gaps", "27")]
    assert again[("gaps", "FEFD")] == first[("gaps", "FEFD")]


def test_cached_reports_read_back_equal_to_the_computed_ones(db, market):
    from marketplace.analytics import snapshots
    from marketplace.analytics.gaps import gaps
    from marketplace.analytics.kpis import kpis
    from marketplace.analytics.localization import localization
    from marketplace.analytics.network import network
    from marketplace.analytics.scope import resolve_scope

    snapshots.refresh(["27"])
    scope = resolve_scope("27")
    assert snapshots.cached_gaps("27", "district").report == gaps(scope, "district")
    assert snapshots.cached_localization("27").report == localization(scope)
    assert snapshots.cached_kpis("27").report == kpis(scope)
    assert snapshots.cached_network("27").report == network(scope)
    assert snapshots.cached_gaps("54", "local") is None

from collections import Counter

from sqlalchemy import func, select

from marketplace.demo.seed import build_records, seed_demo
from marketplace.geo.models import Region
from marketplace.listings.models import Listing, ListingCode
from marketplace.organizations.models import Organization


def test_demo_marketplace_covers_every_district_and_is_densest_in_khabarovsk(db):
    report = seed_demo(organizations=300, seed=1)
    assert report.organizations_created == 305 and not report.errors
    by_region = Counter(db.session.scalars(select(Organization.region_code)))
    districts = {db.session.get(Region, code).district_code for code in by_region if code}
    assert len(districts) == 8
    assert by_region.most_common(1)[0][0] == "27"
    far_east = sum(n for code, n in by_region.items() if code and db.session.get(Region, code).district_code == "FEFD")
    assert far_east > 300 / 3
    kinds = set(db.session.scalars(select(Listing.kind).distinct()))
    assert len(kinds) == 7  # every offer and need kind
    # offers and needs carry real classifier codes
    assert db.session.scalar(select(func.count(ListingCode.code))) >= report.listings_created


def test_demo_records_are_deterministic(db):
    assert build_records(20, seed=5) == build_records(20, seed=5)


def test_demo_command_seeds_and_serves_the_organizations_by_region(app, db, runner, monkeypatch, tmp_path):
    """``make demo`` runs ``cosmos demo``: it must really start a server (Flask ignores ``app.run()`` inside a CLI
    command) on the app whose home page lists the organizations by region."""
    import werkzeug.serving

    from marketplace.indexing import services

    served: list[tuple] = []
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda *args, **kwargs: served.append(args))
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")  # what the ``cosmos`` (FlaskGroup) entry point sets
    monkeypatch.setitem(app.config, "SEARCH_URL", f"embedded://{tmp_path / 'search'}")
    services.close_search(keep_encoder=True)
    try:
        result = runner.invoke(args=["demo", "--organizations", "12", "--port", "5123"])
        assert result.exit_code == 0, result.output
        assert "Демо-пользователь" in result.output
        assert "Периодические задания" in result.output  # no Redis: they run beside the site
        assert services.check().consistent  # the demo's listings were indexed
    finally:
        services.close_search(keep_encoder=True)
    assert [(host, port) for host, port, _ in served] == [("127.0.0.1", 5123)]
    page = served[0][2].test_client().get("/").get_data(as_text=True)
    assert "Хабаровский край" in page and '<span class="count">' in page

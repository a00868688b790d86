"""The database and the search index stay in step: outbox → index, reindex, check, and Redis outages."""
import pytest
from sqlalchemy import select

from marketplace.core.audit import record_outbox
from marketplace.core.models import OutboxEvent
from marketplace.indexing import services
from search import Query


@pytest.fixture
def index(app, db, tmp_path):
    """A fresh embedded index for the test; the encoder is fitted once per run and kept."""
    app.config["SEARCH_URL"] = f"embedded://{tmp_path / 'search'}"
    services.close_search(keep_encoder=True)
    yield services.get_backend()
    services.close_search(keep_encoder=True)


def add_listing(db, factories, **fields):
    listing = factories.listing(**fields)
    record_outbox("listing", listing.id, "upsert")
    db.session.commit()
    return listing.id


def test_outbox_drains_into_the_index_and_russian_inflection_finds_it(app, db, factories, index):
    org = factories.organization(region="27")
    turning = add_listing(db, factories, kind="capability", organization=org, title="Токарные работы по металлу",
                          okved2=["25.62"])
    add_listing(db, factories, kind="product", organization=org, title="Доски обрезные хвойные", okpd2=["16.10.10"])
    report = services.drain_outbox()
    assert report.indexed == 2 and services.pending_outbox() == 0
    hits = index.search(Query(text="токарная обработка", k=5)).hits
    assert hits and hits[0].id == turning


def test_update_and_delete_reach_the_index(app, db, factories, index):
    listing_id = add_listing(db, factories, kind="product", title="Втулки бронзовые", okpd2=["25.99.29"])
    services.drain_outbox()
    listing = db.session.get(services.Listing, listing_id)
    listing.title = "Подшипники скольжения"
    record_outbox("listing", listing_id, "upsert")
    db.session.commit()
    services.drain_outbox()
    assert [h.id for h in index.search(Query(text="подшипник", k=5)).hits] == [listing_id]
    assert index.search(Query(text="втулки", k=5)).hits == ()
    db.session.delete(listing)
    record_outbox("listing", listing_id, "delete")
    db.session.commit()
    services.drain_outbox()
    assert index.count() == 0


def test_drain_is_safe_to_repeat(app, db, factories, index):
    listing_id = add_listing(db, factories, kind="product", title="Поковки стальные", okpd2=["25.50.11"])
    record_outbox("listing", listing_id, "upsert")
    db.session.commit()
    first = services.drain_outbox()
    second = services.drain_outbox()
    assert first.events == 2 and first.indexed == 1 and second.events == 0
    assert index.count() == 1


def test_check_reports_differences_and_reindex_clears_them(app, db, factories, index):
    a = add_listing(db, factories, kind="product", title="Отливки чугунные", okpd2=["24.51.20"])
    b = add_listing(db, factories, kind="product", title="Отливки стальные", okpd2=["24.52.20"])
    services.drain_outbox()
    assert services.check().consistent
    index.delete([a])  # the index lost a document
    c = add_listing(db, factories, kind="product", title="Отливки алюминиевые", okpd2=["24.53.10"])  # not drained
    report = services.check()
    assert report.missing == sorted([a, c]) and not report.extra
    assert services.reindex() >= 3
    after = services.check()
    assert after.consistent and after.index == after.database
    assert b in dict(index.ids())


def test_search_cli_check_and_reindex(app, db, factories, index, runner):
    add_listing(db, factories, kind="product", title="Фланцы стальные", okpd2=["25.99.29"])
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 1 and "Нет в индексе: 1" in result.output
    assert runner.invoke(args=["search", "reindex"]).exit_code == 0
    result = runner.invoke(args=["search", "check", "--json"])
    assert result.exit_code == 0 and '"consistent": true' in result.output


@pytest.mark.redis
def test_outbox_keeps_the_work_while_redis_is_down(app, db, factories, index, redis_url):
    import redis
    from rq import Queue, SimpleWorker

    from workers.outbox import schedule_drain

    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # Redis is down: nothing listens on this port
    try:
        listing_id = add_listing(db, factories, kind="product", title="Редукторы червячные", okpd2=["28.15.2"])
        handle = schedule_drain()
        assert handle.status == "deferred"
        # the web keeps working: the change is committed and its outbox row waits
        assert services.pending_outbox() == 1 and index.count() == 0

        app.config["REDIS_URL"] = redis_url  # Redis is back
        connection = redis.Redis.from_url(redis_url)
        queue = Queue("search", connection=connection)
        queue.empty()
        assert schedule_drain().status == "queued"
        SimpleWorker([queue], connection=connection).work(burst=True)
    finally:
        app.config["REDIS_URL"] = None
    assert services.pending_outbox() == 0
    assert [h.id for h in index.search(Query(text="редуктор", k=3)).hits] == [listing_id]
    assert db.session.scalar(select(OutboxEvent.processed_at).where(OutboxEvent.entity_id == listing_id))

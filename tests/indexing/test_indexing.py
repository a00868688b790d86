"""The database and the search index stay in step: outbox → index, reindex, check, and Redis outages."""
import pytest
from sqlalchemy import select

from marketplace.core.audit import record_outbox
from marketplace.core.models import OutboxEvent
from marketplace.indexing import services
from search import Query


def test_outbox_drains_into_the_index_and_russian_inflection_finds_it(app, db, factories, index, add_listing):
    org = factories.organization(region="27")
    turning = add_listing(kind="capability", organization=org, title="Токарные работы по металлу",
                          okved2=["25.62"])
    add_listing(kind="product", organization=org, title="Доски обрезные хвойные", okpd2=["16.10.10"])
    report = services.drain_outbox()
    assert report.indexed == 2 and services.pending_outbox() == 0
    hits = index.search(Query(text="токарная обработка", k=5)).hits
    assert hits and hits[0].id == turning


def test_update_and_delete_reach_the_index(app, db, factories, index, add_listing):
    listing_id = add_listing(kind="product", title="Втулки бронзовые", okpd2=["25.99.29"])
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


def test_drain_is_safe_to_repeat(app, db, factories, index, add_listing):
    listing_id = add_listing(kind="product", title="Поковки стальные", okpd2=["25.50.11"])
    record_outbox("listing", listing_id, "upsert")
    db.session.commit()
    first = services.drain_outbox()
    second = services.drain_outbox()
    assert first.events == 2 and first.indexed == 1 and second.events == 0
    assert index.count() == 1


def test_check_reports_differences_and_reindex_clears_them(app, db, factories, index, add_listing):
    a = add_listing(kind="product", title="Отливки чугунные", okpd2=["24.51.20"])
    b = add_listing(kind="product", title="Отливки стальные", okpd2=["24.52.20"])
    services.drain_outbox()
    assert services.check().consistent
    index.delete([a])  # the index lost a document
    c = add_listing(kind="product", title="Отливки алюминиевые", okpd2=["24.53.10"])  # not drained
    report = services.check()
    assert report.missing == sorted([a, c]) and not report.extra
    assert services.reindex() >= 3
    after = services.check()
    assert after.consistent and after.index == after.database
    assert b in dict(index.ids())


def test_search_cli_check_and_reindex(app, db, factories, index, runner, add_listing, monkeypatch):
    import marketplace.commands

    add_listing(kind="product", title="Фланцы стальные", okpd2=["25.99.29"])
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 1 and "Нет в индексе: 1" in result.output
    bars: list[tuple[str, int]] = []
    real_bar = marketplace.commands.progress_bar

    def recording_bar(items, label, length):
        bars.append((label, length))
        return real_bar(items, label, length)

    monkeypatch.setattr(marketplace.commands, "progress_bar", recording_bar)
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0 and "Проиндексировано:" in result.output
    assert bars == [("Индексация", 1)]  # the command shows the shared progress bar over the batches
    result = runner.invoke(args=["search", "check", "--json"])
    assert result.exit_code == 0 and '"consistent": true' in result.output


@pytest.mark.redis
def test_outbox_keeps_the_work_while_redis_is_down(app, db, factories, index, redis_url, add_listing):
    import redis
    from rq import Queue, SimpleWorker

    from workers.outbox import schedule_drain

    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # Redis is down: nothing listens on this port
    try:
        listing_id = add_listing(kind="product", title="Редукторы червячные", okpd2=["28.15.2"])
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
        connection.close()  # the worker's pub/sub socket too
    finally:
        app.config["REDIS_URL"] = None
    assert services.pending_outbox() == 0
    assert [h.id for h in index.search(Query(text="редуктор", k=3)).hits] == [listing_id]
    assert db.session.scalar(select(OutboxEvent.processed_at).where(OutboxEvent.entity_id == listing_id))


def test_a_write_torn_between_words_and_vectors_is_found_by_check_and_fixed_by_reconcile(
        app, db, index, add_listing, monkeypatch):
    listing_id = add_listing(kind="product", title="Валы шлицевые", okpd2=["28.15.2"])

    def crash(*_args, **_kwargs):  # the process dies after the word commit, before the vector commit
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(index._vectors, "write", crash)
        with pytest.raises(OSError):
            services.drain_outbox()
    assert [h.id for h in index.search(Query(text="валы", k=3)).hits] == [listing_id]  # the words landed
    event = db.session.scalar(select(OutboxEvent).where(OutboxEvent.entity_id == listing_id))
    assert event.processed_at is None and event.attempts == 1 and "disk full" in event.last_error
    report = services.check()
    assert report.stale == [listing_id] and not report.consistent

    from workers.queue import execute

    assert execute("search.reconcile", [], {})["stale"] == 1
    assert services.check().consistent and services.pending_outbox() == 0
    assert index.get(listing_id).vector is not None


def test_reindex_removes_strays_and_never_leaves_the_index_empty(app, db, index, add_listing):
    from search import Document

    kept = add_listing(kind="product", title="Шестерни цилиндрические", okpd2=["28.15.2"])
    services.drain_outbox()
    index.index([Document(id=10**9, side="offer", kind="product", title="Осталось от удалённой строки")])
    seen: list[tuple[str, int, int]] = []

    def progress(items, label, length):
        for item in items:
            seen.append((label, length, index.count()))  # what searches see while the rebuild runs
            yield item

    assert services.reindex(progress=progress, batch=1) == services.check().database
    assert seen and all(label == "Индексация" and length >= 1 for label, length, _ in seen)
    assert seen[0][2] >= 2  # the old documents stay searchable until they are rewritten
    assert 10**9 not in dict(index.ids()) and kept in dict(index.ids())
    assert services.check().consistent


def test_events_written_during_a_reindex_stay_pending(app, db, factories, index, add_listing):
    first = add_listing(kind="product", title="Муфты зубчатые", okpd2=["28.15.2"])
    late: list[int] = []

    def progress(items, label, length):
        for item in items:
            if not late:  # a user edits a listing while the rebuild runs
                listing = db.session.get(services.Listing, first)
                listing.title = "Муфты зубчатые МЗ-4"
                record_outbox("listing", first, "upsert")
                db.session.flush()
                late.append(first)
            yield item

    services.reindex(progress=progress)
    assert services.pending_outbox() == 1  # the edit's event waits for the next drain
    services.drain_outbox()
    assert services.pending_outbox() == 0
    assert [h.id for h in index.search(Query(text="МЗ-4", k=3)).hits] == [first]


def test_reindex_on_elasticsearch_swaps_the_alias_instead_of_clearing(app, db, add_listing):
    a = add_listing(kind="product", title="Насосы центробежные", okpd2=["28.13.14"])
    b = add_listing(kind="capability", title="Ремонт насосов", okved2=["33.12"])

    class AliasBackend:
        """Stands in for ElasticsearchBackend: it has ``reindex``, and must not be cleared or written to."""

        def __init__(self):
            self.rebuilt: list = []

        def reindex(self, docs):
            self.rebuilt = list(docs)
            return "cosmos-listings-2"

        def clear(self):
            raise AssertionError("a reindex must not empty the live index")

        def index(self, docs):
            raise AssertionError("the documents go to the new index")

        def close(self):
            pass

    fake = AliasBackend()
    services.close_search(keep_encoder=True)
    app.extensions["cosmos.search"] = fake
    try:
        count = services.reindex(batch=1)
    finally:
        app.extensions.pop("cosmos.search", None)
    ids = {doc.id for doc in fake.rebuilt}
    assert {a, b} <= ids and len(ids) == count == len(fake.rebuilt)
    assert all(doc.vector is not None for doc in fake.rebuilt)
    assert services.pending_outbox() == 0


@pytest.mark.redis
def test_a_listing_published_through_the_site_during_a_redis_outage_reaches_the_index_later(
        app, db, factories, index, client, redis_url):
    """The whole path: the page commits the listing and its outbox row, the enqueue fails on the dead Redis, the
    site keeps answering, and the scheduler's drain on the RQ worker indexes it once Redis is back."""
    import redis
    from rq import Queue, SimpleWorker

    from marketplace.core.models import utcnow
    from marketplace.listings.models import Listing
    from tests.web.conftest import _forget_request_state, login, submit
    from workers.queue import enqueue

    org = factories.organization(region="27")
    login(client, factories.user(email_confirmed_at=utcnow(), organization=org))
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # Redis is down: nothing listens on this port
    try:
        response = submit(client, "/my/listings/new/capability", {
            "title": "Токарные работы на станках с ЧПУ", "okved2": "25.62", "action": "publish"})
        assert response.status_code == 302
        listing_id = db.session.scalar(select(Listing.id).where(Listing.title.startswith("Токарные работы")))
        assert services.pending_outbox() >= 1 and listing_id not in dict(index.ids())
        assert client.get("/search", query_string={"q": "токарная обработка"}).status_code == 200

        app.config["REDIS_URL"] = redis_url  # Redis is back; the scheduler's periodic drain comes round
        connection = redis.Redis.from_url(redis_url)
        queue = Queue("search", connection=connection)
        queue.empty()
        assert enqueue("search.drain_outbox").status == "queued"
        SimpleWorker([queue], connection=connection).work(burst=True)
        connection.close()  # the worker's pub/sub socket too
    finally:
        app.config["REDIS_URL"] = None
    assert services.pending_outbox() == 0 and services.check().consistent
    _forget_request_state()  # the worker ran in this test's app context and closed its session
    page = client.get("/search", query_string={"q": "токарная обработка"}).get_data(as_text=True)
    assert f'data-listing-id="{listing_id}"' in page


@pytest.mark.redis
def test_the_schedulers_periodic_drain_picks_up_what_an_outage_left(app, db, index, add_listing, redis_url):
    import redis
    from rq import Queue, SimpleWorker

    from workers.schedule import build_scheduler

    listing_id = add_listing(kind="surplus", title="Остатки листового проката", okpd2=["24.10.3"], quantity=5)
    assert services.pending_outbox() == 1  # committed while Redis was down; nothing was enqueued
    connection = redis.Redis.from_url(redis_url)
    queue = Queue("search", connection=connection)
    queue.empty()
    app.config["REDIS_URL"] = redis_url
    try:
        due = {job.name for job in build_scheduler(connection).enqueue_jobs()}  # the scheduler's first tick
        assert "search.drain_outbox" in due
        SimpleWorker([queue], connection=connection).work(burst=True)
    finally:
        app.config["REDIS_URL"] = None
        Queue("default", connection=connection).empty()
        connection.close()  # the worker's pub/sub socket too
    assert services.pending_outbox() == 0
    assert [h.id for h in index.search(Query(text="прокат", k=3)).hits] == [listing_id]

"""Kept public pages (core.pagecache): served to anonymous visitors without the database until what they show
changes, a change visible on the next request, and nobody's private page ever kept or served to another."""
from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import event, select

from marketplace.core import pagecache
from marketplace.core.audit import record_outbox
from marketplace.listings.models import ListingKind, ListingStatus
from tests.web.conftest import login, page_text


@pytest.fixture
def kept(app, db):
    """Pages kept for this test, with versions of its own (in this process)."""
    cache = pagecache.page_cache(app)
    saved = app.config["COSMOS_PAGE_CACHE"], cache.versions
    app.config["COSMOS_PAGE_CACHE"] = True
    cache.versions = pagecache.LocalVersions()
    cache.clear()
    yield cache
    app.config["COSMOS_PAGE_CACHE"], cache.versions = saved
    cache.clear()


@pytest.fixture
def queries(db):
    """SQL statements run since the last ``clear()``."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    yield seen
    event.remove(db.engine, "before_cursor_execute", note)


@pytest.fixture
def index(app, db, tmp_path):
    from marketplace.indexing import services

    app.config["SEARCH_URL"] = f"embedded://{tmp_path / 'search'}"
    services.close_search(keep_encoder=True)
    yield services.get_backend()
    services.close_search(keep_encoder=True)


def _get(client, queries, url):
    queries.clear()
    response = client.get(url)
    assert response.status_code == 200, url
    return page_text(response), len(queries)


def _region(db, code):
    from marketplace.geo.models import Region

    return db.session.get(Region, code)


def _count_after(page: str, name: str) -> int:
    start = page.index(name)
    return int(re.search(r'<span class="count">(\d+)</span>', page[start:]).group(1))


def test_each_public_page_is_kept_until_what_it_shows_changes(client, db, factories, kept, queries, index):
    from marketplace.indexing.services import drain_outbox

    word = "кантователь" + uuid.uuid4().hex[:6]
    org = factories.organization(region="79", name="ООО «Биробиджанский котельный»")
    listing = factories.listing(ListingKind.CAPABILITY, organization=org, title=f"Сварка котлов {word}")
    record_outbox("listing", listing.id, "upsert")
    db.session.commit()
    drain_outbox()
    login(client, None)
    region_name = _region(db, "79").name

    def add_organization():
        factories.organization(region="79", name="ООО «Новый сосед»")

    def rename_organization():
        org.name = "ООО «Переименованный котельный»"

    def retitle_listing():
        listing.title = f"Сварка и ремонт котлов {word}"

    def add_search_hit():
        other = factories.listing(ListingKind.CAPABILITY, organization=org, title=f"Второй {word}")
        record_outbox("listing", other.id, "upsert")
        db.session.commit()
        drain_outbox()

    cases = [
        ("/", add_organization, lambda page, before: _count_after(page, region_name) == before + 1,
         lambda page: _count_after(page, region_name)),
        ("/districts/FEFD", add_organization, lambda page, before: _count_after(page, region_name) == before + 1,
         lambda page: _count_after(page, region_name)),
        ("/regions/79", add_organization, lambda page, _before: "ООО «Новый сосед»" in page, None),
        (f"/producers/{org.id}", rename_organization, lambda page, _b: "Переименованный котельный" in page, None),
        (f"/listings/{listing.id}", retitle_listing, lambda page, _b: "Сварка и ремонт котлов" in page, None),
        (f"/listings/{listing.id}", rename_organization, lambda page, _b: "Переименованный котельный" in page, None),
        (f"/search?q={word}", add_search_hit, lambda page, before: len(re.findall(
            r'data-listing-id="(\d+)"', page)) == before + 1,
         lambda page: len(re.findall(r'data-listing-id="(\d+)"', page))),
    ]
    for url, change, changed, measure in cases:
        if url.startswith("/producers") or url.startswith("/listings"):
            org.name = "ООО «Биробиджанский котельный»"
            listing.title = f"Сварка котлов {word}"
            db.session.commit()
        first, rendered = _get(client, queries, url)
        second, served = _get(client, queries, url)
        assert rendered > 0 and served == 0, (url, rendered, served)
        assert re.sub(r'nonce-?[\w-]*|nonce="[^"]*"', "", first) == re.sub(r'nonce-?[\w-]*|nonce="[^"]*"', "",
                                                                             second), url
        before = measure(second) if measure else None
        change()
        db.session.commit()
        third, again = _get(client, queries, url)
        assert again > 0 and changed(third, before), url


def test_a_signed_in_visitor_never_gets_or_fills_a_kept_page(app, client, db, factories, kept, queries):
    org = factories.organization(name="ООО «Контактный завод»", phone="+7 4212 45-67-89", email="sales@zavod.ru")
    draft = factories.listing(organization=org, title="Черновик для своих", status=ListingStatus.DRAFT)
    owner = factories.user(organization=org)
    stranger = factories.user(organization=factories.organization())
    owner.full_name, stranger.full_name = "Пётр Владельцев", "Анна Посторонняя"
    producer = f"/producers/{org.id}"

    login(client, stranger)  # signed in: sees the contacts and their own name
    html, _ = _get(client, queries, producer)
    assert "sales@zavod.ru" in html and "Анна Посторонняя" in html
    login(client, None)
    for _ in range(2):  # rendered, then kept: neither has what the signed-in visitor saw
        html, _ = _get(client, queries, producer)
        assert "sales@zavod.ru" not in html and "Анна Посторонняя" not in html and "contacts-hidden" in html
    login(client, owner)  # the kept anonymous page is not what a signed-in visitor gets
    html, served = _get(client, queries, producer)
    assert served > 0 and "sales@zavod.ru" in html and "Пётр Владельцев" in html

    html, _ = _get(client, queries, f"/listings/{draft.id}")  # the owner sees the draft …
    assert "Черновик для своих" in html
    login(client, None)
    assert client.get(f"/listings/{draft.id}").status_code == 404  # … nobody else, kept or not
    assert client.get(f"/listings/{draft.id}").status_code == 404


def test_a_flash_message_is_for_its_visitor_only(app, db, factories, kept, queries):
    first, second = app.test_client(), app.test_client()
    with first.session_transaction() as session:
        session["_flashes"] = [("success", "Только для первого посетителя")]
    assert "Только для первого посетителя" in page_text(first.get("/"))
    for _ in range(2):
        assert "Только для первого посетителя" not in page_text(second.get("/"))


def test_a_kept_page_gets_a_fresh_csp_nonce_each_time(client, db, kept):
    nonces = []
    for _ in range(3):
        response = client.get("/")
        header = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
        in_page = set(re.findall(r'nonce="([^"]+)"', page_text(response)))
        assert in_page <= {header} and pagecache.NONCE_PLACEHOLDER not in page_text(response)
        nonces.append(header)
    assert len(set(nonces)) == 3


def test_versions_in_redis_are_shared_by_processes(client, db, factories, kept, queries, redis_url):
    prefix = f"cosmos:test-page-version:{uuid.uuid4().hex}:"
    kept.versions = pagecache.RedisVersions(redis_url)
    kept.versions.PREFIX = prefix
    other_process = pagecache.RedisVersions(redis_url)
    other_process.PREFIX = prefix
    org = factories.organization(name="ООО «Общий завод»")
    db.session.commit()
    url = f"/producers/{org.id}"
    _get(client, queries, url)
    assert _get(client, queries, url)[1] == 0
    other_process.bump([f"org:{org.id}"])  # another gunicorn worker or the RQ worker committed a change to it
    assert _get(client, queries, url)[1] > 0
    assert _get(client, queries, url)[1] == 0
    before = other_process.get([f"org:{org.id}"])[0]
    org.name = "ООО «Общий завод 2»"
    db.session.commit()  # this process's commit bumps the shared version
    assert other_process.get([f"org:{org.id}"]) == (before + 1,)
    html, served = _get(client, queries, url)
    assert served > 0 and "Общий завод 2" in html
    kept.versions._redis.delete(*kept.versions._redis.keys(prefix + "*"))


def test_what_a_commit_invalidates(db, factories):
    from marketplace.core.models import AuditLog, OutboxEvent
    from marketplace.listings.models import ListingCode

    org = factories.organization()
    listing = factories.listing(organization=org)
    assert pagecache.scopes_of(org) == {"orgs", f"org:{org.id}"}
    assert pagecache.scopes_of(listing) == {"listings", f"listing:{listing.id}", f"org:{org.id}"}
    code = db.session.scalars(select(ListingCode).limit(1)).first() or ListingCode(
        listing_id=listing.id, scheme="okpd2", code="25.62", position=0)
    code.listing_id = listing.id
    assert pagecache.scopes_of(code) == {"listings", f"listing:{listing.id}", f"org:{org.id}"}
    assert pagecache.scopes_of(AuditLog(action="x", entity_type="listing", entity_id="1")) == set()
    assert pagecache.scopes_of(OutboxEvent(entity_type="listing", entity_id=1, op="upsert")) == set()
    drained = OutboxEvent(entity_type="listing", entity_id=1, op="upsert", processed_at=listing.created_at)
    assert pagecache.scopes_of(drained) == {"search"}
    from marketplace.tenders.models import Tender

    assert pagecache.scopes_of(Tender()) == {pagecache.SCOPE_ALL}  # no rule of its own: every kept page


def test_a_new_listing_with_its_codes_invalidates_its_own_pages_only(db, factories, kept):
    org = factories.organization()
    db.session.commit()
    scopes = [pagecache.SCOPE_ALL, "orgs", f"org:{org.id}", "listings"]
    before = kept.versions.get(scopes)
    factories.listing(organization=org, okpd2=["25.62.20"], okved2=["25.62"])  # one flush: listing and codes
    db.session.commit()
    after = kept.versions.get(scopes)
    assert after[:2] == before[:2] and after[2] > before[2] and after[3] > before[3]


def test_a_bulk_update_invalidates_every_kept_page(db, factories, kept):
    from sqlalchemy import update

    from marketplace.listings.models import Listing

    factories.listing()
    db.session.commit()
    before = kept.versions.get([pagecache.SCOPE_ALL])
    db.session.execute(update(Listing).where(Listing.id < 0).values(title="x"))
    db.session.commit()
    assert kept.versions.get([pagecache.SCOPE_ALL]) == (before[0] + 1,)

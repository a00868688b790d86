"""The acceptability rule's readings stored beside the listings: made by the match job, used by the next match, made
again when the listing changes; a page or an ad-hoc match stores nothing."""
from __future__ import annotations

import json

from sqlalchemy import delete, func, select

from marketplace.core.audit import record_outbox
from marketplace.indexing import services as indexing
from marketplace.matches import services
from marketplace.matches.models import ListingReading
from matching.acceptability import AcceptabilityRule


def _rows(db) -> dict[int, dict]:
    return dict(db.session.execute(select(ListingReading.listing_id, ListingReading.data)).all())


def test_a_match_job_stores_the_candidates_readings_and_a_changed_listing_is_read_again(app, db, market):
    rule = services.acceptability_rule()
    assert rule.fingerprint  # the platform's rule knows its code and reference files
    services.refresh_listing(market.need.id)
    db.session.commit()
    rows = _rows(db)
    lookup = services.DatabaseLookup()
    for offer in (market.khv, market.vvo, market.nsk):
        assert rows[offer.id]["key"] == rule.reading_key(lookup.spec(offer))
        assert rows[offer.id]["reading"]["operations"]  # turning, read once from the text
    assert services.ranked_matches(market.need).matches[0].offer_id == market.khv.id

    # the local shop now offers something else: its stored reading no longer fits and is not trusted
    market.khv.title, market.khv.description = "Порошковая окраска металлоконструкций", "Порошковая покраска"
    record_outbox("listing", market.khv.id, "upsert")
    db.session.commit()
    indexing.drain_outbox()
    old_key = rows[market.khv.id]["key"]
    services.refresh_listing(market.need.id)
    db.session.commit()
    fresh = _rows(db)[market.khv.id]
    spec = lookup.spec(market.khv)
    assert fresh["key"] != old_key and fresh["key"] == rule.reading_key(spec)
    plain = AcceptabilityRule(rule.catalogue, goods=rule.goods)  # no fingerprint: reads the text every time
    assert fresh["reading"] == json.loads(json.dumps(plain.read(spec).to_json(), ensure_ascii=False))
    assert fresh["reading"]["head"]["lemma"] == "окраска"


def test_stored_readings_are_used_as_they_are(app, db, market):
    """A row whose key fits is what the match reads: proven by a row that says something the text does not."""
    services.refresh_listing(market.need.id)
    db.session.commit()
    row = db.session.get(ListingReading, market.khv.id)
    row.data = {**row.data, "reading": {**row.data["reading"], "operations": ["coating.powder"]}}
    db.session.commit()
    rule = services.acceptability_rule()
    lookup = services.DatabaseLookup(rule=rule)
    spec = lookup.get_many([market.khv.id])[market.khv.id]
    assert spec.reading == row.data
    assert rule.read(spec).operations == ("coating.powder",)


def test_pages_and_ad_hoc_matches_store_nothing(app, db, market):
    db.session.execute(delete(ListingReading))
    db.session.commit()
    services.match_spec(services.ad_hoc_need("Токарная обработка валов", "27"))
    services.ranked_matches(market.need)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(ListingReading)) == 0

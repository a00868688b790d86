"""Notification e-mail through a REAL SMTP server (aiosmtpd on a free port): instant letters follow each user's
choice, the daily digest gathers the rest once a day, the RQ job retries a failed delivery; tender events become
notifications once."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from marketplace.accounts.models import Membership, MembershipRole
from marketplace.core.models import utcnow
from marketplace.deals import services as deals
from marketplace.notifications.digest import send_digests, tender_events
from marketplace.notifications.models import Notification
from marketplace.notifications.preferences import modes_for, set_modes
from marketplace.notifications.services import email_notification, notify


def text_of(raw: str) -> str:
    """The decoded subject and body of a received letter."""
    import email
    from email.header import decode_header, make_header

    message = email.message_from_bytes(raw.encode("utf-8"))
    return f"{make_header(decode_header(message['Subject']))}\n{message.get_payload(decode=True).decode()}"


@pytest.fixture
def smtp(app, smtp_server):
    url, inbox = smtp_server
    app.config["SMTP_URL"] = url
    yield inbox
    app.config["SMTP_URL"] = None


def test_instant_letter_goes_to_who_chose_it(db, factories, parties, smtp):
    p = parties
    quiet = factories.user(email_confirmed_at=utcnow())
    db.session.add(Membership(user=quiet, organization=p.supplier_org, role=MembershipRole.MEMBER))
    db.session.flush()
    set_modes(quiet, {"messages": "off"})
    request = deals.send_request(p.buyer_org, p.buyer, {"title": "Валы", "delivery_region": "27",
                                                         "text": "Просим цену"}, [deals.Target(p.supplier_org.id)])
    note = db.session.query(Notification).filter_by(organization_id=p.supplier_org.id, kind="deal_request").one()
    db.session.commit()
    assert email_notification(note.id) is True
    assert email_notification(note.id) is False  # sent once: the job is safe to repeat
    assert len(smtp.messages) == 1
    rcpt, content = smtp.messages[0]
    assert rcpt == [p.supplier.email]
    assert f"http://127.0.0.1:5000/deals/{request.conversations[0].id}" in text_of(content)
    assert "Запрос предложения: Валы" in text_of(content)


def test_daily_digest_once_a_day(app, db, parties, smtp):
    p = parties
    set_modes(p.buyer, {"matches": "daily"})
    for n in range(3):
        notify(p.buyer_org.id, "match_offer", f"Найдены поставщики: партия {n}", link=f"/listings/{n}")
    notify(p.buyer_org.id, "deal_offer", "Предложение по запросу")  # instant: not in the digest
    db.session.commit()
    now = datetime.now(UTC).replace(hour=23, minute=30)  # past the digest hour in any zone of Russia
    sent = send_digests(now)
    letters = [c for r, c in smtp.messages if r == [p.buyer.email]]
    assert sent >= 1 and len(letters) == 1
    text = text_of(letters[0])
    assert "сводка за день" in text and "(3)" in text and all(f"партия {n}" in text for n in range(3))
    assert "Предложение по запросу" not in text
    assert send_digests(now + timedelta(minutes=30)) == 0  # today's went out
    assert len([c for r, c in smtp.messages if r == [p.buyer.email]]) == 1


def test_bad_mode_names_the_field(db, parties):
    from marketplace.core.validation import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        set_modes(parties.buyer, {"matches": "hourly", "spam": "instant"})
    assert set(caught.value.as_dict()) == {"matches", "spam"}
    assert modes_for(parties.buyer)["matches"] == "instant"  # nothing saved


@pytest.mark.redis
def test_the_rq_job_retries_a_failed_delivery_then_delivers(app, db, parties, smtp_server, redis_url):
    import redis
    from rq import Queue, SimpleWorker
    from rq.job import Job

    from workers.queue import enqueue

    url, inbox = smtp_server
    p = parties
    note_id = notify(p.supplier_org.id, "deal_message", "Новое сообщение", link="/deals/1").id
    supplier_email = p.supplier.email
    db.session.commit()
    connection = redis.Redis.from_url(redis_url)
    queue = Queue("notifications", connection=connection)
    queue.empty()
    app.config.update(REDIS_URL=redis_url, SMTP_URL="smtp://127.0.0.1:1")  # nothing listens on port 1
    try:
        handle = enqueue("notifications.email", note_id)
        assert handle.status == "queued"
        SimpleWorker([queue], connection=connection).work(burst=True)
        job = Job.fetch(handle.id, connection=connection)
        assert job.retries_left == 4  # failed once, four more tries scheduled
        assert db.session.get(Notification, note_id).emailed_at is None
        app.config["SMTP_URL"] = url  # the server is back: the retry delivers
        queue.enqueue_job(job)
        SimpleWorker([queue], connection=connection).work(burst=True)
        assert Job.fetch(handle.id, connection=connection).get_status() == "finished"
    finally:
        app.config.update(REDIS_URL=None, SMTP_URL=None)
        queue.empty()
        connection.close()
    assert [r for r, _ in inbox.messages] == [[supplier_email]]


def test_tender_events_are_notified_once(db, factories):
    from marketplace.tenders.models import LotAward, ResponseStatus, Tender, TenderResponse, TenderStatus

    buyer = factories.organization(region="27")
    winner, loser = factories.organization(region="27"), factories.organization(region="25")
    tender = Tender(organization_id=buyer.id, title="Фланцы", status=TenderStatus.AWARDED)
    db.session.add(tender)
    db.session.flush()
    lot = factories.listing("tender_lot", organization=buyer, tender_id=tender.id, lot_number=1, title="Фланцы Ду100")
    responses = []
    for org in (winner, loser):
        response = TenderResponse(lot_id=lot.id, organization_id=org.id, price=Decimal(10), quantity=Decimal(4),
                                  lead_time_days=5, status=ResponseStatus.SUBMITTED)
        db.session.add(response)
        responses.append(response)
    db.session.flush()
    db.session.add(LotAward(lot_id=lot.id, tender_id=tender.id, response_id=responses[0].id,
                            supplier_organization_id=winner.id, amount=Decimal(40)))
    db.session.flush()
    first = tender_events()
    assert len(first) == 4 and tender_events() == []
    kinds = {(n.organization_id, n.kind) for n in db.session.query(Notification)}
    assert {(buyer.id, "tender_response"), (winner.id, "tender_award_won"), (loser.id, "tender_award_lost")} <= kinds


def test_chain_decisions_reach_the_requester_once(db, parties):
    from marketplace.chains.models import ChainRequest, ChainRequestStatus, ChainStatus, CooperationChain
    from marketplace.notifications.digest import chain_decisions

    p = parties
    row = ChainRequest(organization_id=p.buyer_org.id, item="Насосный агрегат", quantity=Decimal(1),
                       unit_weight_kg=Decimal(1), delivery_region="27", deadline_days=90, spec={"stages": []},
                       status=ChainRequestStatus.BUILT)
    db.session.add(row)
    db.session.flush()
    db.session.add(CooperationChain(request_id=row.id, rank=0, total_cost=1.0, lead_time_days=1.0, distance_km=1.0,
                                    result={}, status=ChainStatus.REJECTED, reason="дорого", decided_at=utcnow()))
    db.session.flush()
    assert len(chain_decisions()) == 1 and chain_decisions() == []
    note = db.session.query(Notification).filter_by(organization_id=p.buyer_org.id, kind="chain_rejected").one()
    assert note.title == "Цепочка отклонена: Насосный агрегат" and note.body == "дорого"


def test_a_sealed_response_is_notified_without_naming_its_supplier(db, factories):
    from datetime import UTC, datetime, timedelta

    from marketplace.tenders.models import ResponseStatus, Tender, TenderResponse, TenderStatus

    buyer = factories.organization(region="27")
    supplier = factories.organization(region="27", name="ООО «Тайный участник»")
    for deadline, named in ((datetime.now(UTC) + timedelta(days=3), False), (datetime.now(UTC) - timedelta(hours=1), True)):
        tender = Tender(organization_id=buyer.id, title="Втулки", status=TenderStatus.PUBLISHED,
                        submission_deadline=deadline)
        db.session.add(tender)
        db.session.flush()
        lot = factories.listing("tender_lot", organization=buyer, tender_id=tender.id, lot_number=1, title="Втулки")
        db.session.add(TenderResponse(lot_id=lot.id, organization_id=supplier.id, price=Decimal(10),
                                      quantity=Decimal(4), lead_time_days=5, status=ResponseStatus.SUBMITTED))
        db.session.flush()
        (note_id,) = tender_events()
        body = db.session.get(Notification, note_id).body
        assert ("Тайный участник" in body) is named, body

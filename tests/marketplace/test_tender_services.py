"""Tender services: the lifecycle and its errors, deadlines, responses and awards, visibility predicates."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from marketplace.accounts.models import UserRole
from marketplace.core.models import AuditLog, OutboxEvent, utcnow
from marketplace.core.validation import ValidationFailed
from marketplace.listings.models import ListingStatus
from marketplace.tenders import access, services
from marketplace.tenders.models import LotAward, ResponseStatus, TenderStatus
from marketplace.tenders.services import TenderStateError
from tests.fixtures.tenders import LOT, close_now, make_tender


def _audit(db, entity_type, entity_id):
    return [a.action for a in db.session.scalars(select(AuditLog).where(
        AuditLog.entity_type == entity_type, AuditLog.entity_id == str(entity_id)).order_by(AuditLog.id))]


def _outbox(db, lot_id):
    return db.session.scalars(select(OutboxEvent).where(OutboxEvent.entity_type == "listing",
                                                        OutboxEvent.entity_id == lot_id)).all()


def test_create_add_lot_and_publish(db, factories):
    world = make_tender(factories, publish=False)
    tender, lot = world.tender, world.lot
    assert tender.status == TenderStatus.DRAFT and lot.status == ListingStatus.DRAFT
    assert lot.lot_number == 1 and lot.okpd2_codes == ["25.62.20"] and lot.quantity == Decimal(100)
    assert lot.region_code == "27" and lot.ends_on.isoformat() == "2027-06-30" and lot.budget == Decimal(250000)
    assert lot.organization_id == world.buyer_org.id and lot.side.value == "need"
    services.publish_tender(tender, user=world.buyer)
    assert tender.status == TenderStatus.PUBLISHED and tender.published_at is not None
    assert lot.status == ListingStatus.ACTIVE
    assert _audit(db, "tender", tender.id) == ["create", "publish"]
    assert len(_outbox(db, lot.id)) == 2  # created, published
    assert _audit(db, "listing", lot.id) == ["create"]


def test_lot_fields_are_validated_all_at_once(db, factories):
    world = make_tender(factories, publish=False)
    with pytest.raises(ValidationFailed) as err:
        services.add_lot(world.tender, title="", okpd2="99.99.99", quantity="-1", unit="", region="00",
                         delivery_deadline="завтра")
    fields = err.value.as_dict()
    assert {"title", "okpd2", "quantity", "unit", "region", "delivery_deadline"} <= set(fields)
    assert len(world.tender.lots) == 1


def test_publish_needs_a_lot_and_a_future_deadline(db, factories):
    org = factories.organization(verified=True)
    tender = services.create_tender(org, title="Без лотов", submission_deadline=None)
    with pytest.raises(ValidationFailed) as err:
        services.publish_tender(tender)
    assert set(err.value.as_dict()) == {"lots", "submission_deadline"}
    services.update_tender(tender, submission_deadline=datetime.now(UTC) - timedelta(hours=1))
    services.add_lot(tender, **LOT)
    with pytest.raises(ValidationFailed) as err:
        services.publish_tender(tender)
    assert err.value.as_dict() == {"submission_deadline": ["срок подачи предложений должен быть в будущем"]}
    assert tender.status == TenderStatus.DRAFT


def test_closed_tender_needs_invitations_to_publish(db, factories):
    world = make_tender(factories, visibility="closed", publish=False)
    with pytest.raises(ValidationFailed) as err:
        services.publish_tender(world.tender)
    assert "invited_organizations" in err.value.as_dict()


def test_naive_deadline_is_read_in_the_buyers_region_time(db, factories):
    org = factories.organization(verified=True, region="27")  # UTC+10
    tender = services.create_tender(org, title="Т", submission_deadline="2030-01-10T18:00")
    assert services.as_utc(tender.submission_deadline) == datetime(2030, 1, 10, 8, 0, tzinfo=UTC)
    tender = services.create_tender(org, title="Т", submission_deadline="10.01.2030")
    assert services.as_utc(tender.submission_deadline) == datetime(2030, 1, 10, 13, 59, tzinfo=UTC)


def test_published_tender_cannot_be_edited_or_get_lots(db, factories):
    world = make_tender(factories)
    with pytest.raises(TenderStateError):
        services.update_tender(world.tender, title="Новое")
    with pytest.raises(TenderStateError):
        services.add_lot(world.tender, **LOT)
    with pytest.raises(TenderStateError):
        services.remove_lot(world.lot)
    with pytest.raises(TenderStateError):
        services.publish_tender(world.tender)


def test_remove_lot_of_a_draft(db, factories):
    world = make_tender(factories, publish=False, lots=2)
    lot_id = world.lot.id
    services.remove_lot(world.lot)
    assert [lot.lot_number for lot in world.tender.lots] == [2]
    assert [e.op for e in _outbox(db, lot_id)] == ["upsert", "delete"]


def test_response_one_per_lot_and_organization_and_editable(db, factories):
    world = make_tender(factories)
    supplier = factories.organization(verified=True, region="25")
    response = services.submit_response(world.lot, supplier, price="1 200,50", quantity="100", lead_time_days="30",
                                        comment="Бронза БрО10Ф1")
    assert response.price == Decimal("1200.50") and response.total == Decimal("120050.00")
    with pytest.raises(ValidationFailed) as err:
        services.submit_response(world.lot, supplier, price="1000", quantity="100", lead_time_days="30")
    assert "organization" in err.value.as_dict()
    services.update_response(response, price="1100", quantity="100", lead_time_days="25")
    assert response.price == Decimal(1100) and response.lead_time_days == 25
    assert _audit(db, "tender_response", response.id) == ["create", "update"]


def test_response_values_are_validated(db, factories):
    world = make_tender(factories)
    with pytest.raises(ValidationFailed) as err:
        services.submit_response(world.lot, factories.organization(verified=True), price="0", quantity="", lead_time_days="x")
    assert set(err.value.as_dict()) == {"price", "quantity", "lead_time_days"}


def test_buyer_cannot_respond_to_own_tender(db, factories):
    world = make_tender(factories)
    with pytest.raises(ValidationFailed) as err:
        services.submit_response(world.lot, world.buyer_org, price="1", quantity="1", lead_time_days="1")
    assert err.value.as_dict() == {"organization": ["нельзя отвечать на собственный тендер"]}


def test_no_responses_to_a_draft_or_after_the_deadline(db, factories):
    world = make_tender(factories, publish=False)
    supplier = factories.organization(verified=True)
    with pytest.raises(TenderStateError):
        services.submit_response(world.lot, supplier, price="1", quantity="1", lead_time_days="1")
    services.publish_tender(world.tender)
    response = services.submit_response(world.lot, supplier, price="10", quantity="1", lead_time_days="1")
    later = datetime.now(UTC) + timedelta(days=11)  # the deadline is in 10 days
    with pytest.raises(TenderStateError) as err:
        services.submit_response(world.lot, factories.organization(verified=True), price="1", quantity="1", lead_time_days="1",
                                 now=later)
    assert "срок подачи предложений истёк" in str(err.value)
    with pytest.raises(TenderStateError):
        services.update_response(response, price="9", quantity="1", lead_time_days="1", now=later)
    assert response.price == Decimal(10)


def test_closed_tender_accepts_only_invited_and_community_members(db, factories):
    from marketplace.communities import services as communities

    invited = factories.organization(verified=True, region="27")
    member = factories.organization(verified=True, region="25")
    stranger = factories.organization(verified=True, region="27")
    buyer_org = factories.organization(verified=True, region="27")
    community = communities.create_community(buyer_org, name="Кластер", kind="cluster", access="closed")
    communities.join_community(community, member)
    world = make_tender(factories, visibility="closed", invited=[invited], community_id=community.id,
                        buyer_org=buyer_org)
    services.submit_response(world.lot, invited, price="5", quantity="1", lead_time_days="3")
    with pytest.raises(ValidationFailed):  # asked to join, not approved yet
        services.submit_response(world.lot, member, price="5", quantity="1", lead_time_days="3")
    communities.approve_member(community, member)
    services.submit_response(world.lot, member, price="5", quantity="1", lead_time_days="3")
    with pytest.raises(ValidationFailed) as err:
        services.submit_response(world.lot, stranger, price="5", quantity="1", lead_time_days="3")
    assert err.value.as_dict() == {"organization": ["организация не приглашена к участию"]}


def test_close_expired_closes_only_past_deadlines(db, factories):
    past = make_tender(factories)
    running = make_tender(factories)
    past.tender.submission_deadline = datetime.now(UTC) - timedelta(minutes=5)
    db.session.flush()
    closed = services.close_expired_tenders()
    assert past.tender.id in closed and running.tender.id not in closed
    assert past.tender.status == TenderStatus.CLOSED and past.lot.status == ListingStatus.CLOSED
    assert running.tender.status == TenderStatus.PUBLISHED
    assert services.close_expired_tenders() == []  # safe to repeat
    assert _audit(db, "tender", past.tender.id)[-1] == "close"


def test_close_expired_job(app, db, factories):
    from workers.queue import enqueue

    world = make_tender(factories)
    world.tender.submission_deadline = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    handle = enqueue("tenders.close_expired")
    assert handle.status == "finished" and handle.result >= 1
    db.session.refresh(world.tender)
    assert world.tender.status == TenderStatus.CLOSED


def test_close_before_the_deadline_is_refused(db, factories):
    world = make_tender(factories)
    with pytest.raises(TenderStateError):
        services.close_tender(world.tender)


def test_award_after_the_deadline_and_tender_becomes_awarded(db, factories):
    world = make_tender(factories, lots=2)
    second = world.tender.lots[1]
    cheap = services.submit_response(world.lot, factories.organization(verified=True, region="27"), price="900", quantity="100",
                                      lead_time_days="40")
    dear = services.submit_response(world.lot, factories.organization(verified=True, region="25"), price="1000", quantity="100",
                                    lead_time_days="20")
    with pytest.raises(TenderStateError):  # before the deadline
        services.award_lot(world.lot, cheap, user=world.buyer)
    close_now(world.tender)
    assert services.lot_responses(world.lot) == [cheap, dear]
    with pytest.raises(ValidationFailed):
        services.award_lot(second, cheap, user=world.buyer)  # a response of another lot
    award = services.award_lot(world.lot, dear, user=world.buyer)
    assert award.amount == Decimal(100000) and award.supplier_organization_id == dear.organization_id
    assert dear.status == ResponseStatus.AWARDED and cheap.status == ResponseStatus.NOT_AWARDED
    assert world.tender.status == TenderStatus.CLOSED  # one lot is still open
    with pytest.raises(TenderStateError):
        services.award_lot(world.lot, cheap)  # already decided
    with pytest.raises(ValidationFailed) as err:
        services.close_lot_without_award(second, reason="")
    assert "reason" in err.value.as_dict()
    services.close_lot_without_award(second, reason="Нет подходящих предложений", user=world.buyer)
    assert world.tender.status == TenderStatus.AWARDED and world.tender.awarded_at is not None
    assert [a.lot_id for a in services.awarded_lots() if a.tender_id == world.tender.id] == [world.lot.id]
    assert _audit(db, "listing", world.lot.id)[-1] == "award"
    assert _audit(db, "tender", world.tender.id)[-1] == "award"
    assert _outbox(db, world.lot.id)[-1].op == "upsert"


def test_award_closes_a_tender_whose_deadline_passed_before_the_job(db, factories):
    world = make_tender(factories)
    response = services.submit_response(world.lot, factories.organization(verified=True), price="1", quantity="1",
                                        lead_time_days="1")
    world.tender.submission_deadline = datetime.now(UTC) - timedelta(minutes=1)
    services.award_lot(world.lot, response)
    assert world.tender.status == TenderStatus.AWARDED
    assert db.session.get(LotAward, world.lot.id).response_id == response.id


def test_cancel(db, factories):
    world = make_tender(factories)
    with pytest.raises(ValidationFailed):
        services.cancel_tender(world.tender, reason=" ")
    services.cancel_tender(world.tender, reason="Потребность отпала", user=world.buyer)
    assert world.tender.status == TenderStatus.CANCELLED and world.lot.status == ListingStatus.CLOSED
    with pytest.raises(TenderStateError):
        services.cancel_tender(world.tender, reason="ещё раз")
    with pytest.raises(TenderStateError):
        services.submit_response(world.lot, factories.organization(verified=True), price="1", quantity="1", lead_time_days="1")


def test_visibility_predicates(db, factories):
    invited = factories.organization(verified=True)
    world = make_tender(factories, visibility="closed", invited=[invited])
    invited_user = factories.user(email_confirmed_at=utcnow(), organization=invited)
    stranger = factories.user(email_confirmed_at=utcnow(), organization=factories.organization(verified=True))
    admin = factories.user(email_confirmed_at=utcnow(), role=UserRole.ADMIN)
    coordinator = factories.user(email_confirmed_at=utcnow(), role=UserRole.COORDINATOR, regions=["27"])
    assert access.can_view_tender(world.buyer, world.tender)
    assert access.can_view_tender(invited_user, world.tender)
    assert access.can_view_tender(admin, world.tender)
    assert not access.can_view_tender(stranger, world.tender)
    assert not access.can_view_tender(coordinator, world.tender)
    assert not access.can_view_tender(None, world.tender)
    assert not access.can_view_lot(stranger, world.lot)
    visible = set(db.session.scalars(access.visible_tenders_query(stranger)))
    assert world.tender not in visible
    assert world.tender in set(db.session.scalars(access.visible_tenders_query(invited_user)))
    response = services.submit_response(world.lot, invited, price="1", quantity="1", lead_time_days="1")
    assert access.can_view_response(invited_user, response)
    assert not access.can_view_response(world.buyer, response)  # sealed until the deadline
    assert access.can_view_response(world.buyer, response, now=world.tender.submission_deadline)
    other = factories.user(email_confirmed_at=utcnow(), organization=factories.organization(verified=True))
    assert not access.can_view_response(other, response)


def test_draft_is_visible_only_to_the_buyer(db, factories):
    world = make_tender(factories, publish=False)
    anyone = factories.user(email_confirmed_at=utcnow(), organization=factories.organization(verified=True))
    assert not access.can_view_tender(anyone, world.tender)
    assert world.tender not in set(db.session.scalars(access.visible_tenders_query(anyone)))
    assert world.tender in set(db.session.scalars(access.visible_tenders_query(world.buyer)))
    assert access.can_view_tender(world.buyer, world.tender)
    assert services.accepting_responses(world.tender) is False

"""Requests for quotation as services: one conversation per supplier, the status path sent → answered → offer →
accepted (a deal) or declined, state errors, field-named validation with nothing saved, notifications, audit."""
from datetime import date, timedelta

import pytest

from marketplace.core.models import AuditLog
from marketplace.core.validation import ValidationFailed
from marketplace.deals import services
from marketplace.deals.access import can_view_conversation, conversation_role
from marketplace.deals.models import Conversation, ConversationStatus, Deal, QuoteRequest
from marketplace.matches.models import MatchStatus
from marketplace.notifications.models import Notification

REQUEST = {"title": "Валы по чертежу", "quantity": "200", "unit": "шт", "delivery_region": "27",
           "deadline": (date.today() + timedelta(days=30)).isoformat(), "text": "Просим цену и срок"}


def _send(p, *targets):
    return services.send_request(p.buyer_org, p.buyer, REQUEST, list(targets) or [
        services.Target(p.supplier_org.id, p.offer.id, p.match.id)], source="match", need=p.need)


def test_a_request_to_two_suppliers_makes_two_conversations_and_marks_the_match(db, parties):
    p = parties
    req = _send(p, services.Target(p.supplier_org.id, p.offer.id, p.match.id),
                services.Target(p.other_org.id, p.other_offer.id, p.other_match.id))
    assert [c.supplier_organization_id for c in req.conversations] == [p.supplier_org.id, p.other_org.id]
    assert all(c.status == ConversationStatus.SENT and c.messages[0].body == "Просим цену и срок"
               for c in req.conversations)
    assert p.match.status == MatchStatus.CONTACTED
    notes = db.session.query(Notification).filter_by(kind="deal_request").all()
    assert sorted(n.organization_id for n in notes) == sorted([p.supplier_org.id, p.other_org.id])
    assert db.session.query(AuditLog).filter_by(action="deal.request", entity_id=str(req.id)).count() == 1


def test_the_whole_path_to_a_deal(db, parties):
    p = parties
    conversation = _send(p).conversations[0]
    services.post_message(conversation, p.supplier, "Уточните марку стали")
    assert conversation.status == ConversationStatus.ANSWERED
    services.post_message(conversation, p.buyer, "Сталь 40Х")
    offer = services.make_offer(conversation, p.supplier, {"price": "450 000,50", "lead_time_days": "21"})
    assert conversation.status == ConversationStatus.OFFER and str(offer.price) == "450000.50"
    deal = services.accept_offer(conversation, p.buyer, offer_message_id=offer.id)
    assert conversation.status == ConversationStatus.ACCEPTED
    assert (deal.amount, deal.supplier_organization_id, deal.delivery_region_code) == (offer.price, p.supplier_org.id,
                                                                                       "27")
    kinds = {n.kind for n in db.session.query(Notification).filter_by(organization_id=p.supplier_org.id)}
    assert {"deal_request", "deal_message", "deal_accepted"} <= kinds
    assert db.session.query(Notification).filter_by(organization_id=p.buyer_org.id, kind="deal_offer").count() == 1
    with pytest.raises(services.ConversationStateError):
        services.post_message(conversation, p.supplier, "ещё")


def test_only_the_supplier_offers_and_only_the_buyer_accepts(db, parties):
    p = parties
    conversation = _send(p).conversations[0]
    with pytest.raises(services.ConversationStateError):
        services.make_offer(conversation, p.buyer, {"price": "1"})
    with pytest.raises(services.ConversationStateError):
        services.accept_offer(conversation, p.buyer)  # no offer yet
    first = services.make_offer(conversation, p.supplier, {"price": "100"})
    with pytest.raises(services.ConversationStateError):
        services.accept_offer(conversation, p.supplier)
    services.make_offer(conversation, p.supplier, {"price": "90"})
    with pytest.raises(services.ConversationStateError):  # the offer was replaced meanwhile
        services.accept_offer(conversation, p.buyer, offer_message_id=first.id)
    services.decline(conversation, p.buyer, "дорого")
    assert conversation.status == ConversationStatus.DECLINED
    assert db.session.query(Deal).count() == 0


def test_bad_request_names_every_field_and_saves_nothing(db, parties):
    p = parties
    bad = {"title": "", "quantity": "-3", "delivery_region": "99", "deadline": "2001-01-01", "text": ""}
    with pytest.raises(ValidationFailed) as caught:
        services.send_request(p.buyer_org, p.buyer, bad, [services.Target(p.buyer_org.id)])
    fields = set(caught.value.as_dict())
    assert {"title", "quantity", "delivery_region", "deadline", "text", "suppliers"} <= fields
    assert db.session.query(QuoteRequest).count() == 0 and db.session.query(Conversation).count() == 0
    conversation = _send(p).conversations[0]
    with pytest.raises(ValidationFailed) as caught:
        services.make_offer(conversation, p.supplier, {"price": "0", "lead_time_days": "abc"})
    assert set(caught.value.as_dict()) == {"price", "lead_time_days"}


def test_who_sees_a_conversation(db, factories, parties):
    from marketplace.accounts.models import UserRole
    from marketplace.listings.models import ListingStatus

    p = parties
    conversation = _send(p).conversations[0]
    coordinator = factories.user(role=UserRole.COORDINATOR, regions=["27"])
    far_coordinator = factories.user(role=UserRole.COORDINATOR, regions=["25"])
    assert conversation_role(p.buyer, conversation) == "buyer"
    assert conversation_role(p.supplier, conversation) == "supplier"
    assert conversation_role(coordinator, conversation) == "coordinator"  # the need is public
    assert not can_view_conversation(far_coordinator, conversation)
    assert not can_view_conversation(p.other_supplier, conversation)
    assert not can_view_conversation(None, conversation)
    p.need.status = ListingStatus.DRAFT  # no longer public: the coordinator no longer reads it
    assert not can_view_conversation(coordinator, conversation)

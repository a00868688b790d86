"""The pages of a request for quotation: the form from a match (the need's other suppliers offered too), the
conversation with its offer and acceptance, 404 for strangers, CSRF on every form, errors named and input kept."""
import re
from datetime import date, timedelta

import pytest

from marketplace.deals.models import Conversation, ConversationStatus, Deal
from tests.web.conftest import login, page_text, submit

DEADLINE = (date.today() + timedelta(days=30)).isoformat()


def _target(html: str, org_id: int) -> str:
    found = re.search(rf'name="target"[^>]*value="({org_id}:\d+:\d+)"', html)
    assert found, f"supplier {org_id} not offered"
    return found.group(1)


def _request(client, p, targets=None):
    url = f"/deals/new?match={p.match.id}"
    html = page_text(client.get(url))
    data = {"title": "Валы по чертежу", "quantity": "200", "unit": "шт", "deadline": DEADLINE,
            "delivery_region": "27", "text": "Просим цену и срок",
            "target": targets if targets is not None else [_target(html, p.supplier_org.id)]}
    return submit(client, url, data)


def test_buyer_requests_from_a_match_supplier_offers_buyer_accepts(client, db, parties):
    p = parties
    login(client, p.buyer)
    html = page_text(client.get(f"/deals/new?match={p.match.id}"))
    assert "Токарная обработка валов" in html and p.other_org.name in html  # the need's other match is offered
    response = _request(client, p)
    assert response.status_code == 302
    conversation = db.session.query(Conversation).one()
    url = f"/deals/{conversation.id}"
    assert response.headers["Location"].endswith(url)

    login(client, p.supplier)
    assert "Просим цену и срок" in page_text(client.get(url))
    assert client.post(f"{url}/offer", data={"offer.price": "450000"}).status_code == 400  # no CSRF token
    response = submit(client, url, {"offer.price": "450000", "offer.lead_time_days": "21", "offer.body": "Сталь 40Х"},
                      action=f"{url}/offer")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Conversation, conversation.id).status == ConversationStatus.OFFER

    login(client, p.buyer)
    html = page_text(client.get(url))
    assert "450" in html and "accept-offer" in html
    offer_id = re.search(r'name="offer_message_id" value="(\d+)"', html).group(1)
    response = submit(client, url, {"offer_message_id": offer_id}, action=f"{url}/accept")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Conversation, conversation.id).status == ConversationStatus.ACCEPTED
    assert db.session.query(Deal).count() == 1
    # The match row on the need's page follows the conversation.
    html = page_text(client.get(f"/listings/{p.need.id}/matches"))
    assert "предложение принято" in html

    login(client, p.supplier)
    html = page_text(client.get("/notifications/"))
    assert "Ваше предложение принято" in html and "unread-count" in html


def test_errors_name_the_fields_and_keep_the_input(client, db, parties):
    p = parties
    login(client, p.buyer)
    url = f"/deals/new?match={p.match.id}"
    response = submit(client, url, {"title": "Валы", "quantity": "много", "delivery_region": "27", "text": "",
                                    "target": []})
    assert response.status_code == 422
    html = page_text(response)
    for field in ("quantity", "text", "suppliers"):
        assert f'data-field="{field}"' in html
    assert 'value="много"' in html
    assert db.session.query(Conversation).count() == 0
    # A supplier that is not among the offered candidates cannot be slipped into the form.
    response = submit(client, url, {"title": "Валы", "delivery_region": "27", "text": "x",
                                    "target": [f"{p.buyer_org.id}:0:0"]})
    assert response.status_code == 422 and db.session.query(Conversation).count() == 0


def test_another_organizations_conversation_is_a_404(client, db, factories, parties):
    p = parties
    login(client, p.buyer)
    _request(client, p)
    conversation = db.session.query(Conversation).one()
    login(client, p.other_supplier)
    assert client.get(f"/deals/{conversation.id}").status_code == 404
    assert p.supplier_org.name not in page_text(client.get("/deals/"))
    login(client, factories.user(organization=factories.organization()))
    for path in (f"/deals/{conversation.id}", f"/deals/{2**31 - 1}"):
        assert client.get(path).status_code == 404
    # Another organization's match cannot start a request.
    assert client.get(f"/deals/new?match={p.match.id}").status_code == 404


def test_request_from_a_listing_and_a_producer_page(client, db, parties):
    p = parties
    login(client, p.buyer)
    html = page_text(client.get(f"/listings/{p.offer.id}"))
    assert f"/deals/new?offer={p.offer.id}" in html
    html = page_text(client.get(f"/producers/{p.supplier_org.id}"))
    assert f"/deals/new?organization={p.supplier_org.id}" in html
    url = f"/deals/new?organization={p.supplier_org.id}"
    response = submit(client, url, {"title": "Втулки", "delivery_region": "27", "text": "Нужны втулки",
                                    "target": [f"{p.supplier_org.id}:0:0"]})
    assert response.status_code == 302
    assert db.session.query(Conversation).one().request.source.value == "producer"


def test_request_from_a_chain_stage(client, db, parties):
    from decimal import Decimal

    from marketplace.chains.models import ChainRequest, ChainRequestStatus, CooperationChain

    p = parties
    row = ChainRequest(organization_id=p.buyer_org.id, created_by_id=p.buyer.id, item="Вал насоса",
                       quantity=Decimal(10), unit_weight_kg=Decimal(5), delivery_region="27", deadline_days=60,
                       spec={"stages": [{"id": "turning", "text": "Токарная обработка"}]},
                       status=ChainRequestStatus.BUILT)
    db.session.add(row)
    db.session.flush()
    chain = CooperationChain(request_id=row.id, rank=0, total_cost=1.0, lead_time_days=10.0, distance_km=5.0,
                             result={"assignments": [{"stage": "turning", "listing_id": p.offer.id,
                                                      "organization_id": p.supplier_org.id}]})
    db.session.add(chain)
    db.session.flush()
    login(client, p.buyer)
    url = f"/deals/new?chain={chain.id}&stage=turning"
    html = page_text(client.get(url))
    assert "Вал насоса: Токарная обработка" in html
    response = submit(client, url, {"title": "Вал насоса: Токарная обработка", "delivery_region": "27",
                                    "text": "Просим цену", "target": [f"{p.supplier_org.id}:{p.offer.id}:0"]})
    assert response.status_code == 302
    conversation = db.session.query(Conversation).one()
    assert (conversation.request.source.value, conversation.request.chain_stage) == ("chain", "turning")
    assert client.get(f"/deals/new?chain={chain.id}&stage=painting").status_code == 404
    login(client, p.other_supplier)  # not the requesting organization
    assert client.get(url).status_code == 404


def test_a_drawing_on_the_request_is_served_only_to_the_two_organizations(client, db, factories, parties):
    import io

    from marketplace.documents.models import Document

    p = parties
    login(client, p.buyer)
    url = f"/deals/new?offer={p.offer.id}"
    data = {"title": "Валы", "delivery_region": "27", "text": "По чертежу", "target": [f"{p.supplier_org.id}:{p.offer.id}:0"],
            "files": (io.BytesIO(b"0\nSECTION\n2\nHEADER\n0\nENDSEC\n0\nEOF\n"), "вал.dxf")}
    response = submit(client, url, data)
    assert response.status_code == 302, page_text(response)
    document = db.session.query(Document).one()
    assert document.owner_kind == "conversation_message" and document.file_type == "dxf"
    login(client, p.supplier)
    download = client.get(f"/documents/{document.id}")
    assert download.status_code == 200 and download.get_data().startswith(b"0\nSECTION")
    download.close()
    login(client, p.other_supplier)
    assert client.get(f"/documents/{document.id}").status_code == 404
    # A file whose content is not what its name says is refused by field, and nothing is saved.
    login(client, p.buyer)
    bad = {**data, "files": (io.BytesIO(b"not a drawing"), "вал.dxf")}
    response = submit(client, url, bad)
    assert response.status_code == 422 and 'data-field="files"' in page_text(response)
    assert db.session.query(Conversation).count() == 1 and db.session.query(Document).count() == 1


@pytest.mark.parametrize(("role", "status"), [
    ("anonymous", 302), ("buyer", 200), ("supplier", 200), ("other_supplier", 404), ("coordinator_27", 200),
    ("coordinator_25", 404), ("admin", 200), ("stranger", 404)])
def test_conversation_page_by_role(client, db, factories, parties, role, status):
    from marketplace.accounts.models import UserRole
    from marketplace.deals import services

    p = parties
    conversation = services.send_request(p.buyer_org, p.buyer, {"title": "Валы", "delivery_region": "27",
                                                                 "text": "Просим цену"},
                                         [services.Target(p.supplier_org.id, p.offer.id)], need=p.need).conversations[0]
    users = {"anonymous": None, "buyer": p.buyer, "supplier": p.supplier, "other_supplier": p.other_supplier,
             "coordinator_27": factories.user(role=UserRole.COORDINATOR, regions=["27"]),
             "coordinator_25": factories.user(role=UserRole.COORDINATOR, regions=["25"]),
             "admin": factories.user(role=UserRole.ADMIN),
             "stranger": factories.user(organization=factories.organization())}
    login(client, users[role])
    response = client.get(f"/deals/{conversation.id}")
    assert response.status_code == status
    if role == "coordinator_27":
        html = page_text(response)
        assert "read-only" in html and "offer-form" not in html and "message-form" not in html
    listed = page_text(client.get("/deals/")) if users[role] is not None else ""
    assert (f'data-conversation-id="{conversation.id}"' in listed) is (status == 200)

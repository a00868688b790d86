"""Document pages: upload from the owner's page (CSRF), the refusal shown by name, download only to those who may
see the owner (another organization's private file by id → 404), removal, the form's way back stays on the site."""
from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from marketplace.documents import services as documents
from marketplace.documents.models import Document
from marketplace.listings.models import ListingKind, ListingStatus
from marketplace.tenders import services as tenders
from tests.documents import files
from tests.documents.conftest import stored_files, upload
from tests.fixtures.tenders import csrf_token, login, make_tender


def _status(client, url):
    """GET ``url`` and close the response (a download streams the stored file)."""
    got = client.get(url)
    got.close()
    return got.status_code


def _upload(client, kind, owner_id, data, name, back="/"):
    return client.post(f"/documents/{kind}/{owner_id}", content_type="multipart/form-data",
                       data={"csrf_token": csrf_token(client), "next": back, "file": (io.BytesIO(data), name)})


def test_owner_attaches_a_drawing_on_the_listing_page_and_anyone_who_sees_it_downloads(client, db, factories,
                                                                                      confirmed):
    org = factories.organization()
    owner = confirmed(organization=org)
    need = factories.listing(ListingKind.PURCHASE_REQUEST, organization=org, title="Валы по чертежу")
    login(client, owner)
    page = client.get(f"/listings/{need.id}").get_data(as_text=True)
    assert f'action="/documents/listing/{need.id}"' in page and 'enctype="multipart/form-data"' in page
    done = _upload(client, "listing", need.id, files.DXF, "вал-40Х.dxf", back=f"/listings/{need.id}")
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/listings/{need.id}")
    doc = db.session.query(Document).filter_by(owner_kind="listing", owner_id=need.id).one()
    page = client.get(f"/listings/{need.id}").get_data(as_text=True)
    assert "Файл «вал-40Х.dxf» прикреплён." in page and f'href="/documents/{doc.id}"' in page

    login(client, None)
    with client.get(f"/documents/{doc.id}") as got:
        assert got.status_code == 200 and got.data == files.DXF
        assert "attachment" in got.headers["Content-Disposition"]
        assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert 'action="/documents/' not in client.get(f"/listings/{need.id}").get_data(as_text=True)


def test_a_refused_type_is_named_and_nothing_is_stored(app, client, db, factories, confirmed):
    org = factories.organization()
    need = factories.listing(ListingKind.PURCHASE_REQUEST, organization=org)
    login(client, confirmed(organization=org))
    before = stored_files(app)
    done = _upload(client, "listing", need.id, files.EXE, "чертёж.pdf", back=f"/listings/{need.id}")
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Файл: файл «чертёж.pdf» назван как PDF, но содержимое не распознано" in page
    assert stored_files(app) == before and documents.list_for("listing", need.id) == []
    # Without the CSRF token nothing is stored either.
    bare = client.post(f"/documents/listing/{need.id}", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(files.PDF), "a.pdf")})
    assert bare.status_code == 400 and documents.list_for("listing", need.id) == []


def test_another_organizations_private_file_is_a_404(client, db, factories, confirmed):
    org, other = factories.organization(), factories.organization()
    owner, stranger = confirmed(organization=org), confirmed(organization=other)
    draft = factories.listing(ListingKind.PURCHASE_REQUEST, organization=org, status=ListingStatus.DRAFT)
    doc = documents.attach("listing", draft.id, upload(files.PDF, "смета.pdf"), owner)
    for visitor in (stranger, None):
        login(client, visitor)
        assert _status(client, f"/documents/{doc.id}") == 404
        assert _status(client, f"/documents/{doc.id + 100000}") == 404
    login(client, stranger)
    assert client.post(f"/documents/{doc.id}/delete", data={"csrf_token": csrf_token(client)}).status_code == 404
    assert _upload(client, "listing", draft.id, files.PDF, "x.pdf").status_code == 404
    assert _upload(client, "nonsense", draft.id, files.PDF, "x.pdf").status_code == 404
    login(client, owner)
    assert _status(client, f"/documents/{doc.id}") == 200


def test_certificates_on_the_organization_page(client, db, factories, confirmed):
    org = factories.organization(name="ООО «Литейщик»")
    login(client, confirmed(organization=org))
    page = client.get(f"/organizations/{org.id}").get_data(as_text=True)
    assert f'action="/documents/organization/{org.id}"' in page
    _upload(client, "organization", org.id, files.PDF, "ISO 9001.pdf", back=f"/organizations/{org.id}")
    doc = db.session.query(Document).filter_by(owner_kind="organization", owner_id=org.id).one()
    login(client, None)
    public = client.get(f"/producers/{org.id}").get_data(as_text=True)
    assert f'href="/documents/{doc.id}"' in public and "ISO 9001.pdf" in public
    assert _status(client, f"/documents/{doc.id}") == 200  # certificates are public with the profile


def test_removal_and_the_way_back_stays_on_the_site(client, db, factories, confirmed):
    org = factories.organization()
    owner = confirmed(organization=org)
    need = factories.listing(ListingKind.PURCHASE_REQUEST, organization=org)
    doc = documents.attach("listing", need.id, upload(files.PNG, "фото.png"), owner)
    login(client, owner)
    gone = client.post(f"/documents/{doc.id}/delete",
                       data={"csrf_token": csrf_token(client), "next": "https://evil.example/steal"})
    assert gone.status_code == 302 and "evil.example" not in gone.headers["Location"]
    assert documents.list_for("listing", need.id) == []


def test_response_files_are_sealed_like_the_response(client, db, factories, confirmed):
    world = make_tender(factories)
    supplier_org = factories.organization(verified=True, region="25")
    rival_org = factories.organization(verified=True)
    supplier, rival = confirmed(organization=supplier_org), confirmed(organization=rival_org)
    response = tenders.submit_response(world.lot, supplier_org, price="100", quantity="100", lead_time_days="10",
                                       user=supplier)
    login(client, supplier)
    page = client.get(f"/tenders/responses/{response.id}").get_data(as_text=True)
    assert f'action="/documents/tender_response/{response.id}"' in page
    _upload(client, "tender_response", response.id, files.xlsx(), "КП.xlsx")
    doc = db.session.query(Document).filter_by(owner_kind="tender_response", owner_id=response.id).one()
    assert _status(client, f"/documents/{doc.id}") == 200
    for visitor in (world.buyer, rival, None):  # sealed: the buyer too
        login(client, visitor)
        assert _status(client, f"/documents/{doc.id}") == 404
    world.tender.submission_deadline = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    login(client, world.buyer)
    assert _status(client, f"/documents/{doc.id}") == 200
    page = client.get(f"/tenders/{world.tender.id}/lots/{world.lot.id}/responses").get_data(as_text=True)
    assert f'href="/documents/{doc.id}"' in page
    login(client, rival)
    assert _status(client, f"/documents/{doc.id}") == 404
    login(client, supplier)  # after the deadline the offer's files are not changed
    assert _upload(client, "tender_response", response.id, files.PDF, "поздно.pdf").status_code == 302
    assert len(documents.list_for("tender_response", response.id)) == 1


def test_closed_tender_lot_documents_are_the_invited_only(client, db, factories, confirmed):
    invited_org = factories.organization(verified=True)
    world = make_tender(factories, visibility="closed", invited=[invited_org])
    doc = documents.attach("listing", world.lot.id, upload(files.PDF, "ТЗ.pdf"), world.buyer)
    login(client, world.buyer)
    page = client.get(f"/tenders/{world.tender.id}").get_data(as_text=True)
    assert f'href="/documents/{doc.id}"' in page and f'action="/documents/listing/{world.lot.id}"' in page
    login(client, confirmed(organization=invited_org))
    assert _status(client, f"/documents/{doc.id}") == 200
    for visitor in (confirmed(organization=factories.organization()), None):
        login(client, visitor)
        assert _status(client, f"/documents/{doc.id}") == 404

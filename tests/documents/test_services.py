"""documents.services: content checks, limits, the owner's rules, and files that never outlive a failed save."""
from __future__ import annotations

import io

import pytest

from marketplace.core.models import AuditLog
from marketplace.core.validation import ValidationFailed
from marketplace.documents import services as documents
from marketplace.documents.content import detect
from marketplace.listings.models import ListingKind, ListingStatus
from tests.documents import files
from tests.documents.conftest import stored_files, upload


@pytest.mark.parametrize(("data", "name", "kind"), [
    (files.PDF, "ТЗ.pdf", "pdf"), (files.PNG, "фото.png", "png"), (files.JPEG, "скан.JPG", "jpeg"),
    (files.DWG, "вал.dwg", "dwg"), (files.DXF, "фланец.dxf", "dxf"), (files.STEP, "корпус.stp", "step"),
    (files.xlsx(), "спецификация.xlsx", "xlsx"), (files.docx(), "договор.docx", "docx"),
])
def test_each_accepted_type_is_read_from_the_content(db, factories, confirmed, data, name, kind):
    org = factories.organization()
    user = confirmed(organization=org)
    need = factories.listing(ListingKind.PURCHASE_REQUEST, organization=org)
    doc = documents.attach("listing", need.id, upload(data, name), user)
    assert (doc.file_type, doc.filename, doc.size) == (kind, name, len(data))
    with documents.open(doc) as stream:
        assert stream.read() == data
    assert documents.list_for("listing", need.id) == [doc]
    audit = db.session.query(AuditLog).filter_by(entity_type="document", entity_id=str(doc.id)).one()
    assert audit.action == "attach" and audit.user_id == user.id


@pytest.mark.parametrize(("data", "name", "says"), [
    (files.EXE, "чертёж.pdf", "назван как PDF, но содержимое не распознано"),
    (files.PNG, "чертёж.pdf", "назван как PDF, но по содержимому это PNG"),
    (files.HTML, "page.html", "такой тип не принимается"),
    (files.EXE, "setup.exe", "такой тип не принимается"),
    (files.plain_zip(), "таблица.xlsx", "назван как XLSX, но содержимое не распознано"),
    (files.xlsx(), "письмо.docx", "назван как DOCX, но по содержимому это XLSX"),
    (b"", "пусто.pdf", "пустой"),
])
def test_a_file_whose_content_is_not_what_is_accepted_is_refused_naming_the_field(app, db, factories, confirmed,
                                                                                   data, name, says):
    org = factories.organization()
    need = factories.listing(ListingKind.PURCHASE_REQUEST, organization=org)
    before = stored_files(app)
    with pytest.raises(ValidationFailed) as caught:
        documents.attach("listing", need.id, upload(data, name), confirmed(organization=org), field="drawing")
    (error,) = caught.value.errors
    assert error.field == "drawing" and says in error.message
    assert "допустимы" in error.message or says == "пустой"
    assert stored_files(app) == before and documents.list_for("listing", need.id) == []


def test_size_limit(app, db, factories, confirmed):
    org = factories.organization()
    need = factories.listing(ListingKind.PURCHASE_REQUEST, organization=org)
    app.config["DOCUMENTS_MAX_BYTES"] = 1024 * 1024
    try:
        with pytest.raises(ValidationFailed, match="больше 1 МБ"):
            documents.attach("listing", need.id, upload(files.PDF + b"0" * (1024 * 1024), "big.pdf"),
                             confirmed(organization=org))
    finally:
        app.config["DOCUMENTS_MAX_BYTES"] = documents.DEFAULT_MAX_BYTES


def test_only_the_owner_attaches_and_only_viewers_see(db, factories, confirmed):
    org, other = factories.organization(), factories.organization()
    owner_user, stranger = confirmed(organization=org), confirmed(organization=other)
    draft = factories.listing(ListingKind.PURCHASE_REQUEST, organization=org, status=ListingStatus.DRAFT)
    with pytest.raises(documents.OwnerNotFound):  # a stranger does not see the draft at all
        documents.attach("listing", draft.id, upload(files.PDF, "a.pdf"), stranger)
    public = factories.listing(ListingKind.PURCHASE_REQUEST, organization=org)
    with pytest.raises(ValidationFailed, match="нельзя прикрепить"):
        documents.attach("listing", public.id, upload(files.PDF, "a.pdf"), stranger)
    private_doc = documents.attach("listing", draft.id, upload(files.PDF, "a.pdf"), owner_user)
    public_doc = documents.attach("listing", public.id, upload(files.PDF, "b.pdf"), owner_user)
    assert documents.document_for(stranger, private_doc.id) is None
    assert documents.document_for(None, private_doc.id) is None
    assert documents.document_for(stranger, public_doc.id) is public_doc
    assert documents.document_for(owner_user, private_doc.id) is private_doc
    with pytest.raises(ValidationFailed):
        documents.remove(public_doc, stranger)
    with pytest.raises(documents.OwnerNotFound):
        documents.resolve_owner(owner_user, "no-such-kind", 1)


def test_a_failed_row_leaves_no_file(app, db, factories, confirmed, monkeypatch):
    org = factories.organization()
    need = factories.listing(ListingKind.PURCHASE_REQUEST, organization=org)
    user = confirmed(organization=org)
    before = stored_files(app)

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(documents, "record_audit", broken)
    with pytest.raises(RuntimeError):
        documents.attach("listing", need.id, upload(files.PDF, "a.pdf"), user)
    assert stored_files(app) == before


def test_a_rolled_back_unit_takes_its_file_with_it_and_a_removal_waits_for_the_commit(app, db, factories, confirmed):
    org = factories.organization()
    need = factories.listing(ListingKind.PURCHASE_REQUEST, organization=org)
    user = confirmed(organization=org)
    db.session.commit()
    before = stored_files(app)
    documents.attach("listing", need.id, upload(files.PDF, "a.pdf"), user)
    assert len(stored_files(app)) == len(before) + 1  # written before the row…
    db.session.rollback()  # …and gone with the row
    assert stored_files(app) == before

    kept = documents.attach("listing", need.id, upload(files.PNG, "b.png"), user)
    db.session.commit()
    key = kept.storage_key
    assert key in stored_files(app)
    documents.remove(kept, user)
    db.session.rollback()  # the removal did not happen: the file stays with its row
    assert key in stored_files(app)
    documents.remove(db.session.merge(kept), user)
    db.session.commit()
    assert key not in stored_files(app)


def test_the_storage_key_carries_no_part_of_the_name(db, factories, confirmed):
    org = factories.organization()
    need = factories.listing(ListingKind.PURCHASE_REQUEST, organization=org)
    doc = documents.attach("listing", need.id, upload(files.PDF, "../../etc/passwd.pdf"), confirmed(organization=org))
    assert doc.filename == "passwd.pdf" and "passwd" not in doc.storage_key and ".." not in doc.storage_key


def test_detect_reads_from_the_start_and_leaves_the_stream_there():
    stream = io.BytesIO(files.docx())
    stream.seek(5)
    assert detect(stream) == "docx" and stream.tell() == 0


def test_removing_a_draft_lot_removes_its_documents_and_their_files(app, db, factories):
    from marketplace.tenders import services as tenders
    from tests.fixtures.tenders import make_tender

    world = make_tender(factories, publish=False)
    doc = documents.attach("listing", world.lot.id, upload(files.PDF, "ТЗ.pdf"), world.buyer)
    db.session.commit()
    key = doc.storage_key
    tenders.remove_lot(world.lot, user=world.buyer)
    db.session.commit()
    assert documents.list_for("listing", world.lot.id) == [] and key not in stored_files(app)

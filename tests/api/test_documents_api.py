"""Documents through /api/v1, and the authorization matrix extended to files: every role against the files of a
private draft, a public listing, a closed tender's lot and a sealed response — what a role may not see is a 404."""
from __future__ import annotations

import io

import pytest

from marketplace.documents import services as documents
from tests.api.conftest import ROLES
from tests.documents import files
from tests.documents.conftest import upload

# anonymous, member_a, member_b, buyer, coordinator_27, coordinator_25, admin
READ = {
    "draft_a": (404, 200, 404, 404, 200, 404, 200),  # a draft: its organization and region 27's moderators
    "listing_a": (200, 200, 200, 200, 200, 200, 200),
    "closed_lot": (404, 200, 404, 200, 404, 404, 200),  # the buyer and the invited A
    "response_a": (404, 200, 404, 404, 404, 404, 404),  # sealed until the deadline: its author only
}
UPLOAD_TO_DRAFT = (401, 201, 404, 404, 422, 404, 201)
DELETE_FROM_DRAFT = (401, 204, 404, 404, 403, 404, 204)


@pytest.fixture
def attached(world):
    a = world.users["member_a"]
    return {
        "draft_a": documents.attach("listing", world.draft_a.id, upload(files.PDF, "смета.pdf"), a),
        "listing_a": documents.attach("listing", world.listing_a.id, upload(files.PNG, "станок.png"), a),
        "closed_lot": documents.attach("listing", world.closed_lot.id, upload(files.DWG, "вал.dwg"),
                                       world.users["buyer"]),
        "response_a": documents.attach("tender_response", world.response_a.id, upload(files.xlsx(), "КП.xlsx"), a),
    }


@pytest.mark.parametrize("owner", list(READ))
@pytest.mark.parametrize("role", ROLES)
def test_file_matrix(client, world, attached, as_role, owner, role):
    doc = attached[owner]
    expected = dict(zip(ROLES, READ[owner], strict=True))[role]
    with client.get(f"/api/v1/documents/{doc.id}/content", headers=as_role(role)) as got:
        assert got.status_code == expected, got.get_data(as_text=True)
        if expected == 200:
            assert got.headers["X-Content-Type-Options"] == "nosniff" and got.data[:2] in (b"%P", b"\x89P", b"AC",
                                                                                           b"PK")
    meta = client.get(f"/api/v1/documents/{doc.id}", headers=as_role(role))
    assert meta.status_code == expected
    kind, owner_id = doc.owner_kind, doc.owner_id
    listed = client.get(f"/api/v1/documents?owner_kind={kind}&owner_id={owner_id}", headers=as_role(role))
    assert listed.status_code == expected
    if expected == 200:
        assert [d["id"] for d in listed.get_json()["items"]] == [doc.id]


@pytest.mark.parametrize("role", ROLES)
def test_upload_and_delete_matrix(client, world, attached, as_role, role):
    headers = as_role(role)
    sent = client.post("/api/v1/documents", headers=headers, content_type="multipart/form-data",
                       data={"owner_kind": "listing", "owner_id": str(world.draft_a.id),
                             "file": (io.BytesIO(files.STEP), "корпус.step")})
    assert sent.status_code == dict(zip(ROLES, UPLOAD_TO_DRAFT, strict=True))[role], sent.get_data(as_text=True)
    if sent.status_code == 201:
        assert sent.get_json()["file_type"] == "step" and sent.get_json()["filename"] == "корпус.step"
    gone = client.delete(f"/api/v1/documents/{attached['draft_a'].id}", headers=headers)
    assert gone.status_code == dict(zip(ROLES, DELETE_FROM_DRAFT, strict=True))[role]


def test_upload_refuses_by_content_naming_the_field(client, world, bearer):
    headers = bearer(world.users["member_a"])
    sent = client.post("/api/v1/documents", headers=headers, content_type="multipart/form-data",
                       data={"owner_kind": "listing", "owner_id": str(world.listing_a.id),
                             "file": (io.BytesIO(files.EXE), "чертёж.dwg")})
    assert sent.status_code == 422 and sent.mimetype == "application/problem+json"
    assert "назван как DWG, но содержимое не распознано" in sent.get_json()["errors"]["file"][0]
    missing = client.post("/api/v1/documents", headers=headers, content_type="multipart/form-data",
                          data={"owner_kind": "listing", "owner_id": str(world.listing_a.id)})
    assert missing.status_code == 422 and missing.get_json()["errors"]["file"] == ["выберите файл"]
    wrong = client.post("/api/v1/documents", headers=headers, content_type="multipart/form-data",
                        data={"owner_kind": "secret", "owner_id": "x"})
    assert set(wrong.get_json()["errors"]) == {"owner_kind", "owner_id"}
    assert documents.list_for("listing", world.listing_a.id) == []


def test_openapi_declares_the_upload(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    body = spec["paths"]["/api/v1/documents"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["properties"]["file"]["format"] == "binary"
    assert "/api/v1/documents/{document_id}/content" in spec["paths"]
    assert "/api/v1/tenders/{tender_id}/questions" in spec["paths"]
    assert "/api/v1/tenders/{tender_id}/protocol.xlsx" in spec["paths"]


def test_a_kind_registered_later_is_accepted(client, world, bearer):
    from marketplace.documents import owners

    kind = owners.register_owner(owners.OwnerKind("late_kind", "Позже", lambda i: world.listing_a if i == 1 else None,
                                                  lambda user, owner: True, lambda user, owner: False,
                                                  lambda owner: owner.organization_id))
    try:
        got = client.get("/api/v1/documents?owner_kind=late_kind&owner_id=1", headers=bearer(world.users["member_a"]))
        assert got.status_code == 200 and got.get_json()["items"] == []
        assert client.get("/api/v1/documents?owner_kind=nope&owner_id=1").status_code == 400
    finally:
        owners._REGISTRY.pop(kind.name)

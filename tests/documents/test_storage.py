"""The two storage backends behind one interface: the folder, and S3 through boto3 against moto's in-process
S3 (no server, no network: moto patches botocore)."""
from __future__ import annotations

import io

import pytest

from marketplace.documents import services as documents
from marketplace.documents.storage import FolderStorage, S3Storage, storage_from_url
from marketplace.listings.models import ListingKind
from tests.documents import files
from tests.documents.conftest import upload


@pytest.fixture
def s3(monkeypatch):
    moto = pytest.importorskip("moto")
    import boto3

    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_DEFAULT_REGION": "ru-central1"}.items():
        monkeypatch.setenv(name, value)
    with moto.mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="cosmos-docs")
        yield client


def _roundtrip(storage):
    storage.put("listing/1/abc", io.BytesIO(b"%PDF-1.7 x"), content_type="application/pdf")
    assert storage.exists("listing/1/abc")
    with storage.open("listing/1/abc") as stream:
        assert stream.read() == b"%PDF-1.7 x"
    storage.delete("listing/1/abc")
    storage.delete("listing/1/abc")  # a missing file is no error
    assert not storage.exists("listing/1/abc")
    with pytest.raises(FileNotFoundError):
        storage.open("listing/1/abc")
    for bad in ("../x", "/abs", "a//b", ""):
        with pytest.raises(ValueError):
            storage.put(bad, io.BytesIO(b"x"), content_type="application/pdf")


def test_folder_storage(tmp_path):
    _roundtrip(FolderStorage(tmp_path))
    assert list(tmp_path.rglob(".upload-*")) == []


def test_s3_storage(s3):
    storage = S3Storage("cosmos-docs", prefix="prod/", client=s3)
    _roundtrip(storage)
    storage.put("listing/2/k", io.BytesIO(b"data"), content_type="image/png")
    head = s3.head_object(Bucket="cosmos-docs", Key="prod/listing/2/k")
    assert head["ContentType"] == "image/png"


def test_storage_from_url(tmp_path, s3):
    assert isinstance(storage_from_url(str(tmp_path)), FolderStorage)
    assert isinstance(storage_from_url(f"file://{tmp_path}"), FolderStorage)
    made = storage_from_url("s3://cosmos-docs/attachments")
    assert isinstance(made, S3Storage) and (made.bucket, made.prefix) == ("cosmos-docs", "attachments")


def test_attach_and_serve_through_s3(app, db, factories, client, s3):
    from marketplace.core.models import utcnow
    from tests.fixtures.tenders import login

    org = factories.organization()
    user = factories.user(organization=org, email_confirmed_at=utcnow())
    need = factories.listing(ListingKind.PURCHASE_REQUEST, organization=org)
    previous = app.extensions["cosmos_documents_storage"]
    app.extensions["cosmos_documents_storage"] = S3Storage("cosmos-docs", client=s3)
    try:
        doc = documents.attach("listing", need.id, upload(files.PDF, "ТЗ.pdf"), user)
        db.session.commit()
        assert s3.get_object(Bucket="cosmos-docs", Key=doc.storage_key)["Body"].read() == files.PDF
        login(client, None)
        page = client.get(f"/documents/{doc.id}")
        assert page.status_code == 200 and page.data == files.PDF
    finally:
        app.extensions["cosmos_documents_storage"] = previous


@pytest.fixture
def s3_server(monkeypatch):
    """moto's S3 as a real HTTP server on 127.0.0.1 (started and stopped by the test): boto3 goes over the wire."""
    server_module = pytest.importorskip("moto.server")
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def test_s3_storage_over_http_as_configured_in_production(s3_server):
    import boto3

    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket="cosmos-docs")
    storage = storage_from_url("s3://cosmos-docs/prod", endpoint_url=s3_server)  # what COSMOS_DOCUMENTS_URL makes
    _roundtrip(storage)
    storage.put("listing/3/k", io.BytesIO(files.PDF), content_type="application/pdf")
    listed = boto3.client("s3", endpoint_url=s3_server).list_objects_v2(Bucket="cosmos-docs")["Contents"]
    assert [o["Key"] for o in listed] == ["prod/listing/3/k"]

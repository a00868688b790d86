"""Where the bytes of documents live, behind one small interface: a folder (the embedded default, under
``instance/documents``) or an S3-compatible object store through boto3 (production).

Configured by ``DOCUMENTS_STORAGE_URL`` (env ``COSMOS_DOCUMENTS_URL``): a path or ``file:///path``, or
``s3://bucket/prefix``; for S3 the endpoint comes from ``COSMOS_S3_ENDPOINT_URL`` (MinIO, Yandex Object Storage,
Ceph…; empty: AWS) and the credentials from boto3's own chain (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_DEFAULT_REGION``, or a role). Keys are made by the documents service and never contain a user's file name.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any, Protocol

from flask import Flask, current_app


class StorageError(RuntimeError):
    """The storage could not keep or give back a file."""


class Storage(Protocol):
    def put(self, key: str, stream: IO[bytes], *, content_type: str) -> None:
        """Store the whole ``stream`` under ``key`` (replacing nothing: keys are unique)."""

    def open(self, key: str) -> IO[bytes]:
        """A readable binary stream of the stored file; ``FileNotFoundError`` when there is none."""

    def delete(self, key: str) -> None:
        """Remove the file; a missing one is no error."""

    def exists(self, key: str) -> bool: ...


def _checked_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"bad storage key {key!r}")
    return key


class FolderStorage:
    """Files under a root folder; a file appears under its key only once completely written (rename)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _checked_key(key)

    def put(self, key: str, stream: IO[bytes], *, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(stream, out, 1024 * 1024)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> IO[bytes]:
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def __repr__(self) -> str:
        return f"FolderStorage({str(self.root)!r})"


class S3Storage:
    """Objects in one bucket of an S3-compatible store, under an optional prefix."""

    def __init__(self, bucket: str, *, prefix: str = "", endpoint_url: str | None = None, client: Any = None):
        if client is None:
            try:
                import boto3
            except ImportError as exc:  # pragma: no cover - boto3 is a dependency of the package
                raise StorageError("S3 storage needs boto3: pip install boto3") from exc
            client = boto3.client("s3", endpoint_url=endpoint_url or None)
        self.client, self.bucket, self.prefix = client, bucket, prefix.strip("/")

    def _key(self, key: str) -> str:
        key = _checked_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, stream: IO[bytes], *, content_type: str) -> None:
        self.client.upload_fileobj(stream, self.bucket, self._key(key), ExtraArgs={"ContentType": content_type})

    def open(self, key: str) -> IO[bytes]:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from exc
            raise

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self.bucket!r}, prefix={self.prefix!r})"


def storage_from_url(url: str, *, endpoint_url: str | None = None) -> Storage:
    """The backend a ``DOCUMENTS_STORAGE_URL`` names."""
    if url.startswith("s3://"):
        bucket, _, prefix = url[len("s3://"):].partition("/")
        if not bucket:
            raise StorageError(f"no bucket in {url!r} (expected s3://bucket/prefix)")
        return S3Storage(bucket, prefix=prefix, endpoint_url=endpoint_url)
    if url.startswith("file://"):
        url = url[len("file://"):]
    return FolderStorage(url)


def init_app(app: Flask) -> None:
    url = app.config.get("DOCUMENTS_STORAGE_URL") or os.path.join(app.instance_path, "documents")
    app.extensions["cosmos_documents_storage"] = storage_from_url(
        url, endpoint_url=app.config.get("DOCUMENTS_S3_ENDPOINT_URL"))


def get_storage() -> Storage:
    """The application's storage (``init_app`` made it from the config)."""
    storage = current_app.extensions.get("cosmos_documents_storage")
    if storage is None:
        init_app(current_app)
        storage = current_app.extensions["cosmos_documents_storage"]
    return storage

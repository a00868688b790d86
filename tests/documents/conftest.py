from __future__ import annotations

import io
import os

import pytest
from werkzeug.datastructures import FileStorage

from marketplace.core.models import utcnow


def upload(data: bytes, filename: str) -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=filename)


def stored_files(app) -> list[str]:
    """Every file under the documents folder (the test instance's storage)."""
    root = app.config["DOCUMENTS_STORAGE_URL"]
    found = []
    for folder, _dirs, files in os.walk(root):
        found.extend(os.path.relpath(os.path.join(folder, f), root) for f in files)
    return sorted(found)


@pytest.fixture
def confirmed(factories):
    def make(**fields):
        return factories.user(email_confirmed_at=utcnow(), **fields)
    return make

"""Fixtures for the chain tests: a fresh embedded index with a small deterministic encoder, and offers in regions.

The encoder is a hashing one (character trigrams): the tests judge candidates by their ОКВЭД2 codes, which do not
depend on the encoder, and a fitted built-in encoder is neither needed nor always present.
"""
from __future__ import annotations

import hashlib
import re
from typing import Any

import numpy as np
import pytest

from marketplace.core.audit import record_outbox
from marketplace.listings.models import ListingKind

DIM = 128


class HashingEncoder:
    """Bag of character trigrams hashed into ``DIM`` buckets, L2-normalised: similar words, similar vectors."""

    dim = DIM

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                padded = f" {word} "
                for i in range(len(padded) - 2):
                    digest = hashlib.blake2b(padded[i:i + 3].encode(), digest_size=4).digest()
                    out[row, int.from_bytes(digest, "little") % DIM] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else np.eye(DIM, dtype=np.float32)[0]
        return out

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts))

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts))


@pytest.fixture
def index(app, db, tmp_path):
    """A fresh embedded index for the test with the hashing encoder; the app's own encoder is put back after."""
    from marketplace.indexing import services

    services.close_search(keep_encoder=True)
    previous = app.extensions.pop("cosmos.encoder", None)
    app.config["SEARCH_URL"] = f"embedded://{tmp_path / 'search'}"
    app.extensions["cosmos.encoder"] = HashingEncoder()
    yield services.get_backend()
    services.close_search(keep_encoder=False)
    if previous is not None:
        app.extensions["cosmos.encoder"] = previous


@pytest.fixture
def offers(db, factories, index):
    """``offers.add(region, okved2, ...)`` creates an active capability offer of a new (or given) organization;
    ``offers.index()`` commits and indexes everything added."""

    class Offers:
        def add(self, region: str, okved2: str | list[str], *, title: str = "Производственная операция",
                price: float | None = 1000.0, lead: int | None = 10, capacity: float | None = 100.0,
                certifications: list[str] | None = None, organization: Any = None, **fields: Any):
            org = organization or factories.organization(region=region)
            listing = factories.listing(
                ListingKind.CAPABILITY, organization=org, title=title,
                okved2=[okved2] if isinstance(okved2, str) else okved2, price=price, lead_time_days=lead,
                capacity_per_month=capacity, certifications=certifications or [], **fields)
            record_outbox("listing", listing.id, "upsert")
            return listing

        def index(self) -> None:
            from marketplace.indexing.services import drain_outbox

            db.session.commit()
            drain_outbox()

    return Offers()


_TOKEN = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


def login(client: Any, user: Any) -> None:
    """Put ``user`` in the client's session (the test's setup is committed to its savepoint first)."""
    from flask import g

    from marketplace.extensions import db

    db.session.commit()
    g.pop("_login_user", None)
    g.pop("csrf_token", None)
    with client.session_transaction() as session:
        session.clear()
        if user is not None:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True


def post(client: Any, page_url: str, action: str, data: dict[str, Any] | None = None, *, follow: bool = False):
    """POST ``data`` to ``action`` with the CSRF token of the page at ``page_url``."""
    from flask import g

    g.pop("_login_user", None)
    g.pop("csrf_token", None)
    page = client.get(page_url)
    assert page.status_code == 200, f"GET {page_url}: {page.status_code}"
    found = _TOKEN.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {page_url}"
    return client.post(action, data={**(data or {}), "csrf_token": found.group(1)}, follow_redirects=follow)

import pytest

from marketplace.core.audit import record_outbox
from marketplace.indexing import services


@pytest.fixture
def index(app, db, tmp_path):
    """A fresh embedded index for the test; the encoder is fitted once per run and kept."""
    app.config["SEARCH_URL"] = f"embedded://{tmp_path / 'search'}"
    services.close_search(keep_encoder=True)
    yield services.get_backend()
    services.close_search(keep_encoder=True)


@pytest.fixture
def add_listing(db, factories):
    """Create a listing with its outbox row and commit (to the test's savepoint), as a service and view would."""
    def add(**fields):
        listing = factories.listing(**fields)
        record_outbox("listing", listing.id, "upsert")
        db.session.commit()
        return listing.id

    return add

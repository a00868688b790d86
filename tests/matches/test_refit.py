"""The nightly refit of the built-in encoder: only when the corpus grew, atomically, and the index re-encoded."""
from __future__ import annotations

import pytest

from marketplace.indexing import services as indexing
from marketplace.matches.refit import refit_encoder_if_grown
from search import Query


@pytest.fixture
def own_encoder(app, tmp_path):
    """An encoder file of the test's own; the run's encoder and settings are put back afterwards."""
    previous_path = app.config["ENCODER_PATH"]
    previous = app.extensions.get("cosmos.encoder")
    app.config["ENCODER_PATH"] = str(tmp_path / "encoder")
    yield tmp_path / "encoder"
    with app.app_context():
        indexing.close_search()
    app.config["ENCODER_PATH"] = previous_path
    if previous is not None:
        app.extensions["cosmos.encoder"] = previous


def test_refit_waits_for_growth_then_replaces_the_encoder_and_reindexes(app, db, market, own_encoder):
    before = indexing.get_encoder()
    assert refit_encoder_if_grown(growth=10.0) == {"refitted": False, "corpus": pytest.approx(
        len(indexing.encoder_corpus())), "fitted_on": before.n_documents_}
    report = refit_encoder_if_grown(force=True)
    assert report["refitted"] is True and report["reindexed"] >= 6
    assert own_encoder.exists() and not own_encoder.with_name("encoder.new").exists()
    after = indexing.get_encoder()
    assert after is not before and after.n_documents_ == report["corpus"]
    hits = indexing.get_backend().search(Query(text="токарные работы", k=5)).hits
    assert market.khv.id in {h.id for h in hits}


def test_refit_is_skipped_for_a_sentence_transformers_model(app):
    app.config["EMBEDDING_MODEL"] = "some/model"
    try:
        with app.app_context():
            assert refit_encoder_if_grown()["refitted"] is False
    finally:
        app.config["EMBEDDING_MODEL"] = "builtin"


def test_every_process_reloads_the_encoder_when_the_file_is_replaced(app, own_encoder):
    import os

    with app.app_context():
        first = indexing.get_encoder()  # fitted and saved under the test's path
        assert indexing.get_encoder() is first  # unchanged file: the same object, no reload
        other = own_encoder.with_name("other")
        first.save(other)
        stat = own_encoder.stat()
        os.utime(other, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        os.replace(other, own_encoder)  # what a refit in another worker does
        again = indexing.get_encoder()
        assert again is not first and again.dim == first.dim
        assert indexing.get_encoder() is again

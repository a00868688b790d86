"""Refit the built-in encoder when the marketplace's own texts have grown, and re-encode the index with it.

The encoder learns its vocabulary from the classifiers and the listings (``encoder_corpus``); as listings arrive,
words of the trade that the first fit never saw carry no weight. A nightly job compares the corpus with the one the
encoder was fitted on and, past ``growth``, fits a new encoder, writes it beside the old one, swaps the file
atomically (``os.replace``) and rebuilds the index with the new vectors. Other processes see the new file's
modification time and reload it (``marketplace.indexing.services.get_encoder``).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import current_app

log = logging.getLogger(__name__)

DEFAULT_GROWTH = 0.2


def refit_encoder_if_grown(growth: float | None = None, *, force: bool = False) -> dict:
    """Refit and reindex when the corpus grew by more than ``growth`` (a share) since the last fit."""
    from marketplace.indexing import services as indexing
    from matching.encoders import BuiltinEncoder

    if current_app.config["EMBEDDING_MODEL"] != "builtin":
        return {"refitted": False, "reason": "a sentence-transformers model is configured"}
    growth = DEFAULT_GROWTH if growth is None else float(growth)
    if growth < 0:
        raise ValueError("growth must not be negative")
    corpus = indexing.encoder_corpus()
    current = indexing.get_encoder()
    fitted_on = int(getattr(current, "n_documents_", 0) or 0)
    if not force and fitted_on and len(corpus) <= fitted_on * (1 + growth):
        return {"refitted": False, "corpus": len(corpus), "fitted_on": fitted_on}
    encoder = BuiltinEncoder().fit(corpus)
    path = Path(current_app.config["ENCODER_PATH"])
    tmp = path.with_name(path.name + ".new")
    encoder.save(tmp)
    os.replace(tmp, path)
    indexing.close_search()  # forget the old encoder and the backend opened with it
    count = indexing.reindex()
    log.info("refitted the built-in encoder on %d texts (was %d) and reindexed %d listings",
             len(corpus), fitted_on, count)
    return {"refitted": True, "corpus": len(corpus), "fitted_on": fitted_on, "reindexed": count}

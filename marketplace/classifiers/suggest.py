"""Suggested ОКПД2/ОКВЭД2 codes for a text: the engine's classifier, fitted on the shipped classifiers.

The fitted classifier is kept under ``instance/`` and loaded once per process; it is refitted when the
file is missing, was written by an incompatible version, or was fitted with another encoder. When the platform
has a sentence-transformers model (``EMBEDDING_MODEL``), the classifier uses it for its semantic part (see
:mod:`matching.classify`); the built-in encoder is not used for it (it adds nothing the lexical part lacks).
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from flask import current_app

from marketplace.refdata.loader import DATA_DIR

log = logging.getLogger(__name__)
SCHEMES = ("okpd2", "okved2")
_lock = threading.Lock()


def classifier_path(scheme: str) -> Path:
    return Path(current_app.instance_path) / f"classifier-{scheme}"


def get_classifier(scheme: str = "okpd2", progress=None):
    """The fitted classifier for ``scheme``, cached in ``app.extensions``; ``progress(iterable, label, length)``
    shows the encoding of the names when a fit with the platform's model is needed (the CLI's progress bar)."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")
    key = f"cosmos.classifier.{scheme}"
    ext = current_app.extensions
    if key not in ext:
        with _lock:
            if key not in ext:
                ext[key] = _open(scheme, progress)
    return ext[key]


def _open(scheme: str, progress=None):
    from matching.classify import CodeClassifier, encoder_identity, load_code_entries

    path = classifier_path(scheme)
    encoder = semantic_encoder()
    if path.exists():
        try:
            loaded = CodeClassifier.load(path)
        except Exception:
            log.warning("could not load the %s classifier from %s; refitting", scheme, path, exc_info=True)
        else:
            if loaded.encoder_identity_ == encoder_identity(encoder):
                return loaded.attach_encoder(encoder)
            log.info("the %s classifier at %s was fitted with %s, the platform has %s; refitting", scheme, path,
                     loaded.encoder_identity_ or "no encoder", encoder_identity(encoder) or "none")
    if encoder is not None:
        log.info("fitting the %s classifier with %s: the names are encoded once, which takes minutes on a CPU",
                 scheme, encoder.identity)
    classifier = CodeClassifier(scheme=scheme).fit(load_code_entries(DATA_DIR / f"{scheme}.csv"), encoder=encoder,
                                                   progress=progress)
    try:
        classifier.save(path)
    except OSError:
        log.warning("could not save the %s classifier to %s", scheme, path, exc_info=True)
    return classifier


def semantic_encoder():
    """The encoder of the classifier's semantic part: the platform's sentence-transformers model, or ``None``."""
    if current_app.config["EMBEDDING_MODEL"] == "builtin":
        return None
    from marketplace.indexing.services import get_encoder

    return get_encoder()


def suggest_codes(text: str, scheme: str = "okpd2", top: int = 10) -> list:
    """Ranked code suggestions (code, name, score) for ``text``."""
    if not text or not text.strip():
        return []
    return list(get_classifier(scheme).predict(text, top=top))

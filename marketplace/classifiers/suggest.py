"""Suggested ОКПД2/ОКВЭД2 codes for a text: the engine's classifier, fitted on the shipped classifiers.

The fitted classifier is kept under ``instance/`` and loaded once per process; it is refitted when the
file is missing or was written by an incompatible version.
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


def get_classifier(scheme: str = "okpd2"):
    """The fitted classifier for ``scheme``, cached in ``app.extensions``."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")
    key = f"cosmos.classifier.{scheme}"
    ext = current_app.extensions
    if key not in ext:
        with _lock:
            if key not in ext:
                ext[key] = _open(scheme)
    return ext[key]


def _open(scheme: str):
    from matching.classify import CodeClassifier, load_code_entries

    path = classifier_path(scheme)
    if path.exists():
        try:
            return CodeClassifier.load(path)
        except Exception:
            log.warning("could not load the %s classifier from %s; refitting", scheme, path, exc_info=True)
    classifier = CodeClassifier(scheme=scheme).fit(load_code_entries(DATA_DIR / f"{scheme}.csv"))
    try:
        classifier.save(path)
    except OSError:
        log.warning("could not save the %s classifier to %s", scheme, path, exc_info=True)
    return classifier


def suggest_codes(text: str, scheme: str = "okpd2", top: int = 10) -> list:
    """Ranked code suggestions (code, name, score) for ``text``."""
    if not text or not text.strip():
        return []
    return list(get_classifier(scheme).predict(text, top=top))

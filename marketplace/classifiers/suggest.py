"""Suggested ОКПД2/ОКВЭД2 codes for a text: the engine's classifier, fitted on the shipped classifiers.

The fitted classifier is kept under ``instance/`` and loaded once per process (again when another process
replaced the file); it is refitted when the file is missing, was written by an incompatible version, was fitted
on another edition of the classifier's CSV (a digest of the file is kept with it) or with another encoder.
``cosmos refdata load`` prepares both, so that no request waits for a fit. When the platform
has a sentence-transformers model (``EMBEDDING_MODEL``), the classifier uses it for its semantic part (see
:mod:`matching.classify`); the built-in encoder is not used for it (it adds nothing the lexical part lacks).
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
from functools import lru_cache
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
    if key in ext and ext.get(f"{key}.file") != _file_stamp(scheme):
        with _lock:  # another process refitted it (a new edition, another model): load that one
            ext.pop(key, None)
    if key not in ext:
        with _lock:
            if key not in ext:
                ext[key] = _open(scheme, progress)
                ext[f"{key}.file"] = _file_stamp(scheme)
    return ext[key]


def prepare_classifiers(progress=None) -> None:
    """Load or fit every scheme's classifier now (deploy time), so that the first request does not wait."""
    for scheme in SCHEMES:
        get_classifier(scheme, progress)


def _file_stamp(scheme: str) -> tuple[int, int] | None:
    try:
        stat = classifier_path(scheme).stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def source_digest(scheme: str) -> str:
    """SHA-256 of the classifier's CSV: a new edition of ОКПД2/ОКВЭД2 makes the saved classifier stale."""
    return hashlib.sha256((DATA_DIR / f"{scheme}.csv").read_bytes()).hexdigest()


def _open(scheme: str, progress=None):
    from matching.classify import CodeClassifier, encoder_identity, load_code_entries

    path = classifier_path(scheme)
    encoder = semantic_encoder()
    digest = source_digest(scheme)
    if path.exists():
        try:
            loaded = CodeClassifier.load(path)
        except Exception:
            log.warning("could not load the %s classifier from %s; refitting", scheme, path, exc_info=True)
        else:
            same_source = getattr(loaded, "source_digest_", None) == digest
            if same_source and loaded.encoder_identity_ == encoder_identity(encoder):
                return loaded.attach_encoder(encoder)
            if not same_source:
                log.info("the %s classifier at %s was fitted on another edition of %s.csv; refitting", scheme, path,
                         scheme)
            else:
                log.info("the %s classifier at %s was fitted with %s, the platform has %s; refitting", scheme, path,
                         loaded.encoder_identity_ or "no encoder", encoder_identity(encoder) or "none")
    if encoder is not None:
        log.info("fitting the %s classifier with %s: the names are encoded once, which takes minutes on a CPU",
                 scheme, encoder.identity)
    classifier = CodeClassifier(scheme=scheme).fit(load_code_entries(DATA_DIR / f"{scheme}.csv"), encoder=encoder,
                                                   progress=progress)
    classifier.source_digest_ = digest
    tmp = path.with_name(f"{path.name}.{os.getpid()}.new")
    try:  # written aside and swapped, so that another process never loads half a file
        classifier.save(tmp)
        os.replace(tmp, path)
    except OSError:
        log.warning("could not save the %s classifier to %s", scheme, path, exc_info=True)
    return classifier


def semantic_encoder():
    """The encoder of the classifier's semantic part: the platform's sentence-transformers model, or ``None``."""
    if current_app.config["EMBEDDING_MODEL"] == "builtin":
        return None
    from marketplace.indexing.services import get_encoder

    return get_encoder()


def get_suggester(progress=None):
    """Both classifiers and the shipped operations catalogue voting together (:mod:`matching.code_suggest`),
    cached with the classifiers it was built on (a refitted classifier builds it again)."""
    from matching.code_suggest import CodeSuggester

    classifiers = {scheme: get_classifier(scheme, progress) for scheme in SCHEMES}
    catalogue = _catalogue()
    key = "cosmos.code_suggester"
    cached = current_app.extensions.get(key)
    if cached is None or any(cached.classifiers.get(s) is not c for s, c in classifiers.items()) \
            or cached.catalogue is not catalogue:
        with _lock:
            cached = current_app.extensions[key] = CodeSuggester(classifiers, catalogue, goods=goods_vocabulary())
    return cached


@lru_cache(maxsize=1)
def goods_vocabulary():
    """The shipped vocabulary of product types (``refdata/data/goods``), or ``None`` when it cannot be read."""
    from matching.goods import load_goods

    try:
        return load_goods(DATA_DIR / "goods")
    except Exception:  # a broken reference file must not take the code suggestions down with it
        log.warning("the goods vocabulary could not be loaded; code suggestions go without it", exc_info=True)
        return None


def _catalogue():
    """The shipped operations catalogue, or ``None`` (suggestions then go without it) when it cannot be read."""
    from marketplace.operations.catalogue import get_catalogue

    try:
        return get_catalogue()
    except Exception:  # a broken reference file must not take the code suggestions down with it
        log.warning("the operations catalogue could not be loaded; code suggestions go without it", exc_info=True)
        return None


def suggest_codes(text: str, scheme: str = "okpd2", top: int = 10) -> list:
    """Ranked code suggestions (code, name, score) for ``text``: the classifiers of both schemes and the operations
    the catalogue recognises in it (see :class:`matching.code_suggest.CodeSuggester`)."""
    if not text or not text.strip():
        return []
    return list(get_suggester().predict(text, scheme, top=top))

"""Attaching, listing, opening and removing documents — the API other slices use::

    from marketplace.documents import services as documents

    doc = documents.attach("message", message.id, request.files["file"], current_user)   # then commit
    docs = documents.list_for("message", message.id)          # the owner's files, oldest first
    doc = documents.document_for(current_user, document_id)   # None: missing or not the user's to see → 404
    with documents.open(doc) as stream: ...
    documents.remove(doc, current_user)                       # then commit

A file is written to the storage before its row is flushed, in one unit: when the row cannot be saved (the flush
fails, or the caller's transaction rolls back later) the file is removed again; a removed document's file goes only
once the removal is committed. Both are done by the session hooks that :func:`init_app` installs — so no stored
file is without its row, and no row without its file. Problems raise ``ValidationFailed`` naming the form field.
"""
from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import unicodedata
import uuid
from typing import IO, Any

from flask import Flask, current_app
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from marketplace.core.audit import record_audit
from marketplace.core.permissions import actor, current_organization
from marketplace.core.validation import FieldError, ValidationFailed
from marketplace.documents import storage as storage_module
from marketplace.documents.content import ACCEPTED, ACCEPTED_TEXT, detect, extension_type
from marketplace.documents.models import Document
from marketplace.documents.owners import OwnerKind, owner_kind
from marketplace.extensions import db

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 15 * 1024 * 1024
_WRITTEN, _REMOVED = "cosmos_documents_written", "cosmos_documents_removed"


class OwnerNotFound(LookupError):
    """The owner does not exist or the user may not see it (a view answers 404)."""


def max_bytes() -> int:
    return int(current_app.config.get("DOCUMENTS_MAX_BYTES") or DEFAULT_MAX_BYTES)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f}".replace(".", ",")


def clean_filename(name: str | None) -> str:
    """The last part of the uploader's name without control characters, at most 200 characters, extension kept."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C").strip()
    base = base.strip(". ") or "файл"
    if len(base) > 200:
        stem, dot, ext = base.rpartition(".")
        base = (stem[:200 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else base[:200]
    return base


def resolve_owner(user: Any, kind_name: str, owner_id: int) -> tuple[OwnerKind, Any]:
    """The owner object, or :class:`OwnerNotFound` when it is missing or hidden from ``user``."""
    kind = owner_kind(kind_name)
    owner = kind.load(owner_id) if kind is not None and 0 < owner_id <= 2**31 - 1 else None
    if kind is None or owner is None or not kind.can_view(user, owner):
        raise OwnerNotFound(f"{kind_name}:{owner_id}")
    return kind, owner


def _spool(source: Any, field: str, filename: str, limit: int) -> tuple[IO[bytes], int, str]:
    """Copy the upload into a temporary file (bounded by ``limit``): its size and sha256."""
    stream = getattr(source, "stream", source)
    spooled = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 - handed to the caller
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(256 * 1024):
        size += len(chunk)
        if size > limit:
            spooled.close()
            raise ValidationFailed([FieldError(field, f"файл «{filename}» больше {_megabytes(limit)} МБ")])
        digest.update(chunk)
        spooled.write(chunk)
    spooled.seek(0)
    return spooled, size, digest.hexdigest()


def attach(owner_kind_name: str, owner_id: int, source: Any, user: Any, *, filename: str | None = None,
           field: str = "file") -> Document:
    """Store ``source`` (a werkzeug ``FileStorage`` or a binary stream with ``filename=``) as a document of the
    owner; the type is read from the content and must agree with the name's extension. The caller commits."""
    kind, owner = resolve_owner(user, owner_kind_name, owner_id)
    if not kind.can_attach(user, owner):
        raise ValidationFailed([FieldError(field, f"нельзя прикрепить файл: {kind.title.lower()} "
                                                  "изменяет только его владелец, пока это разрешено")])
    if source is None or (not getattr(source, "filename", None) and filename is None):
        raise ValidationFailed([FieldError(field, "выберите файл")])
    name = clean_filename(filename if filename is not None else source.filename)
    count = db.session.scalar(select(func.count()).select_from(Document).where(
        Document.owner_kind == kind.name, Document.owner_id == owner_id)) or 0
    if count >= kind.max_files:
        raise ValidationFailed([FieldError(field, f"не больше {kind.max_files} файлов")])
    by_name = extension_type(name)
    if by_name is None:
        raise ValidationFailed([FieldError(field, f"файл «{name}»: такой тип не принимается; допустимы "
                                                  f"{ACCEPTED_TEXT}")])
    spooled, size, sha256 = _spool(source, field, name, max_bytes())
    with spooled:
        if size == 0:
            raise ValidationFailed([FieldError(field, f"файл «{name}» пустой")])
        found = detect(spooled)
        if found != by_name.name:
            what = f"по содержимому это {ACCEPTED[found].title}" if found else "содержимое не распознано"
            raise ValidationFailed([FieldError(field, f"файл «{name}» назван как {by_name.title}, но {what}; "
                                                      f"допустимы {ACCEPTED_TEXT}")])
        key = f"{kind.name}/{owner_id}/{uuid.uuid4().hex}"
        storage_module.get_storage().put(key, spooled, content_type=by_name.content_type)
    db.session.info.setdefault(_WRITTEN, []).append(key)
    try:
        organization_id = kind.organization_id(owner)
        if organization_id is None and (acting := current_organization(user)) is not None:
            organization_id = acting.id
        document = Document(owner_kind=kind.name, owner_id=owner_id, filename=name, file_type=by_name.name,
                            content_type=by_name.content_type, size=size, sha256=sha256, storage_key=key,
                            organization_id=organization_id, created_by_id=actor(user))
        db.session.add(document)
        db.session.flush()
        record_audit("attach", "document", document.id,
                     {"owner": f"{kind.name}:{owner_id}", "filename": name, "type": by_name.name, "size": size,
                      "sha256": sha256}, user_id=actor(user))
        db.session.flush()
    except BaseException:
        _discard(key)
        raise
    log.info("document %s (%s, %s bytes) attached to %s:%s", document.id, by_name.name, size, kind.name, owner_id)
    return document


def list_for(owner_kind_name: str, owner_id: int) -> list[Document]:
    """The owner's documents, oldest first (the caller has checked that the reader may see the owner)."""
    return list(db.session.scalars(select(Document).where(Document.owner_kind == owner_kind_name,
                                                          Document.owner_id == owner_id)
                                   .order_by(Document.created_at, Document.id)))


def can_view_document(user: Any, document: Document) -> bool:
    try:
        resolve_owner(user, document.owner_kind, document.owner_id)
    except OwnerNotFound:
        return False
    return True


def can_remove_document(user: Any, document: Document) -> bool:
    try:
        kind, owner = resolve_owner(user, document.owner_kind, document.owner_id)
    except OwnerNotFound:
        return False
    return kind.can_attach(user, owner)


def document_for(user: Any, document_id: int) -> Document | None:
    """The document when it exists and ``user`` may see its owner; ``None`` otherwise (answer 404)."""
    document = db.session.get(Document, document_id) if 0 < document_id <= 2**31 - 1 else None
    return document if document is not None and can_view_document(user, document) else None


def open(document: Document) -> IO[bytes]:  # noqa: A001 - the storage verb
    """The stored bytes (a readable stream; close it)."""
    return storage_module.get_storage().open(document.storage_key)


def remove(document: Document, user: Any, *, field: str = "file") -> None:
    """Delete the document's row now and its file once the caller commits."""
    if not can_remove_document(user, document):
        raise ValidationFailed([FieldError(field, "удалить файл может только владелец, пока это разрешено")])
    record_audit("delete", "document", document.id,
                 {"owner": f"{document.owner_kind}:{document.owner_id}", "filename": document.filename,
                  "sha256": document.sha256}, user_id=actor(user))
    db.session.info.setdefault(_REMOVED, []).append(document.storage_key)
    db.session.delete(document)
    db.session.flush()


def remove_all_for(owner_kind_name: str, owner_id: int, *, user: Any = None) -> int:
    """Delete every document of an owner that is itself being deleted (the owner's service decided it may); the
    files go once the caller commits. Returns how many."""
    found = list_for(owner_kind_name, owner_id)
    for document in found:
        record_audit("delete", "document", document.id,
                     {"owner": f"{owner_kind_name}:{owner_id}", "filename": document.filename,
                      "sha256": document.sha256, "reason": "owner deleted"}, user_id=actor(user))
        db.session.info.setdefault(_REMOVED, []).append(document.storage_key)
        db.session.delete(document)
    db.session.flush()
    return len(found)


# Keeping storage and rows together ------------------------------------------------------------------

def _discard(key: str) -> None:
    try:
        storage_module.get_storage().delete(key)
    except Exception:  # the row is gone either way; a leftover file is found by its key's absence in the table
        log.exception("could not delete stored file %s", key)


def _after_commit(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
    for key in session.info.pop(_REMOVED, ()):
        _discard(key)


def _after_soft_rollback(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is not None:  # a savepoint inside the unit: the unit decides
        return
    session.info.pop(_REMOVED, None)
    for key in session.info.pop(_WRITTEN, ()):
        _discard(key)


def init_app(app: Flask) -> None:
    """The storage from the config and the session hooks that keep files and rows together."""
    storage_module.init_app(app)
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)

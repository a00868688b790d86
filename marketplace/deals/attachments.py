"""Files on requests and messages, through the documents slice (``marketplace/documents``, issue 13 part 3).

A message is a document owner of kind ``conversation_message``: its files are seen exactly by those who see the
conversation (:func:`marketplace.deals.access.can_view_conversation`: the two organizations, a coordinator of a
public need's region) and attached only by the message's own organization while the conversation is open. A
request's drawing goes with the first message of each supplier's conversation. Without the documents slice (a
deployment or branch without it) the pages show no file input and nothing is stored.
"""
from __future__ import annotations

import importlib.util
from typing import Any

OWNER = "conversation_message"


def attachments_available() -> bool:
    try:
        return importlib.util.find_spec("marketplace.documents.owners") is not None
    except ModuleNotFoundError:
        return False


def register() -> None:
    """Declare messages as document owners (called when the deals blueprint is registered)."""
    if not attachments_available():
        return
    from marketplace.deals.access import can_view_conversation
    from marketplace.deals.models import Message
    from marketplace.deals.services import OPEN
    from marketplace.documents.owners import OwnerKind, owner_kind, register_owner
    from marketplace.extensions import db

    if owner_kind(OWNER) is not None:
        return

    def can_attach(user: Any, message: Message) -> bool:
        from marketplace.core.permissions import organization_ids

        return message.organization_id in organization_ids(user) and message.conversation.status in OPEN

    register_owner(OwnerKind(OWNER, "Сообщение переписки", lambda id: db.session.get(Message, id),
                             lambda user, message: can_view_conversation(user, message.conversation), can_attach,
                             lambda message: message.organization_id, max_files=10))


def uploaded(files: Any) -> list[Any]:
    """The non-empty uploads of the ``files`` field."""
    return [f for f in files.getlist("files") if getattr(f, "filename", "")] if files is not None else []


def attach(messages: list[Any], uploads: list[Any], user: Any) -> list[Any]:
    """Store every upload for every message (a request's drawing for each supplier); raises ``ValidationFailed``
    naming ``files`` when one is refused, and the caller rolls back (the stored files go with it)."""
    if not uploads or not attachments_available():
        return []
    from marketplace.documents import services as documents

    out = []
    for message in messages:
        for upload in uploads:
            stream = getattr(upload, "stream", upload)
            if hasattr(stream, "seek"):
                stream.seek(0)
            out.append(documents.attach(OWNER, message.id, upload, user, field="files"))
    return out


def files_of(message_ids: list[int]) -> dict[int, list[Any]]:
    """Message id → its documents (the reader may see the conversation)."""
    if not message_ids or not attachments_available():
        return {}
    from sqlalchemy import select

    from marketplace.documents.models import Document
    from marketplace.extensions import db

    out: dict[int, list[Any]] = {}
    for doc in db.session.scalars(select(Document).where(Document.owner_kind == OWNER,
                                                         Document.owner_id.in_(message_ids)).order_by(Document.id)):
        out.setdefault(doc.owner_id, []).append(doc)
    return out

"""Documents through the API: list an owner's files, upload one (multipart/form-data), read its description and
its bytes, remove it — with the rules of ``marketplace.documents`` (what the caller may not see is a 404)."""
from __future__ import annotations

from typing import Any

from flask import Response, request, send_file
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import Select, select

from marketplace.api.blueprint import api_user, bp
from marketplace.api.openapi import PageQuery, operation
from marketplace.api.problems import Problem
from marketplace.core.validation import FieldError, ValidationFailed
from marketplace.documents import services as documents
from marketplace.documents.content import ACCEPTED_TEXT
from marketplace.documents.models import Document
from marketplace.documents.owners import owner_kinds
from marketplace.extensions import db

TAG = "Документы"
ID = "int(max=2147483647)"


class DocumentSchema(Schema):
    id = fields.Integer(required=True)
    owner_kind = fields.String(required=True)
    owner_id = fields.Integer(required=True)
    organization_id = fields.Integer(allow_none=True)
    filename = fields.String(required=True)
    file_type = fields.String(required=True, metadata={"description": "Тип по содержимому: pdf, png, dwg…"})
    content_type = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    url = fields.Function(lambda d: f"/api/v1/documents/{d.id}/content", metadata={"type": "string"})


def _known_kind(value: str) -> bool:
    """Read when asked: other slices register their kinds (``conversation_message``) after this module loads."""
    if value not in owner_kinds():
        raise ValidationError(f"одно из: {', '.join(owner_kinds())}")
    return True


KINDS_TEXT = "Вид владельца: listing, tender_response, organization, conversation_message."


class DocumentQuery(PageQuery):
    owner_kind = fields.String(required=True, validate=_known_kind, metadata={"description": KINDS_TEXT})
    owner_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))


UPLOAD = {"type": "object", "required": ["owner_kind", "owner_id", "file"], "properties": {
    "owner_kind": {"type": "string", "description": KINDS_TEXT},
    "owner_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    "file": {"type": "string", "format": "binary", "description": f"Допустимы {ACCEPTED_TEXT}."}}}


def _owner_or_404(kind: str, owner_id: int) -> None:
    try:
        documents.resolve_owner(api_user(), kind, owner_id)
    except documents.OwnerNotFound:
        raise Problem(404) from None


def _document(document_id: int) -> Document:
    found = documents.document_for(api_user(), document_id)
    if found is None:
        raise Problem(404)
    return found


@bp.get("/documents")
@operation("Файлы объекта (тем, кто видит объект)", TAG, query=DocumentQuery, response=DocumentSchema,
           paginated=True, errors=(404,))
def list_documents(query: dict[str, Any]) -> Select[Any]:
    _owner_or_404(query["owner_kind"], query["owner_id"])
    return (select(Document).where(Document.owner_kind == query["owner_kind"],
                                   Document.owner_id == query["owner_id"])
            .order_by(Document.created_at, Document.id))


@bp.post("/documents")
@operation("Прикрепить файл (тип проверяется по содержимому)", TAG, response=DocumentSchema, status=201,
           auth="required", multipart=UPLOAD, errors=(404,))
def upload_document() -> Document:
    kind = request.form.get("owner_kind") or ""
    owner_id = request.form.get("owner_id", type=int)
    errors = []
    if kind not in owner_kinds():
        errors.append(FieldError("owner_kind", f"одно из: {', '.join(owner_kinds())}"))
    if owner_id is None:
        errors.append(FieldError("owner_id", "целое число"))
    if errors:
        raise ValidationFailed(errors)
    _owner_or_404(kind, owner_id)
    document = documents.attach(kind, owner_id, request.files.get("file"), api_user())
    db.session.commit()
    return document


@bp.get(f"/documents/<{ID}:document_id>")
@operation("Описание файла", TAG, response=DocumentSchema)
def document(document_id: int) -> Document:
    return _document(document_id)


@bp.get(f"/documents/<{ID}:document_id>/content")
@operation("Содержимое файла", TAG)
def document_content(document_id: int) -> Response:
    found = _document(document_id)
    try:
        stream = documents.open(found)
    except FileNotFoundError:
        raise Problem(404) from None
    response = send_file(stream, mimetype=found.content_type, as_attachment=True, download_name=found.filename,
                         etag=found.sha256, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.delete(f"/documents/<{ID}:document_id>")
@operation("Удалить файл (владелец объекта, пока это разрешено)", TAG, status=204, auth="required",
           errors=(403,))
def delete_document(document_id: int) -> None:
    found = _document(document_id)
    if not documents.can_remove_document(api_user(), found):
        raise Problem(403, "Удалить файл может только владелец объекта, пока это разрешено.")
    documents.remove(found, api_user())
    db.session.commit()

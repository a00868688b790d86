"""Writing the audit trail and the outbox: services call these next to the change they make."""
from __future__ import annotations

from typing import Any

from marketplace.core.models import AuditLog, OutboxEvent
from marketplace.extensions import db


def record_audit(action: str, entity_type: str, entity_id: object, changes: dict[str, Any] | None = None,
                 *, user_id: int | None = None, actor: str | None = None) -> AuditLog:
    entry = AuditLog(action=action, entity_type=entity_type, entity_id=str(entity_id), changes=_jsonable(changes or {}),
                     user_id=user_id, actor=actor or (f"user:{user_id}" if user_id else "system"))
    db.session.add(entry)
    return entry


def record_outbox(entity_type: str, entity_id: int, op: str, *, topic: str = "search") -> OutboxEvent:
    if op not in {"upsert", "delete"}:
        raise ValueError(f"unknown outbox op {op!r}")
    event = OutboxEvent(entity_type=entity_type, entity_id=entity_id, op=op, topic=topic)
    db.session.add(event)
    return event


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)

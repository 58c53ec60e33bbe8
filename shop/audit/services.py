"""Recording operator actions. `record` adds the entry to the caller's
transaction, so an action and its audit row are committed (or lost) together."""

from sqlalchemy import select

from shop.audit.models import AuditEntry
from shop.extensions import db


def record(
    actor_id: int | None,
    action: str,
    target_type: str,
    target_id: int | None,
    *,
    label: str = "",
    reason: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    """Add an audit entry (no commit). `action` is a dotted name such as
    "producer.suspend"; `before`/`after` hold the changed fields as plain JSON values."""
    entry = AuditEntry(
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=label[:200],
        reason=(reason or "")[:2000],
        before=before,
        after=after,
    )
    db.session.add(entry)
    return entry


def snapshot(row, fields: tuple[str, ...]) -> dict:
    """The named fields of a row as JSON-ready values (dates and times as ISO text)."""
    out = {}
    for name in fields:
        value = getattr(row, name)
        out[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


def entries(
    *, action: str | None = None, target_type: str | None = None, target_id: int | None = None, limit: int = 200
):
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action))
    if target_type:
        stmt = stmt.where(AuditEntry.target_type == target_type)
    if target_id is not None:
        stmt = stmt.where(AuditEntry.target_id == target_id)
    return list(db.session.scalars(stmt))

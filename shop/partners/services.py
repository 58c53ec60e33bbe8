"""Telling partner channels about stock and price changes.

Every use case that changes a variant's available stock or price calls
`record_variant_changes(variant_ids)` before its commit: one WebhookDelivery row
per active partner and SKU, holding the exact JSON to send, with the next
sequence number of that (partner, SKU). The rows commit or roll back with the
change (an outbox). After the commit a task is queued; the worker's
`deliver_due` sends due rows, retries failures with exponential backoff and
gives up after WEBHOOK_MAX_ATTEMPTS. Deliveries of one SKU to one partner go
out in sequence order: a row waits while an earlier one is still pending.
A periodic task runs `deliver_due` too, so nothing is lost when Redis is down.
"""

import json
import secrets
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, func, insert, select, update
from sqlalchemy.orm import Session, aliased

from shop.catalog.models import Variant
from shop.database import rowcount
from shop.errors import ShopError
from shop.extensions import db
from shop.formatting import utcnow
from shop.partners import signing
from shop.partners.models import PartnerWebhook, WebhookDelivery
from shop.queue import enqueue

EVENT = "variant.updated"
LEASE = timedelta(seconds=60)  # a claimed row is left alone this long by other workers


def _setting(name: str, default):
    return current_app.config.get(name, default)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# --- partners (operator CLI) -----------------------------------------------------


def add_webhook(name: str, url: str) -> PartnerWebhook:
    """Register a partner endpoint; its secret is generated here (shown once by the CLI)."""
    name, url = (name or "").strip(), (url or "").strip()
    if not name or len(name) > 120:
        raise ShopError(_l("Tên đối tác từ 1 đến 120 ký tự."), code="bad_name")
    if not url.startswith(("https://", "http://")) or len(url) > 500:
        raise ShopError(_l("Địa chỉ phải bắt đầu bằng https:// (tối đa 500 ký tự)."), code="bad_url")
    hook = PartnerWebhook(name=name, url=url, secret="whsec_" + secrets.token_urlsafe(32))
    db.session.add(hook)
    db.session.commit()
    return hook


def list_webhooks() -> list[tuple[PartnerWebhook, dict[str, int]]]:
    """Every partner with the count of its deliveries by status."""
    counts: dict[int, dict[str, int]] = {}
    for hook_id, status, n in db.session.execute(
        select(WebhookDelivery.webhook_id, WebhookDelivery.status, func.count()).group_by(
            WebhookDelivery.webhook_id, WebhookDelivery.status
        )
    ):
        counts.setdefault(hook_id, {})[status] = n
    hooks = db.session.scalars(select(PartnerWebhook).order_by(PartnerWebhook.id))
    return [(h, counts.get(h.id, {})) for h in hooks]


# --- writing deliveries (no commit) ---------------------------------------------


def record_variant_changes(variant_ids: Iterable[int | None], now: datetime | None = None) -> int:
    """Write one delivery per active partner for each of these variants, with its
    CURRENT available stock and price, in the caller's transaction (no commit).

    Call it after this transaction has written the variants' rows (a stock or
    price UPDATE): that row lock is what orders two changes of the same SKU, so
    sequence numbers never collide. On PostgreSQL the rows are also locked here,
    in id order, in case the caller did not. Returns the number of rows written."""
    ids = sorted({i for i in variant_ids if i is not None})
    if not ids:
        return 0
    hook_ids = list(db.session.scalars(select(PartnerWebhook.id).where(PartnerWebhook.active.is_(True))))
    if not hook_ids:
        return 0
    session = db.session
    session.flush()
    current = select(Variant.id, Variant.sku, Variant.stock, Variant.price).where(Variant.id.in_(ids))
    if session.get_bind().dialect.name == "postgresql":
        current = current.order_by(Variant.id).with_for_update()
    variants = session.execute(current).all()
    skus = [v.sku for v in variants]
    last = {
        (hook_id, sku): seq
        for hook_id, sku, seq in session.execute(
            select(WebhookDelivery.webhook_id, WebhookDelivery.sku, func.max(WebhookDelivery.sequence))
            .where(WebhookDelivery.webhook_id.in_(hook_ids), WebhookDelivery.sku.in_(skus))
            .group_by(WebhookDelivery.webhook_id, WebhookDelivery.sku)
        )
    }
    now = now or utcnow()
    rows = []
    for hook_id in hook_ids:
        for v in variants:
            sequence = last.get((hook_id, v.sku), 0) + 1
            body = {
                "event": EVENT,
                "sku": v.sku,
                "available": v.stock,
                "price": v.price,
                "currency": "VND",
                "sequence": sequence,
                "occurred_at": _iso(now),
            }
            rows.append(
                {
                    "webhook_id": hook_id,
                    "sku": v.sku,
                    "sequence": sequence,
                    "event_type": EVENT,
                    "payload": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
    if rows:
        session.execute(insert(WebhookDelivery), rows)
        session.info["webhook_deliveries"] = True
    return len(rows)


_hooks_registered = False


def register_delivery_hooks() -> None:
    """After a commit that wrote deliveries, queue the sender once (the periodic
    task is the safety net when the queue is down)."""
    global _hooks_registered
    if _hooks_registered:
        return
    _hooks_registered = True

    @event.listens_for(Session, "after_commit")
    def queue_sender(session):
        if session.info.pop("webhook_deliveries", False):
            enqueue("partners.deliver_due")

    @event.listens_for(Session, "after_soft_rollback")
    def forget(session, _previous):
        session.info.pop("webhook_deliveries", None)


# --- the worker's side -----------------------------------------------------------


def _head_of_queue(d):
    """No earlier delivery of the same partner and SKU is still pending."""
    earlier = aliased(WebhookDelivery)
    return ~(
        select(earlier.id)
        .where(
            earlier.webhook_id == d.webhook_id,
            earlier.sku == d.sku,
            earlier.sequence < d.sequence,
            earlier.status == "pending",
        )
        .exists()
    )


def due_delivery_ids(now: datetime | None = None, limit: int = 100) -> list[int]:
    """Pending deliveries whose time has come and that are first in line for their SKU."""
    now = now or utcnow()
    d = WebhookDelivery
    return list(
        db.session.scalars(
            select(d.id)
            .join(PartnerWebhook, PartnerWebhook.id == d.webhook_id)
            .where(d.status == "pending", d.next_attempt_at <= now, PartnerWebhook.active.is_(True), _head_of_queue(d))
            .order_by(d.next_attempt_at, d.id)
            .limit(limit)
        )
    )


def backoff(attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: base·2^(n−1), at most six hours."""
    base = float(_setting("WEBHOOK_BACKOFF_SECONDS", 30))
    return timedelta(seconds=min(base * 2 ** (attempts - 1), 6 * 3600))


def deliver(delivery_id: int, now: datetime | None = None) -> str:
    """Send one delivery if it is still due and first in line. Returns "delivered",
    "retry" (failed, will be tried again), "failed" (gave up) or "skipped"."""
    now = now or utcnow()
    d = WebhookDelivery
    # Claim it: another worker skips a row whose next attempt is in the future.
    claimed = rowcount(
        db.session.execute(
            update(d)
            .where(d.id == delivery_id, d.status == "pending", d.next_attempt_at <= now, _head_of_queue(d))
            .values(next_attempt_at=now + LEASE, attempts=d.attempts + 1)
            .execution_options(synchronize_session=False)
        )
    )
    db.session.commit()
    if not claimed:
        return "skipped"
    row = db.session.get_one(WebhookDelivery, delivery_id)  # the claim above just updated it
    hook = row.webhook
    result = signing.send(
        hook.url,
        hook.secret,
        row.payload.encode("utf-8"),
        delivery_id=row.id,
        event=row.event_type,
        timeout=float(_setting("WEBHOOK_TIMEOUT_SECONDS", 5)),
    )
    if result.ok:
        row.status, row.delivered_at, row.last_error = "delivered", utcnow(), ""
        outcome = "delivered"
    elif row.attempts >= int(_setting("WEBHOOK_MAX_ATTEMPTS", 8)):
        row.status, row.last_error = "failed", result.error
        outcome = "failed"
    else:
        row.next_attempt_at, row.last_error = now + backoff(row.attempts), result.error
        outcome = "retry"
    db.session.commit()
    return outcome


def deliver_due(now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Send what is due, oldest first, at most `limit` attempts. A delivered row
    frees the next sequence of its SKU, which is sent in the same run."""
    now = now or utcnow()
    outcomes: Counter[str] = Counter()
    attempts = 0
    while attempts < limit:
        ids = due_delivery_ids(now, min(100, limit - attempts))
        if not ids:
            break
        for delivery_id in ids:
            outcomes[deliver(delivery_id, now)] += 1
            attempts += 1
        if outcomes["skipped"] >= attempts:  # everything was taken by another worker
            break
    return dict(outcomes)

"""Notifications by e-mail through an outbox.

A use case that causes a notice calls one of the `notify_*` functions before
its commit: they add an OutboxEmail row to the same transaction (nothing is sent
if the change rolls back), rendered in the recipient's language — or, for the
order e-mails that checkout writes, unrendered: the row says what to render and
the worker renders it once, before its first send (`render_outbox_row`). After
the commit the new rows are queued for the worker, one message per commit
(`register_outbox_hooks`); the worker's `send_outbox_email` sends a row once,
and a periodic sweeper sends rows whose task was lost (Redis down, worker died).
"""

import logging
from datetime import timedelta

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, case, event, or_, select, update
from sqlalchemy.orm import Session

from shop.accounts.models import ProducerInvite, ProducerMember, User
from shop.audit.services import record
from shop.catalog.models import Variant
from shop.database import rowcount
from shop.errors import NotFound
from shop.extensions import db
from shop.formatting import utcnow
from shop.notifications.mail import MaybeDelivered, send_email, stable_message_id
from shop.notifications.models import OutboxEmail
from shop.orders.models import Order, SubOrder
from shop.producers.models import Certificate, Producer
from shop.queue import enqueue
from shop.urls import absolute_url

log = logging.getLogger(__name__)
CLAIM_SECONDS = 300
LOW_STOCK = 5  # units left at which a SKU's producer is told it is running out


# --- writing rows (no commit) ------------------------------------------------


def queue_email(kind: str, dedupe_key: str, to: str, locale: str, template: str, subject_fn, **context) -> None:
    """Render `template` (.txt and .html under templates/email/) in `locale` and add
    an outbox row, unless a row with this `dedupe_key` exists already."""
    if not to or not _new_keys([dedupe_key]):
        return
    subject, text, html = _render(locale, template, subject_fn, context)
    db.session.add(
        OutboxEmail(kind=kind, dedupe_key=dedupe_key, to_email=to, subject=subject, text_body=text, html_body=html)
    )


def _new_keys(keys: list[str]) -> set[str]:
    """The dedupe keys no outbox row has yet, in the database or in this session."""
    taken = set(db.session.scalars(select(OutboxEmail.dedupe_key).where(OutboxEmail.dedupe_key.in_(keys))))
    taken.update(row.dedupe_key for row in db.session.new if isinstance(row, OutboxEmail))
    return set(keys) - taken


def _render(locale: str, template: str, subject_fn, context: dict) -> tuple[str, str, str]:
    with force_locale(locale or "vi"):
        subject = subject_fn()
        text = render_template(f"email/{template}.txt", **context)
        html = render_template(f"email/{template}.html", **context)
    return subject, text, html


def _producer_recipients(producer: Producer) -> list[tuple[str, str]]:
    """(email, locale) of whoever runs the producer: its members, or its contact e-mail."""
    return _producers_to_tell([producer.id])[producer.id][1]


def _producers_to_tell(producer_ids: list[int]) -> dict[int, tuple[str, list[tuple[str, str]]]]:
    """Each producer's name and (email, locale) of whoever runs it — its active members,
    or else its contact e-mail — in one query, without loading the producers."""
    names: dict[int, str] = {}
    contacts: dict[int, str] = {}
    members: dict[int, list[tuple[str, str]]] = {producer_id: [] for producer_id in producer_ids}
    for producer_id, name, contact, email, locale in db.session.execute(
        select(Producer.id, Producer.name, Producer.email, User.email, User.locale)
        .outerjoin(ProducerMember, ProducerMember.producer_id == Producer.id)
        .outerjoin(User, and_(User.id == ProducerMember.user_id, User.active.is_(True)))
        .where(Producer.id.in_(producer_ids))
        .order_by(Producer.id, User.id)
    ):
        names[producer_id], contacts[producer_id] = name, contact
        if email:
            members[producer_id].append((email, locale))
    return {
        producer_id: (name, members[producer_id] or ([(contacts[producer_id], "vi")] if contacts[producer_id] else []))
        for producer_id, name in names.items()
    }


def order_link(order: Order) -> str:
    """The order page; guests get the secret that lets them in without an account."""
    if order.user_id is None:
        return absolute_url("orders.detail", number=order.number, t=order.access_token)
    return absolute_url("orders.detail", number=order.number)


def notify_order_placed(order: Order) -> None:
    """The shopper's confirmation and one new-order notice per producer of the order,
    written unrendered: the worker renders them (`render_outbox_row`). Everything
    they show is stored on the order as placed (prices, lines, address); the shop
    names are copied here, since a producer may rename its shop before the worker runs."""
    told = _producers_to_tell([sub.producer_id for sub in order.sub_orders])
    names = {str(sub.id): told[sub.producer_id][0] for sub in order.sub_orders}
    rows = []
    if order.email:
        params = {"order_id": order.id, "locale": order.locale or "vi", "link": order_link(order), "names": names}
        rows.append(("order_placed", f"order_placed:{order.id}", order.email, params))
    portal = _has_portal_orders()
    for sub in order.sub_orders:
        link = absolute_url("portal.order_detail", sub_order_id=sub.id) if portal else ""
        for email, locale in told[sub.producer_id][1]:
            params = {"order_id": order.id, "sub_order_id": sub.id, "locale": locale or "vi", "link": link}
            params["names"] = {str(sub.id): names[str(sub.id)]}
            rows.append(("new_order", f"new_order:{sub.id}:{email}", email, params))
    new = _new_keys([key for _kind, key, _to, _params in rows])
    for kind, key, to, params in rows:
        if key in new:
            db.session.add(OutboxEmail(kind=kind, dedupe_key=key, to_email=to, subject="", text_body="", params=params))


def _order_placed_mail(params: dict) -> tuple:
    order = db.session.get_one(Order, params["order_id"])
    names = {int(sub_id): name for sub_id, name in params["names"].items()}
    subject = lambda: _("Chợ OCOP: đã nhận đơn hàng %(number)s", number=order.number)  # noqa: E731
    return subject, {"order": order, "link": params["link"], "names": names}


def _new_order_mail(params: dict) -> tuple:
    sub = db.session.get_one(SubOrder, params["sub_order_id"])
    names = {int(sub_id): name for sub_id, name in params["names"].items()}
    subject = lambda: _("Đơn mới %(number)s trên Chợ OCOP", number=sub.order.number)  # noqa: E731
    return subject, {"order": sub.order, "sub": sub, "link": params["link"], "names": names}


# The e-mails written unrendered: kind → (params → subject function, template context).
LATER = {"order_placed": _order_placed_mail, "new_order": _new_order_mail}


def render_outbox_row(row: OutboxEmail) -> None:
    """Render a row written unrendered into its subject and bodies (no commit)."""
    if row.params is None:
        return
    subject_fn, context = LATER[row.kind](row.params)
    row.subject, row.text_body, row.html_body = _render(row.params["locale"], row.kind, subject_fn, context)
    row.params = None


def _has_portal_orders() -> bool:
    return "portal.order_detail" in current_app.view_functions


def notify_shipped(sub: SubOrder) -> None:
    order = sub.order
    queue_email(
        "shipped",
        f"shipped:{sub.id}",
        order.email,
        order.locale,
        "shipped",
        lambda: _("Đơn %(number)s đang được giao", number=order.number),
        order=order,
        sub=sub,
        link=order_link(order),
    )


def notify_cancelled(sub: SubOrder, reason: str) -> None:
    order = sub.order
    queue_email(
        "cancelled",
        f"cancelled:{sub.id}",
        order.email,
        order.locale,
        "cancelled",
        lambda: _("Đơn %(number)s: một phần đã bị huỷ", number=order.number),
        order=order,
        sub=sub,
        reason=reason,
        link=order_link(order),
    )


def notify_refunded(sub: SubOrder, refund_id: int, amount: int) -> None:
    order = sub.order
    queue_email(
        "refunded",
        f"refunded:{refund_id}",
        order.email,
        order.locale,
        "refunded",
        lambda: _("Đơn %(number)s: đã hoàn tiền", number=order.number),
        order=order,
        sub=sub,
        amount=amount,
        link=order_link(order),
    )


def notify_low_stock(variant_ids: list[int], threshold: int = LOW_STOCK) -> None:
    """Tell the producer about SKUs that just went to `threshold` or below (once a day each)."""
    if not variant_ids:
        return
    today = utcnow().date().isoformat()
    for variant in db.session.scalars(select(Variant).where(Variant.id.in_(variant_ids), Variant.stock <= threshold)):
        producer = variant.product.producer
        for email, locale in _producer_recipients(producer):
            queue_email(
                "low_stock",
                f"low_stock:{variant.id}:{today}:{email}",
                email,
                locale,
                "low_stock",
                lambda v=variant: _("Sắp hết hàng: %(sku)s", sku=v.sku),
                variant=variant,
            )


def notify_certificate_expiring(certificate: Certificate, days: int) -> None:
    for email, locale in _producer_recipients(certificate.producer):
        queue_email(
            "certificate_expiring",
            f"certificate_expiring:{certificate.id}:{days}:{email}",
            email,
            locale,
            "certificate_expiring",
            lambda: _("Giấy chứng nhận OCOP hết hạn sau %(days)s ngày", days=days),
            certificate=certificate,
            days=days,
        )


def notify_application_decided(producer_id: int) -> None:
    producer = db.session.get(Producer, producer_id)
    if producer is None:  # queued by id; nothing to tell about a row that is gone
        return
    stamp = (producer.reviewed_at or utcnow()).isoformat()
    for email, locale in _producer_recipients(producer):
        queue_email(
            "application_decided",
            f"application:{producer.id}:{producer.status}:{stamp}:{email}",
            email,
            locale,
            "application_decided",
            lambda: (
                _("Hồ sơ bán hàng trên Chợ OCOP đã được duyệt")
                if producer.status == "approved"
                else _("Hồ sơ bán hàng trên Chợ OCOP chưa được duyệt")
            ),
            producer=producer,
            link=absolute_url("portal.dashboard") if "portal.dashboard" in current_app.view_functions else "",
        )


def notify_invite(invite_id: int, token: str) -> None:
    invite = db.session.get(ProducerInvite, invite_id)
    if invite is None:  # revoked (deleted) before the e-mail went out
        return
    link = (
        absolute_url("portal.accept_invite", token=token)
        if "portal.accept_invite" in current_app.view_functions
        else ""
    )
    queue_email(
        "invite",
        f"invite:{invite.id}",
        invite.email,
        "vi",
        "invite",
        lambda: _("Lời mời tham gia gian hàng %(name)s trên Chợ OCOP", name=invite.producer.name),
        invite=invite,
        link=link,
    )


# --- after the commit ----------------------------------------------------------

_hooks_registered = False


def register_outbox_hooks() -> None:
    """Queue each new outbox row once the transaction that wrote it has committed
    (Session-wide listeners, installed once per process)."""
    global _hooks_registered
    if _hooks_registered:
        return
    _hooks_registered = True

    @event.listens_for(Session, "after_flush")
    def collect(session, _context):
        new = [obj.id for obj in session.new if isinstance(obj, OutboxEmail)]
        if new:
            session.info.setdefault("outbox_ids", []).extend(new)

    @event.listens_for(Session, "after_commit")
    def queue(session):
        queue_sends(session.info.pop("outbox_ids", []))

    @event.listens_for(Session, "after_soft_rollback")
    def forget(session, _previous):
        session.info.pop("outbox_ids", None)


def queue_sends(outbox_ids: list[int]) -> None:
    """One Celery message for the rows of one commit (an order's confirmation and its
    producers' notices), not one per row: each row is still claimed and sent on its own."""
    if len(outbox_ids) == 1:
        enqueue("notifications.send", outbox_ids[0])
    elif outbox_ids:
        enqueue("notifications.send_many", list(outbox_ids))


# --- the worker's side ---------------------------------------------------------


def claim_seconds() -> int:
    """How long a claim keeps other senders off a row: longer than the slowest
    SMTP conversation can last (each of its ~6 steps may wait MAIL_TIMEOUT), so a
    send that is merely slow is never taken over and sent a second time."""
    return max(CLAIM_SECONDS, int(6 * float(current_app.config["MAIL_TIMEOUT"])) + 60)


def _retry_delay(attempts: int) -> timedelta:
    base = int(current_app.config["OUTBOX_RETRY_SECONDS"])
    return timedelta(seconds=min(base * 2 ** max(0, attempts - 1), 3600))


def message_id_of(row: OutboxEmail) -> str:
    """The same Message-ID for every copy of a row."""
    return stable_message_id(f"outbox:{row.id}:{row.dedupe_key}:{row.created_at.isoformat()}")


def send_outbox_email(outbox_id: int, claimant: str) -> bool:
    """Send one outbox row unless it was sent already, has failed for good, waits
    for its next attempt, or another task is on it. A task redelivered after its
    worker died carries the same `claimant` (its task id) and takes the row back
    at once; taking over a claim counts as an attempt that may have been sent.
    A failed attempt is not raised: the row gets its next attempt after a backoff
    (the sweeper queues it), until OUTBOX_MAX_ATTEMPTS attempts, or
    OUTBOX_MAX_MAYBE_SENT attempts that may have arrived, mark it failed. Every
    copy carries the row's Message-ID. Returns True when it sent."""
    config = current_app.config
    now = utcnow()
    taken = rowcount(
        db.session.execute(
            update(OutboxEmail)
            .where(
                OutboxEmail.id == outbox_id,
                OutboxEmail.sent_at.is_(None),
                OutboxEmail.failed_at.is_(None),
                or_(
                    and_(OutboxEmail.claimed_at.is_not(None), OutboxEmail.claimed_by == claimant),
                    and_(
                        OutboxEmail.claimed_at.is_(None),
                        or_(OutboxEmail.next_attempt_at.is_(None), OutboxEmail.next_attempt_at <= now),
                    ),
                    OutboxEmail.claimed_at < now - timedelta(seconds=claim_seconds()),
                ),
            )
            .values(
                claimed_at=now,
                claimed_by=claimant,
                attempts=OutboxEmail.attempts + 1,
                # A claim still held means the attempt holding it ended without a word.
                maybe_sent=OutboxEmail.maybe_sent + case((OutboxEmail.claimed_at.is_not(None), 1), else_=0),
            )
            .execution_options(synchronize_session=False)
        )
    )
    db.session.commit()
    if not taken:
        return False
    row = db.session.get_one(OutboxEmail, outbox_id)  # the claim above just updated it
    db.session.refresh(row)
    max_attempts, max_maybe = int(config["OUTBOX_MAX_ATTEMPTS"]), int(config["OUTBOX_MAX_MAYBE_SENT"])
    if row.attempts > max_attempts or row.maybe_sent >= max_maybe:
        _give_up(row, row.last_error or "an attempt ended without an answer (worker stopped)")
        return False
    if row.params is not None:
        # Rendered once, under the claim, and committed before any send: a later
        # attempt sends exactly these bytes.
        try:
            render_outbox_row(row)
            db.session.commit()
        except Exception as exc:  # noqa: BLE001 - recorded on the row and retried later, as a failed send
            db.session.rollback()
            return _attempt_failed(row, exc)
    try:
        send_email(row.to_email, row.subject, row.text_body, row.html_body or None, message_id=message_id_of(row))
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row and retried later
        return _attempt_failed(row, exc)
    row.sent_at, row.last_error = utcnow(), ""
    db.session.commit()
    return True


def _attempt_failed(row: OutboxEmail, exc: Exception) -> bool:
    """Record a failed attempt: the row's next attempt after a backoff, or given up."""
    config = current_app.config
    max_attempts, max_maybe = int(config["OUTBOX_MAX_ATTEMPTS"]), int(config["OUTBOX_MAX_MAYBE_SENT"])
    error = f"{type(exc).__name__}: {exc}"[:1000]
    if isinstance(exc, MaybeDelivered):
        row.maybe_sent += 1
    row.claimed_at, row.claimed_by, row.last_error = None, "", error
    if row.attempts >= max_attempts or row.maybe_sent >= max_maybe:
        _give_up(row, error)
    else:
        row.next_attempt_at = utcnow() + _retry_delay(row.attempts)
        db.session.commit()
        log.warning("e-mail %s attempt %s failed (%s); next at %s", row.id, row.attempts, error, row.next_attempt_at)
    return False


def _give_up(row: OutboxEmail, error: str) -> None:
    row.failed_at, row.claimed_at, row.claimed_by, row.next_attempt_at = utcnow(), None, "", None
    row.last_error = error[:1000]
    db.session.commit()
    log.error("e-mail %s to %s given up after %s attempts: %s", row.id, row.to_email, row.attempts, error)


def unsent_outbox_ids(older_than_seconds: int | None = None, limit: int = 500) -> list[int]:
    """Rows nobody has sent and that are due: their task was lost, or their last
    attempt failed and its backoff is over, or a claim ran out. Rows younger than
    OUTBOX_SWEEP_MIN_AGE_SECONDS are left to their own task; failed rows wait for
    an operator ("Gửi lại" in /ops)."""
    if older_than_seconds is None:
        older_than_seconds = current_app.config["OUTBOX_SWEEP_MIN_AGE_SECONDS"]
    now = utcnow()
    return list(
        db.session.scalars(
            select(OutboxEmail.id)
            .where(
                OutboxEmail.sent_at.is_(None),
                OutboxEmail.failed_at.is_(None),
                OutboxEmail.created_at < now - timedelta(seconds=older_than_seconds),
                or_(
                    and_(
                        OutboxEmail.claimed_at.is_(None),
                        or_(OutboxEmail.next_attempt_at.is_(None), OutboxEmail.next_attempt_at <= now),
                    ),
                    OutboxEmail.claimed_at < now - timedelta(seconds=claim_seconds()),
                ),
            )
            .order_by(OutboxEmail.id)
            .limit(limit)
        )
    )


def failed_emails(limit: int = 200) -> list[OutboxEmail]:
    """E-mails given up on, newest first (the operators' list)."""
    return list(
        db.session.scalars(
            select(OutboxEmail)
            .where(OutboxEmail.failed_at.is_not(None), OutboxEmail.sent_at.is_(None))
            .order_by(OutboxEmail.failed_at.desc(), OutboxEmail.id.desc())
            .limit(limit)
        )
    )


def resend_failed(outbox_id: int, actor_id: int) -> OutboxEmail:
    """An operator sends a failed e-mail again: its attempts start over (same
    Message-ID), recorded in the audit log. The caller queues
    "notifications.send" after this commits."""
    row = db.session.scalars(select(OutboxEmail).where(OutboxEmail.id == outbox_id).with_for_update()).first()
    if row is None or row.failed_at is None or row.sent_at is not None:
        raise NotFound(_("Không tìm thấy e-mail gửi lỗi này."))
    before = {"attempts": row.attempts, "failed_at": row.failed_at.isoformat(), "last_error": row.last_error}
    row.failed_at = row.next_attempt_at = row.claimed_at = None
    row.claimed_by, row.attempts, row.maybe_sent = "", 0, 0
    record(
        actor_id,
        "email.resend",
        "outbox_email",
        row.id,
        label=f"{row.kind} → {row.to_email}",
        before=before,
        after={"attempts": 0, "failed_at": None},
    )
    db.session.commit()
    return row


def queue_certificate_reminders(today=None) -> int:
    """Write the 60/30/7-day reminders due today (idempotent by dedupe key); commits."""
    from shop.formatting import today_vn

    today = today or today_vn()
    written = 0
    for days in (60, 30, 7):
        for certificate in db.session.scalars(
            select(Certificate).where(
                Certificate.state == "verified", Certificate.expires_on == today + timedelta(days=days)
            )
        ):
            notify_certificate_expiring(certificate, days)
            written += 1
    db.session.commit()
    return written

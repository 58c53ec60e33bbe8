"""E-mails that operator decisions send to producers, through the outbox.

Each builder adds outbox rows to the caller's transaction (nothing is sent if the
decision rolls back). A producer is written to at its contact address and at
its owners' accounts, once per address, each in its reader's language."""

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from shop.accounts.models import ProducerMember, User
from shop.extensions import db
from shop.formatting import utcnow
from shop.notifications.services import queue_email
from shop.producers.models import Certificate, Producer
from shop.urls import absolute_url

# The outbox kind of each producer decision.
_STATUS_KINDS = {
    "approve": "application_decided",
    "reject": "application_decided",
    "suspend": "producer_status",
    "reinstate": "producer_status",
}


def producer_recipients(producer: Producer) -> list[tuple[str, str]]:
    """(email, locale) pairs: the owners' active accounts, then the producer's contact
    address if it is a different one (case does not make an address different)."""
    rows = db.session.execute(
        select(User.email, User.locale)
        .join(ProducerMember, ProducerMember.user_id == User.id)
        .where(ProducerMember.producer_id == producer.id, ProducerMember.role == "owner", User.active.is_(True))
        .order_by(User.id)
    ).all()
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for email, locale in [*rows, (producer.email, "vi")]:
        key = (email or "").strip().lower()
        if key and key not in seen:
            seen.add(key)
            found.append((email.strip(), locale or "vi"))
    return found


def _portal_link() -> str:
    return absolute_url("portal.dashboard") if "portal.dashboard" in current_app.view_functions else ""


def _subject(action: str) -> str:
    return {
        "approve": _("Hồ sơ bán hàng trên Chợ OCOP đã được duyệt"),
        "reject": _("Hồ sơ bán hàng trên Chợ OCOP chưa được duyệt"),
        "suspend": _("Gian hàng của bạn trên Chợ OCOP bị tạm ngưng"),
        "reinstate": _("Gian hàng của bạn trên Chợ OCOP đã hoạt động trở lại"),
    }[action]


def notify_producer_status(producer: Producer, action: str, reason: str) -> None:
    """Tell the producer its application was approved/rejected, or its shop was
    suspended/reinstated, with the operator's reason."""
    kind = _STATUS_KINDS[action]
    stamp = (producer.reviewed_at or utcnow()).isoformat()
    for email, locale in producer_recipients(producer):
        queue_email(
            kind,
            f"producer:{producer.id}:{action}:{stamp}:{email.lower()}",
            email,
            locale,
            "producer_status",
            lambda: _subject(action),
            producer=producer,
            action=action,
            reason=reason,
            link=_portal_link(),
        )


def notify_certificate_rejected(certificate: Certificate, reason: str) -> None:
    """Tell the producer why a certificate was not accepted, so it can send it again."""
    link = absolute_url("portal.certificates") if "portal.certificates" in current_app.view_functions else ""
    for email, locale in producer_recipients(certificate.producer):
        queue_email(
            "certificate_rejected",
            f"certificate_rejected:{certificate.id}:{email.lower()}",
            email,
            locale,
            "certificate_rejected",
            lambda: _("Giấy chứng nhận OCOP chưa được xác minh: %(product)s", product=certificate.product.name),
            certificate=certificate,
            reason=reason,
            link=link or _portal_link(),
        )

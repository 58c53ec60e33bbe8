"""Operator use cases on producers and certificates.

Each takes plain values (the acting operator's user id first), commits once,
and records an audit entry in the same transaction. Changes that shoppers see
(a producer's products listed or not, a product's stars) end in
`commit_catalog_change` for the products concerned. Reasons are kept on the rows
(`Producer.status_reason`, `Certificate.rejection_reason`) and e-mailed to the
producer through the outbox."""

from flask_babel import gettext as _
from sqlalchemy import select

from shop.audit.services import record, snapshot
from shop.catalog.models import Product
from shop.catalog.services import commit_catalog_change
from shop.errors import NotFound, ShopError
from shop.extensions import db
from shop.formatting import utcnow
from shop.operator import notices
from shop.operator.queries import PRODUCER_STATUS_LABELS
from shop.producers.models import Certificate, Producer

PRODUCER_FIELDS = ("status", "status_reason")
CERTIFICATE_FIELDS = ("state", "rejection_reason", "verified_at")
REASON_MAX = 2000


class ReviewError(ShopError):
    """A decision the operator must correct (a missing reason, a decided row)."""

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message, code=code)
        self.field = field


def _reason(reason: str | None, required: bool, message: str | None = None) -> str:
    value = (reason or "").strip()
    if required and not value:
        raise ReviewError(
            message or _("Nhập lý do từ chối: người bán sẽ đọc lý do này."), code="reason_required", field="reason"
        )
    if len(value) > REASON_MAX:
        raise ReviewError(_("Lý do dài tối đa %(n)s ký tự.", n=REASON_MAX), code="reason_too_long", field="reason")
    return value


def _producer(producer_id: int) -> Producer:
    """The producer, locked for the rest of the transaction (two operators acting on
    one producer at once: the second sees the first's decision)."""
    producer = db.session.scalars(select(Producer).where(Producer.id == producer_id).with_for_update()).first()
    if producer is None:
        raise NotFound(_("Không tìm thấy nhà sản xuất."))
    return producer


def get_certificate(certificate_id: int) -> Certificate:
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None:
        raise NotFound(_("Không tìm thấy giấy chứng nhận."))
    return certificate


def _product_ids(producer_id: int) -> list[int]:
    return list(db.session.scalars(select(Product.id).where(Product.producer_id == producer_id)))


def _change_status(actor_id: int, producer: Producer, action: str, status: str, reason: str) -> None:
    before = snapshot(producer, PRODUCER_FIELDS)
    producer.status = status
    producer.status_reason = reason if status in ("rejected", "suspended") else ""
    producer.reviewed_at = utcnow()
    record(
        actor_id,
        f"producer.{action}",
        "producer",
        producer.id,
        label=producer.name,
        reason=reason,
        before=before,
        after=snapshot(producer, PRODUCER_FIELDS),
    )
    notices.notify_producer_status(producer, action, reason)
    # Listing follows the producer's status (refresh_products: listed needs "approved").
    commit_catalog_change(_product_ids(producer.id))


# --- producers -----------------------------------------------------------------------


def decide_application(
    actor_id: int, producer_id: int, approve: bool, reason: str = "", verify_certificate_ids: tuple[int, ...] = ()
) -> int:
    """Approve a pending application or reject it with a reason the applicant sees.
    Approving verifies, in the same transaction, the application's certificates named
    in `verify_certificate_ids` (each must be the producer's, pending, with its
    document); the others stay pending, and their products off sale until verified
    (OCOP-only). The applicant is e-mailed through the outbox. Returns how many of
    the producer's certificates are still waiting to be verified."""
    producer = _producer(producer_id)
    reason = _reason(reason, required=not approve)
    if producer.status != "pending":
        raise ReviewError(_("Hồ sơ này đã được xử lý."), code="already_decided")
    if not approve:
        _change_status(actor_id, producer, "reject", "rejected", reason)
        return 0
    pending = {
        c.id: c
        for c in db.session.scalars(
            select(Certificate)
            .where(Certificate.producer_id == producer.id, Certificate.state == "pending")
            .with_for_update()
        )
    }
    for certificate_id in sorted(set(verify_certificate_ids)):
        certificate = pending.pop(certificate_id, None)
        if certificate is None:
            raise ReviewError(_("Giấy chứng nhận này không thuộc hồ sơ hoặc đã được xử lý."), code="not_pending")
        _decide_certificate(actor_id, certificate, True, "")
    _change_status(actor_id, producer, "approve", "approved", reason)
    return len(pending)


def suspend_producer(actor_id: int, producer_id: int, reason: str) -> None:
    """Suspend an approved producer: all its products leave the storefront at once
    (and every cached page with them). The reason is e-mailed to the producer."""
    producer = _producer(producer_id)
    reason = _reason(reason, required=True, message=_("Nhập lý do tạm ngưng: nhà sản xuất sẽ nhận được lý do này."))
    if producer.status != "approved":
        raise ReviewError(
            _(
                "Chỉ tạm ngưng được nhà sản xuất đang hoạt động (hiện: %(status)s).",
                status=status_label(producer.status),
            ),
            code="not_approved",
        )
    _change_status(actor_id, producer, "suspend", "suspended", reason)


def reinstate_producer(actor_id: int, producer_id: int, reason: str) -> None:
    """Lift a suspension: the producer's published products are listed again."""
    producer = _producer(producer_id)
    reason = _reason(reason, required=True, message=_("Nhập lý do mở lại: nhà sản xuất sẽ nhận được lý do này."))
    if producer.status != "suspended":
        raise ReviewError(
            _("Chỉ mở lại được nhà sản xuất đang tạm ngưng (hiện: %(status)s).", status=status_label(producer.status)),
            code="not_suspended",
        )
    _change_status(actor_id, producer, "reinstate", "approved", reason)


def status_label(status: str) -> str:
    return str(PRODUCER_STATUS_LABELS.get(status, status))


# --- certificates ----------------------------------------------------------------------


def decide_certificate(actor_id: int, certificate_id: int, verify: bool, reason: str = "") -> None:
    """Verify a certificate (the product then shows its stars, and is on sale, until it
    expires) or reject it with a reason the producer sees on its certificates page and
    by e-mail. Only a certificate with its decision document can be verified."""
    certificate = db.session.scalars(
        select(Certificate).where(Certificate.id == certificate_id).with_for_update()
    ).first()
    if certificate is None:
        raise NotFound(_("Không tìm thấy giấy chứng nhận."))
    _decide_certificate(actor_id, certificate, verify, reason)
    commit_catalog_change([certificate.product_id])


def _decide_certificate(actor_id: int, certificate: Certificate, verify: bool, reason: str) -> None:
    """The decision on a locked certificate, audited (no commit)."""
    reason = _reason(reason, required=not verify)
    if certificate.state != "pending":
        raise ReviewError(_("Giấy chứng nhận này đã được xử lý."), code="already_decided")
    if verify and not certificate.document_path:
        raise ReviewError(
            _("Không thể xác minh giấy chứng nhận chưa có tài liệu quyết định: hãy đề nghị người bán tải lên."),
            code="no_document",
        )
    before = snapshot(certificate, CERTIFICATE_FIELDS)
    certificate.state = "verified" if verify else "rejected"
    certificate.verified_at = utcnow() if verify else None
    certificate.rejection_reason = "" if verify else reason
    record(
        actor_id,
        "certificate.verify" if verify else "certificate.reject",
        "certificate",
        certificate.id,
        label=f"{certificate.product.name} · {certificate.decision_number}",
        reason=reason,
        before=before,
        after=snapshot(certificate, CERTIFICATE_FIELDS),
    )
    if not verify:
        notices.notify_certificate_rejected(certificate, reason)

"""Operator use cases: decide producer applications and verify certificates.

Each takes plain values, commits once, and ends in `commit_catalog_change` for
the products whose visibility or stars change. Reasons are kept on the rows
(`Producer.status_reason`, `Certificate.rejection_reason`) with the time of the
decision."""

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from shop.catalog.models import Product
from shop.catalog.services import commit_catalog_change
from shop.errors import NotFound, ShopError
from shop.extensions import db
from shop.formatting import utcnow
from shop.notifications.services import notify_application_decided
from shop.producers.models import Certificate, Producer


class ReviewError(ShopError):
    """A decision the operator must correct (a missing reason, a decided row)."""

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message, code=code)
        self.field = field


def _reason(reason: str | None, required: bool) -> str:
    value = (reason or "").strip()
    if required and not value:
        raise ReviewError(_("Nhập lý do từ chối: người bán sẽ đọc lý do này."), code="reason_required", field="reason")
    return value[:2000]


# --- reads ---------------------------------------------------------------------


def pending_applications() -> list[Producer]:
    """Producers waiting for a decision, oldest first, with their certificates."""
    return list(
        db.session.scalars(
            select(Producer)
            .where(Producer.status == "pending")
            .options(
                selectinload(Producer.province),
                selectinload(Producer.certificates).selectinload(Certificate.product),
            )
            .order_by(Producer.created_at, Producer.id)
        )
    )


def pending_certificates() -> list[Certificate]:
    """Certificates waiting to be verified, oldest first."""
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.state == "pending")
            .options(
                selectinload(Certificate.producer),
                selectinload(Certificate.product),
                selectinload(Certificate.issuing_province),
            )
            .order_by(Certificate.created_at, Certificate.id)
        )
    )


def get_certificate(certificate_id: int) -> Certificate:
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None:
        raise NotFound(_("Không tìm thấy giấy chứng nhận."))
    return certificate


# --- decisions -----------------------------------------------------------------------


def decide_application(producer_id: int, approve: bool, reason: str = "") -> None:
    """Approve a pending application (its published products become visible) or
    reject it with a reason the applicant sees. Certificates are verified separately.
    The applicant is e-mailed through the outbox."""
    producer = db.session.get(Producer, producer_id)
    if producer is None:
        raise NotFound(_("Không tìm thấy hồ sơ."))
    reason = _reason(reason, required=not approve)
    if producer.status != "pending":
        raise ReviewError(_("Hồ sơ này đã được xử lý."), code="already_decided")
    producer.status = "approved" if approve else "rejected"
    producer.status_reason = "" if approve else reason
    producer.reviewed_at = utcnow()
    notify_application_decided(producer.id)
    product_ids = db.session.scalars(select(Product.id).where(Product.producer_id == producer.id)).all()
    commit_catalog_change(product_ids)


def decide_certificate(certificate_id: int, verify: bool, reason: str = "") -> None:
    """Verify a certificate (the product then shows its stars until it expires) or
    reject it with a reason the producer sees on its certificates page."""
    certificate = get_certificate(certificate_id)
    reason = _reason(reason, required=not verify)
    if certificate.state != "pending":
        raise ReviewError(_("Giấy chứng nhận này đã được xử lý."), code="already_decided")
    certificate.state = "verified" if verify else "rejected"
    certificate.verified_at = utcnow() if verify else None
    certificate.rejection_reason = "" if verify else reason
    commit_catalog_change([certificate.product_id])

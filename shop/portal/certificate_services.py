"""Producer portal use cases: OCOP certificates (entered with their decision document)."""

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from shop.catalog.services import commit_catalog_change
from shop.extensions import db
from shop.formatting import today_vn
from shop.places.models import Province
from shop.portal.catalog_services import get_product
from shop.portal.files import _checked_document, _new_files, _store_document
from shop.portal.inputs import PortalError, Upload, _province, _text, get_producer
from shop.producers.models import ISSUING_LEVELS, Certificate
from shop.producers.rules import certificate_expiry


@dataclass(frozen=True)
class CertificateDetails:
    stars: int | None
    decision_number: str
    decision_date: date | None
    issuing_level: str
    issuing_province_id: int | None = None  # a province decision: the producer's province when not given


def _certificate_values(details: CertificateDetails, home: Province) -> dict:
    """The columns of a new certificate, checked: stars, decision, level and its expiry."""
    if details.stars not in (3, 4, 5):
        raise PortalError(_("Chọn hạng sao (3, 4 hoặc 5)."), code="invalid_stars", field="stars")
    number = _text(details.decision_number, "decision_number", 80, _("Nhập số quyết định, ví dụ 1234/QĐ-UBND."))
    if details.decision_date is None:
        raise PortalError(_("Nhập ngày ra quyết định."), code="date_required", field="decision_date")
    today = today_vn()
    if details.decision_date > today:
        raise PortalError(_("Ngày quyết định không thể ở tương lai."), code="future_date", field="decision_date")
    expires = certificate_expiry(details.decision_date)
    if expires < today:
        raise PortalError(
            _("Quyết định này đã hết hiệu lực (36 tháng). Hãy nhập quyết định công nhận lại."),
            code="expired",
            field="decision_date",
        )
    if details.issuing_level not in ISSUING_LEVELS:
        raise PortalError(_("Chọn cấp công nhận."), code="invalid_level", field="issuing_level")
    # Decision 148/QĐ-TTg: provinces rank 3 and 4 stars, the central council ranks 5.
    if (details.stars == 5) != (details.issuing_level == "central"):
        raise PortalError(
            _("Sản phẩm 5 sao do Trung ương công nhận; 3 và 4 sao do UBND tỉnh công nhận."),
            code="level_mismatch",
            field="issuing_level",
        )
    issuing_province = None
    if details.issuing_level == "province":
        issuing_province = (
            _province(details.issuing_province_id, "issuing_province_id") if details.issuing_province_id else home
        )
    return {
        "stars": details.stars,
        "decision_number": number,
        "decision_date": details.decision_date,
        "issuing_level": details.issuing_level,
        "issuing_province": issuing_province,
        "expires_on": expires,
    }


def list_certificates(producer_id: int) -> list[Certificate]:
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.producer_id == producer_id)
            .options(selectinload(Certificate.product), selectinload(Certificate.issuing_province))
            .order_by(Certificate.created_at.desc(), Certificate.id.desc())
        )
    )


def add_certificate(
    producer_id: int, product_id: int | None, details: CertificateDetails, document: Upload | None
) -> int:
    """Submit an OCOP decision for one of the producer's products; an operator
    verifies it before the product shows its stars."""
    producer = get_producer(producer_id)
    if not product_id:
        raise PortalError(_("Chọn sản phẩm."), code="product_required", field="product_id")
    product = get_product(producer_id, product_id)
    values = _certificate_values(details, producer.province)
    ext, data = _checked_document(document)
    cert = Certificate(producer=producer, product=product, state="pending", **values)
    db.session.add(cert)
    with _new_files() as written:
        cert.document_path = _store_document(producer.id, ext, data, written)
        commit_catalog_change([product.id])
    return cert.id

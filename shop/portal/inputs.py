"""The producer portal's refusals (PortalError), the checks its use cases share and the producer they act for."""

import secrets
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select

from shop.accounts.phone import InvalidPhone, normalise_phone
from shop.accounts.rules import InvalidEmail, normalise_email
from shop.catalog.models import Category
from shop.errors import NotFound, ShopError
from shop.extensions import db
from shop.places.models import Province, Ward
from shop.producers.models import Producer
from shop.text import slugify


class PortalError(ShopError):
    """A refusal about one field of a form (`field`), or the form as a whole (None)."""

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message, code=code)
        self.field = field


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def _text(raw: str | None, field: str, max_length: int, message: str | None = None) -> str:
    value = " ".join((raw or "").split())
    if not value and message:
        raise PortalError(message, code="required", field=field)
    if len(value) > max_length:
        raise PortalError(_("Tối đa %(n)d ký tự.", n=max_length), code="too_long", field=field)
    return value


def _long_text(raw: str | None, field: str, max_length: int) -> str:
    value = (raw or "").replace("\r\n", "\n").strip()
    if len(value) > max_length:
        raise PortalError(_("Tối đa %(n)d ký tự.", n=max_length), code="too_long", field=field)
    return value


def _phone(raw: str) -> str:
    try:
        return normalise_phone(raw)
    except InvalidPhone:
        raise PortalError(
            _("Số điện thoại không hợp lệ (ví dụ: 0912 345 678)."), code="invalid_phone", field="phone"
        ) from None


def _email(raw: str, field: str = "email") -> str:
    try:
        return normalise_email(raw)
    except InvalidEmail:
        raise PortalError(_("Địa chỉ email không hợp lệ."), code="invalid_email", field=field) from None


def _province(province_id: int | None, field: str = "province_id") -> Province:
    province = db.session.get(Province, province_id) if province_id else None
    if province is None:
        raise PortalError(_("Chọn tỉnh/thành phố."), code="province_required", field=field)
    return province


def _ward(ward_id: int | None, province: Province) -> Ward:
    ward = db.session.get(Ward, ward_id) if ward_id else None
    if ward is None or ward.province_id != province.id:
        raise PortalError(_("Chọn phường/xã của tỉnh/thành phố đã chọn."), code="ward_required", field="ward_id")
    return ward


def _category(category_id: int | None, field: str = "category_id") -> Category:
    category = db.session.get(Category, category_id) if category_id else None
    has_children = category is not None and db.session.scalar(
        select(func.count()).select_from(Category).where(Category.parent_id == category.id)
    )
    if category is None or has_children:
        raise PortalError(_("Chọn nhóm sản phẩm."), code="category_required", field=field)
    return category


def _unique_slug(model, name: str) -> str:
    base = slugify(name, max_length=100)
    slug = base
    while db.session.scalar(select(func.count()).select_from(model).where(model.slug == slug)):
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


def get_producer(producer_id: int) -> Producer:
    producer = db.session.get(Producer, producer_id)
    if producer is None:
        raise NotFound(_("Không tìm thấy cơ sở."))
    return producer

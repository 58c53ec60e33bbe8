"""Reads the checkout pages need (no commits here)."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from shop.accounts.models import Address
from shop.bank import services as bank
from shop.checkout.services import CheckoutError, Delivery, address_text
from shop.errors import NotFound
from shop.extensions import db
from shop.places.models import Ward
from shop.settings.services import get_int


def saved_addresses(user_id: int) -> list[Address]:
    return list(
        db.session.scalars(
            select(Address).where(Address.user_id == user_id).order_by(Address.is_default.desc(), Address.id)
        )
    )


def saved_address(user_id: int | None, address_id: int) -> Address:
    address = db.session.get(Address, address_id)
    if address is None or user_id is None or address.user_id != user_id:
        raise NotFound(_l("Không tìm thấy địa chỉ."))
    return address


def check_ward(province_id: int, ward_id: int) -> None:
    ward = db.session.get(Ward, ward_id)
    if ward is None or ward.province_id != province_id:
        raise CheckoutError(_l("Phường/xã không thuộc tỉnh/thành đã chọn."), code="bad_address")


def printed_address(delivery: Delivery) -> str:
    return address_text(delivery)[1]


def cod_max() -> int:
    return get_int("cod_max_amount")


def vietqr_minutes() -> int:
    """How long a bank-transfer order holds its stock, or 0 when checkout does not offer it."""
    return get_int("vietqr_reservation_minutes") if bank.vietqr_available() else 0

"""Reads for account pages (no writes here)."""

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from shop.accounts.models import Address, User
from shop.extensions import db


def get_user(user_id: int) -> User | None:
    """The signed-in user, with nothing else loaded (read on every request)."""
    return db.session.get(User, user_id)


def list_addresses(user_id: int) -> list[Address]:
    """The user's addresses, default first, with province and ward names."""
    return list(
        db.session.scalars(
            select(Address)
            .where(Address.user_id == user_id)
            .options(joinedload(Address.province), joinedload(Address.ward))
            .order_by(Address.is_default.desc(), Address.id)
        )
    )


def get_address(user_id: int, address_id: int) -> Address | None:
    """One of the user's addresses; None for an unknown id or anyone else's."""
    return db.session.scalars(select(Address).where(Address.id == address_id, Address.user_id == user_id)).one_or_none()

"""Reads for account pages (no writes here)."""

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from shop.accounts.models import Address, LoginSession, User
from shop.accounts.tokens import session_token_hash
from shop.extensions import db
from shop.formatting import utcnow


def get_user(user_id: int) -> User | None:
    return db.session.get(User, user_id)


def session_user(user_id: int, token: str) -> User | None:
    """The user of a live sign-in session (read on every signed-in request): None
    once the session was ended (signing out, a new password) or has expired."""
    return db.session.scalars(
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            User.id == user_id,
            LoginSession.token_hash == session_token_hash(token),
            LoginSession.expires_at > utcnow(),
        )
    ).one_or_none()


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

from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import Model
from shop.formatting import utcnow

if TYPE_CHECKING:
    from shop.places.models import Province, Ward
    from shop.producers.models import Producer


ROLES = ("shopper", "producer", "operator")
MEMBER_ROLES = ("owner", "staff")


class User(UserMixin, Model):
    __table_args__ = (CheckConstraint("role IN ('shopper', 'producer', 'operator')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    role: Mapped[str] = mapped_column(String(16), default="shopper")
    locale: Mapped[str] = mapped_column(String(5), default="vi")
    email_verified_at: Mapped[datetime | None] = mapped_column()
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list["ProducerMember"]] = relationship(back_populates="user")
    addresses: Mapped[list["Address"]] = relationship(
        back_populates="user", order_by="Address.is_default.desc(), Address.id"
    )

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"

    @property
    def producer_ids(self) -> list[int]:
        return [m.producer_id for m in self.memberships]


class LoginSession(Model):
    """A signed-in browser: its cookie holds the token, this row its hash. Signing
    out deletes the row, so a copy of the cookie taken earlier opens nothing."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class ProducerMember(Model):
    """A user's membership of a producer: the owner manages members and bank details."""

    __table_args__ = (
        UniqueConstraint("user_id", "producer_id", name="uq_producer_member_user_producer"),
        CheckConstraint("role IN ('owner', 'staff')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    role: Mapped[str] = mapped_column(String(8), default="staff")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    producer: Mapped["Producer"] = relationship()  # noqa: F821


class ProducerInvite(Model):
    """An owner's invitation for a staff member, accepted by following the e-mailed link."""

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column()

    producer: Mapped["Producer"] = relationship()  # noqa: F821


class Address(Model):
    """A delivery address: province -> commune/ward -> street, with the recipient's phone."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(20))
    province_id: Mapped[int] = mapped_column(ForeignKey("province.id"))
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"))
    street: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="addresses")
    province: Mapped["Province"] = relationship()  # noqa: F821
    ward: Mapped["Ward"] = relationship()  # noqa: F821

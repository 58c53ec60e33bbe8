from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import Model
from shop.formatting import today_vn, utcnow
from shop.producers.rules import shown_stars

if TYPE_CHECKING:
    from shop.catalog.models import Product
    from shop.places.models import Province


OWNER_TYPES = ("cooperative", "enterprise", "household", "cooperative_group")
PRODUCER_STATUSES = ("pending", "approved", "rejected", "suspended")
CERTIFICATE_STATES = ("pending", "verified", "rejected")
ISSUING_LEVELS = ("province", "central")


class Producer(Model):
    """An OCOP owner: cooperative (HTX), enterprise, household business or cooperative group."""

    __table_args__ = (
        CheckConstraint(
            "owner_type IN ('cooperative', 'enterprise', 'household', 'cooperative_group')",
            name="owner_type",
        ),
        CheckConstraint("status IN ('pending', 'approved', 'rejected', 'suspended')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_type: Mapped[str] = mapped_column(String(24), index=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("province.id"), index=True)
    ward: Mapped[str] = mapped_column(String(120), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    story: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    tax_code: Mapped[str] = mapped_column(String(20), default="")
    # Payout bank account: only the owner sees and changes it.
    bank_name: Mapped[str] = mapped_column(String(120), default="")
    # NAPAS BIN of the bank, from shop/data/banks_napas.json (for the payout VietQR).
    bank_bin: Mapped[str] = mapped_column(String(8), default="", server_default="")
    bank_account_name: Mapped[str] = mapped_column(String(120), default="")
    bank_account_number: Mapped[str] = mapped_column(String(40), default="")
    status_reason: Mapped[str] = mapped_column(Text, default="")  # why rejected or suspended
    reviewed_at: Mapped[datetime | None] = mapped_column()
    # A sub-order of at least this much (đồng, before shipping) ships free; None: never.
    free_shipping_threshold: Mapped[int | None] = mapped_column()
    # Commission in basis points (1/100 %); None: the marketplace default setting.
    commission_bp: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    province: Mapped["Province"] = relationship()  # noqa: F821
    products: Mapped[list["Product"]] = relationship(back_populates="producer")  # noqa: F821
    certificates: Mapped[list["Certificate"]] = relationship(
        back_populates="producer", order_by="Certificate.decision_date.desc()"
    )


class Certificate(Model):
    """An OCOP recognition decision for one product; valid 36 months from the decision."""

    __table_args__ = (
        CheckConstraint("stars BETWEEN 3 AND 5", name="stars_range"),
        CheckConstraint("state IN ('pending', 'verified', 'rejected')", name="state"),
        CheckConstraint("issuing_level IN ('province', 'central')", name="issuing_level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    stars: Mapped[int] = mapped_column()
    decision_number: Mapped[str] = mapped_column(String(80))
    decision_date: Mapped[date] = mapped_column(Date)
    issuing_level: Mapped[str] = mapped_column(String(16))
    issuing_province_id: Mapped[int | None] = mapped_column(ForeignKey("province.id"))
    expires_on: Mapped[date] = mapped_column(Date)
    document_path: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    verified_at: Mapped[datetime | None] = mapped_column()
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    producer: Mapped[Producer] = relationship(back_populates="certificates")
    product: Mapped["Product"] = relationship()  # noqa: F821
    issuing_province: Mapped["Province | None"] = relationship()  # noqa: F821

    def is_valid_on(self, day: date) -> bool:
        return shown_stars(self.state, self.stars, self.expires_on, day) is not None

    @property
    def is_valid(self) -> bool:
        return self.is_valid_on(today_vn())

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import Model
from shop.formatting import utcnow


class PartnerWebhook(Model):
    """A partner channel (e.g. a supermarket chain) that hears about stock and price changes."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(80))  # HMAC-SHA256 key for the X-OCOP-Signature header
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Model):
    """One change to send to one partner, written with the change (outbox). Changes to
    the same SKU go out in `sequence` order: a later one waits for the earlier."""

    __table_args__ = (
        UniqueConstraint("webhook_id", "sku", "sequence", name="uq_webhook_delivery_webhook_sku_sequence"),
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("partner_webhook.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column()
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)  # the exact JSON body that is signed and sent
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column()

    webhook: Mapped[PartnerWebhook] = relationship()

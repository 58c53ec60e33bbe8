from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import Model
from shop.formatting import utcnow

if TYPE_CHECKING:
    from shop.catalog.models import Product


class Review(Model):
    """One buyer's rating and words about one delivered order line (one review per line).

    Counted in the product's rating_sum/rating_count while visible; an operator may hide it
    with a reason (then it leaves the page, the JSON-LD and the average)."""

    __table_args__ = (CheckConstraint("rating >= 1 AND rating <= 5", name="rating_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    author_name: Mapped[str] = mapped_column(String(120))  # as shown: the buyer's first name
    rating: Mapped[int] = mapped_column()
    body: Mapped[str] = mapped_column(Text, default="")
    hidden: Mapped[bool] = mapped_column(default=False)
    hidden_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    product: Mapped["Product"] = relationship()
    photos: Mapped[list["ReviewPhoto"]] = relationship(
        back_populates="review", order_by="ReviewPhoto.position, ReviewPhoto.id", cascade="all, delete-orphan"
    )


class ReviewPhoto(Model):
    """A photo of a review, stored like product photos (`path` in the media area, plus `-400.jpg`)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    path: Mapped[str] = mapped_column(String(200))
    width: Mapped[int] = mapped_column(default=0)
    height: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)

    review: Mapped[Review] = relationship(back_populates="photos")

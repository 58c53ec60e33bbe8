from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import Model
from shop.formatting import today_vn, utcnow

if TYPE_CHECKING:
    from shop.places.models import Province
    from shop.producers.models import Producer


PRODUCT_STATUSES = ("draft", "published", "archived")


class Category(Model):
    """An OCOP product group (level 1), sub-group (2) or product set (3); editable rows."""

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), index=True)
    level: Mapped[int] = mapped_column()
    code: Mapped[str] = mapped_column(String(16))
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)

    parent: Mapped["Category | None"] = relationship(remote_side=[id])

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_vi


class Product(Model):
    """A product of one producer. The columns after `updated_at` are kept in step
    by the catalog services so that listing, filtering and search need no joins
    to variants or certificates."""

    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'archived')", name="status"),
        # Listing, sorting and every facet count read one of these indexes only.
        Index("ix_product_listed_created", "listed", "created_at"),
        Index("ix_product_listed_price", "listed", "min_price"),
        Index("ix_product_listed_stars", "listed", "cert_stars", "cert_valid_until"),
        Index("ix_product_listed_province", "listed", "province_id"),
        Index("ix_product_listed_category", "listed", "category_id"),
        Index("ix_product_listed_owner", "listed", "owner_type"),
        Index("ix_product_listed_stock", "listed", "in_stock"),
        # The catalog index's "anything changed?" look-up (shop.catalog.index).
        Index("ix_product_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("province.id"), index=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The name in the English storefront (searched in both languages); "" shows `name`.
    name_en: Mapped[str] = mapped_column(String(200), default="", server_default="")
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    # Denormalised for reads (see shop.catalog.services.refresh_products).
    # listed: published and its producer approved, i.e. what shoppers may see.
    listed: Mapped[bool] = mapped_column(default=False)
    owner_type: Mapped[str] = mapped_column(String(24), default="")
    min_price: Mapped[int] = mapped_column(default=0)
    in_stock: Mapped[bool] = mapped_column(default=False)
    cert_stars: Mapped[int | None] = mapped_column()
    cert_valid_until: Mapped[date | None] = mapped_column(Date)
    cover_image: Mapped[str | None] = mapped_column(String(200))
    search_name: Mapped[str] = mapped_column(Text, default="")
    search_body: Mapped[str] = mapped_column(Text, default="")
    # Set by an operator who unpublished the product: the producer reads it, and
    # the product stays unlisted until an operator clears it.
    moderation_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Visible reviews' ratings, kept by shop.reviews.services in each review's transaction.
    rating_sum: Mapped[int] = mapped_column(default=0, server_default="0")
    rating_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # Units delivered to buyers, kept by the periodic recount (shop.catalog.sold), never by checkout.
    sold_count: Mapped[int] = mapped_column(default=0, server_default="0")

    producer: Mapped["Producer"] = relationship(back_populates="products")  # noqa: F821
    category: Mapped[Category] = relationship()
    province: Mapped["Province"] = relationship()  # noqa: F821
    variants: Mapped[list["Variant"]] = relationship(
        back_populates="product", order_by="Variant.position, Variant.id", cascade="all, delete-orphan"
    )
    images: Mapped[list["ProductImage"]] = relationship(
        back_populates="product",
        order_by="ProductImage.position, ProductImage.id",
        cascade="all, delete-orphan",
    )

    def display_name(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name

    def stars_on(self, day: date) -> int | None:
        """Star level shown on `day`: only while a verified certificate is unexpired."""
        if self.cert_stars and self.cert_valid_until and self.cert_valid_until >= day:
            return self.cert_stars
        return None

    @property
    def rating_average(self) -> float | None:
        return round(self.rating_sum / self.rating_count, 1) if self.rating_count else None

    @property
    def stars(self) -> int | None:
        return self.stars_on(today_vn())


class Variant(Model):
    """A sellable SKU: price in whole đồng, stock on hand."""

    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("weight_grams > 0", name="weight_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(120))
    price: Mapped[int] = mapped_column()
    weight_grams: Mapped[int] = mapped_column()
    stock: Mapped[int] = mapped_column(default=0)
    barcode: Mapped[str | None] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(default=0)

    product: Mapped[Product] = relationship(back_populates="variants")


class ProductImage(Model):
    """An image file under MEDIA_DIR (`path` is relative), with its alt text."""

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    path: Mapped[str] = mapped_column(String(200))
    alt: Mapped[str] = mapped_column(String(200), default="")
    width: Mapped[int] = mapped_column(default=0)
    height: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)

    product: Mapped[Product] = relationship(back_populates="images")

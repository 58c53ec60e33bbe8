"""Builders for test data. Each returns committed rows with their read
columns refreshed, as the real services leave them."""

from datetime import date, timedelta
from itertools import count

from sqlalchemy import select

from shop.catalog.models import Category, Product, Variant
from shop.catalog.services import commit_catalog_change
from shop.extensions import db
from shop.formatting import today_vn
from shop.places.models import Province
from shop.producers.models import Certificate, Producer
from shop.producers.rules import certificate_expiry
from shop.text import slugify

_seq = count(1)


def province(name: str = "Bắc Ninh") -> Province:
    return db.session.scalars(select(Province).where(Province.name == name)).one()


def category(slug: str = "che-bien-tu-gao-ngu-coc") -> Category:
    return db.session.scalars(select(Category).where(Category.slug == slug)).one()


def make_producer(
    name: str | None = None,
    *,
    owner_type: str = "cooperative",
    province_name: str = "Bắc Ninh",
    status: str = "approved",
    story: str = "",
) -> Producer:
    name = name or f"HTX thử nghiệm {next(_seq)}"
    producer = Producer(
        slug=slugify(name),
        name=name,
        owner_type=owner_type,
        province=province(province_name),
        status=status,
        story=story,
        ward="xã Thử",
    )
    db.session.add(producer)
    db.session.commit()
    return producer


def make_product(
    name: str,
    *,
    producer: Producer | None = None,
    prices=(100_000,),
    stock: int | tuple = 10,
    stars: int | None = 3,  # OCOP-only: a product is on sale with a verified, unexpired certificate
    cert_state: str = "verified",
    decided: date | None = None,
    category_slug: str = "che-bien-tu-gao-ngu-coc",
    province_name: str | None = None,
    status: str = "published",
    description: str = "",
    created_days_ago: int = 0,
) -> Product:
    producer = producer or make_producer()
    n = next(_seq)
    product = Product(
        slug=f"{slugify(name)}-{n}",
        name=name,
        description=description,
        status=status,
        producer=producer,
        category=category(category_slug),
        province=province(province_name or producer.province.name),
    )
    if created_days_ago:
        from shop.formatting import utcnow

        product.created_at = utcnow() - timedelta(days=created_days_ago)
    stocks = stock if isinstance(stock, tuple) else (stock,) * len(prices)
    for i, (price, qty) in enumerate(zip(prices, stocks, strict=True)):
        product.variants.append(
            Variant(sku=f"T{n}-{i}", label=f"Gói {i + 1}", price=price, weight_grams=500, stock=qty, position=i)
        )
    db.session.add(product)
    if stars:
        decided = decided or today_vn() - timedelta(days=100)
        db.session.add(
            Certificate(
                producer=producer,
                product=product,
                stars=stars,
                decision_number=f"{n}/QĐ-UBND",
                decision_date=decided,
                issuing_level="central" if stars == 5 else "province",
                issuing_province=producer.province,
                expires_on=certificate_expiry(decided),
                state=cert_state,
            )
        )
    db.session.flush()
    commit_catalog_change([product.id])
    return product


def delivery_to(province_name: str = "Hà Nội", email: str = "khach@example.vn"):
    """A delivery address in a real ward of the province."""
    from shop.checkout.services import Delivery
    from shop.places.models import Ward

    prov = province(province_name)
    ward = db.session.scalars(select(Ward).where(Ward.province_id == prov.id).order_by(Ward.code)).first()
    return Delivery(
        email=email,
        recipient="Nguyễn Thị Lan",
        phone="0912345678",
        province_id=prov.id,
        ward_id=ward.id,
        street="12 Hàng Bạc",
    )


def cart_with(*items: tuple[Variant, int], user_id: int | None = None) -> int:
    """A cart holding these (variant, quantity) pairs; returns its id."""
    from shop.cart.services import add_item, get_cart

    token = None
    for variant, quantity in items:
        token, _ = add_item(user_id, token, variant.id, quantity)
    return get_cart(user_id, token).id

"""Related products for a product page: other listed products of the same producer,
then the same product group, then the same province — up to 8. Shown to everyone
(cached with the page, which carries each related card's tags, so a card's change purges
it); a product newly listed appears in the related row when the page is next computed."""

from sqlalchemy import case, or_, select

from shop.cache import add_tags
from shop.catalog.models import Product
from shop.catalog.queries import ProductCard, card_tags, product_cards
from shop.catalog.reference import reference
from shop.extensions import db
from shop.formatting import today_vn

RELATED_LIMIT = 8


def related_products(product: Product, limit: int = RELATED_LIMIT) -> list[ProductCard]:
    ref = reference()
    group = ref.group_of(product.category_id)
    in_group = ref.descendant_ids(group) if group is not None else [product.category_id]
    same = [Product.producer_id == product.producer_id, Product.province_id == product.province_id]
    if in_group:
        same.append(Product.category_id.in_(in_group))
    closeness = case(
        (Product.producer_id == product.producer_id, 0),
        (Product.category_id.in_(in_group or [product.category_id]), 1),
        else_=2,
    )
    ids = db.session.scalars(
        select(Product.id)
        .where(
            Product.listed.is_(True),
            Product.cert_valid_until >= today_vn(),  # OCOP products only, even beside an unstarred one
            Product.id != product.id,
            or_(*same),
        )
        .order_by(closeness, Product.in_stock.desc(), Product.rating_count.desc(), Product.id)
        .limit(limit)
    ).all()
    cards = product_cards(list(ids))
    add_tags(*card_tags(cards))
    return cards

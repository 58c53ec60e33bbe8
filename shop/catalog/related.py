"""Related products for a product page: other listed products of the same producer,
then the same product group, then the same province — up to 8. Shown to everyone
(cached with the page, which carries each related card's tags, so a card's change purges
it); a product newly listed appears in the related row when the page is next computed."""

from shop.cache import add_tags
from shop.catalog.index import catalog_index
from shop.catalog.models import Product
from shop.catalog.queries import ProductCard, card_tags, product_cards
from shop.catalog.reference import reference
from shop.formatting import today_vn

RELATED_LIMIT = 8


def related_products(product: Product, limit: int = RELATED_LIMIT) -> list[ProductCard]:
    """Chosen by the catalog index (shop.catalog.index), so a page costs the same at
    any catalog size; in each of the three circles the ones in stock come first, then
    the most reviewed."""
    ref = reference()
    group = ref.group_of(product.category_id)
    in_group = ref.descendant_ids(group) if group is not None else [product.category_id]
    ids = catalog_index().related(product.id, product.producer_id, in_group, product.province_id, limit, today_vn())
    cards = product_cards(ids)
    add_tags(*card_tags(cards))
    return cards

"""What a committed transaction changed, as cache tags to purge after its commit.

Session events read the ORM's own history at each flush (old and new values of
every changed attribute), so a purge names exactly what moved:

- any change of a product (and of its variants, images or certificates): its
  page, ``p:<id>``;
- a change its card shows (name, price, stock flag, stars, cover, producer,
  province, being listed): ``c:<id>``, i.e. every page showing the card;
- a change of what listings count (listed, stock flag, price, stars, category,
  province, owner type, search text): the listing tags of the product's group
  and province before and after, and the "all" ones — a listing filtered to
  another group *and* another province neither shows nor counts the product,
  whatever it is sorted or searched by;
- a producer: ``pr:<id>``; the category tree: ``ref``; a published promotion
  week: ``promo`` (every page with prices); an approved enrolment: its product's
  page and card; settings: ``site``.

Stock changed by a conditional UPDATE (no ORM object) is reported by the caller
through `note_stock_change` (see `shop.catalog.services.commit_catalog_change`).
A rolled-back transaction purges nothing.
"""

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, scoped_session

from shop.cache import purge
from shop.catalog.models import Category, Product, ProductImage, Variant
from shop.catalog.reference import reference
from shop.producers.models import Certificate, Producer
from shop.promotions.models import Promotion, PromotionEnrolment
from shop.settings.models import Setting

_CARD: tuple[str, ...] = (
    "name",
    "slug",
    "listed",
    "min_price",
    "in_stock",
    "cert_stars",
    "cert_valid_until",
    "cover_image",
)
_CARD += ("producer_id", "province_id", "rating_sum", "rating_count")
_COUNTED: tuple[str, ...] = (
    "listed",
    "in_stock",
    "min_price",
    "cert_stars",
    "cert_valid_until",
    "category_id",
    "province_id",
)
_COUNTED += ("owner_type", "search_name", "search_body", "producer_id")


# The request's scoped session (db.session) or the Session an event hands over.
AnySession = Session | scoped_session


def _tags(session: AnySession) -> set[str]:
    return session.info.setdefault("purge_tags", set())


def note_tags(session: AnySession, *tags: str) -> None:
    """Purge these tags too when the session commits."""
    _tags(session).update(tags)


def note_stock_change(session: AnySession, product_ids: list[int]) -> None:
    """Products whose stock moved by a conditional UPDATE (no ORM change of their
    rows): their pages, the promotional quotas read for prices, and the cards of
    products whose last promotional unit is gone (back to the normal price)."""
    if not product_ids:
        return
    sold_out = session.scalars(
        select(Variant.product_id)
        .join(PromotionEnrolment, PromotionEnrolment.variant_id == Variant.id)
        .where(
            Variant.product_id.in_(product_ids),
            PromotionEnrolment.state == "approved",
            PromotionEnrolment.sold >= PromotionEnrolment.quota,
        )
        .distinct()
    )
    note_tags(session, "quota", *(f"p:{pid}" for pid in product_ids), *(f"c:{pid}" for pid in sold_out))


def _history(obj, name: str) -> tuple[list, list]:
    h = inspect(obj).attrs[name].history
    return list(h.deleted), list(h.added)


def _group_of(category_ids: set) -> set[int]:
    ref = reference()
    groups = set()
    for cid in category_ids:
        group = ref.group_of(cid) if cid is not None else None
        if group is not None:
            groups.add(group.id)
    return groups


def _product_tags(product, is_new: bool) -> set[str]:
    tags: set[str] = set()
    changed = {}
    for name in set(_CARD) | set(_COUNTED):
        old, new = _history(product, name)
        if is_new or old or new:
            changed[name] = (old, new)
    if not changed and not is_new:
        return tags
    if product.id is not None:
        tags.add(f"p:{product.id}")
    if is_new and not product.listed:
        return tags
    if any(name in changed for name in _CARD) and product.id is not None:
        tags.add(f"c:{product.id}")
    if "slug" in changed or "listed" in changed:
        for slug in [*changed.get("slug", ([], []))[0], product.slug]:
            tags.add(f"s:{slug}")
    if any(name in changed for name in _COUNTED):
        categories = {product.category_id, *changed.get("category_id", ([], []))[0]}
        provinces = {product.province_id, *changed.get("province_id", ([], []))[0]}
        producers = {product.producer_id, *changed.get("producer_id", ([], []))[0]}
        tags.update({"lg:all", "lp:all"})
        tags.update(f"lg:{g}" for g in _group_of(categories))
        tags.update(f"lp:{p}" for p in provinces if p is not None)
        tags.update(f"pr:{p}" for p in producers if p is not None)
    return tags


def _collect(session: Session, _context, _instances) -> None:
    tags = _tags(session)
    new = set(session.new)
    pending = session.info.setdefault("pending_products", [])
    for obj in new | set(session.dirty) | set(session.deleted):
        if isinstance(obj, Product):
            if obj in new:
                pending.append(obj)  # its id is known after the flush
            else:
                tags |= _product_tags(obj, is_new=False)
        elif isinstance(obj, Variant | ProductImage | Certificate):
            if obj.product_id is not None:
                tags.add(f"p:{obj.product_id}")
        elif isinstance(obj, Producer):
            if obj.id is not None and (obj in new or session.is_modified(obj)):
                tags |= {f"pr:{obj.id}", "producers"}
        elif isinstance(obj, Category):
            tags.add("ref")
        elif isinstance(obj, Promotion):
            # Drafts show nowhere; a published week (or one taken down) may cover any product.
            old_states, _new = _history(obj, "state")
            if obj.state == "published" or "published" in old_states:
                tags |= {"promo", "quota"}
        elif isinstance(obj, PromotionEnrolment):
            old_states, _new = _history(obj, "state")
            if (obj.state == "approved" or "approved" in old_states) and obj.variant is not None:
                pid = obj.variant.product_id
                tags |= {"quota", f"p:{pid}", f"c:{pid}"}
        elif isinstance(obj, Setting):
            tags.add("site")


def _after_flush(session: Session, _context) -> None:
    pending = session.info.pop("pending_products", [])
    tags = _tags(session)
    for product in pending:
        tags |= _product_tags(product, is_new=True)


def _after_commit(session: Session) -> None:
    tags = session.info.pop("purge_tags", None)
    session.info.pop("pending_products", None)
    if tags:
        purge(*tags)


def _after_rollback(session: Session) -> None:
    session.info.pop("purge_tags", None)
    session.info.pop("pending_products", None)


_registered = False


def track_catalog_changes() -> None:
    """Listen on every session (once per process)."""
    global _registered
    if _registered:
        return
    event.listen(Session, "before_flush", _collect)
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_rollback", _after_rollback)
    _registered = True

"""Catalog use cases. They take plain values and commit once.

`refresh_products` keeps the read columns of Product (lowest price, stock
state, certificate stars, cover image, folded search text) in step with the
variants, certificates and images they summarise.
"""

import json
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import func, select

from shop.catalog.changes import note_stock_change
from shop.catalog.models import Category, Product, ProductImage, Variant
from shop.extensions import db
from shop.formatting import today_vn
from shop.places.models import Province
from shop.producers.models import Certificate, Producer
from shop.settings import services as settings
from shop.text import fold, slugify


def search_text(
    name: str, name_en: str, producer: str, province: str, description: str, skus: Iterable[str] = ()
) -> tuple[str, str]:
    """The (name, body) columns search reads: folded, so tone marks and đ never
    matter. The name holds both languages' names and ranks above the body; the
    category names are matched by the catalog index itself (shop.catalog.index)."""
    body = " ".join([producer, province, *skus, description])
    return fold(f"{name} {name_en}".strip()), fold(body)


def refresh_products(product_ids: Iterable[int]) -> None:
    """Recompute the summary columns of these products (no commit)."""
    ids = sorted(set(product_ids))
    if not ids:
        return
    session = db.session
    session.flush()
    prices = dict(
        session.execute(
            select(Variant.product_id, func.min(Variant.price))
            .where(Variant.product_id.in_(ids))
            .group_by(Variant.product_id)
        )
        .tuples()
        .all()
    )
    stocked = set(
        session.scalars(select(Variant.product_id).where(Variant.product_id.in_(ids), Variant.stock > 0).distinct())
    )
    covers: dict[int, str] = {}
    for pid, path in session.execute(
        select(ProductImage.product_id, ProductImage.path)
        .where(ProductImage.product_id.in_(ids))
        .order_by(ProductImage.product_id, ProductImage.position.desc(), ProductImage.id.desc())
    ):
        covers[pid] = path  # the last row per product is its first image
    certs: dict[int, tuple[int, object]] = {}
    for pid, stars, expires in session.execute(
        select(Certificate.product_id, Certificate.stars, Certificate.expires_on)
        .where(Certificate.product_id.in_(ids), Certificate.state == "verified")
        .order_by(Certificate.product_id, Certificate.expires_on)
    ):
        best = certs.get(pid)
        # Prefer the certificate valid longest; among equal expiries, more stars.
        if best is None or (expires, stars) > (best[1], best[0]):
            certs[pid] = (stars, expires)
    skus: dict[int, list[str]] = {}
    for pid, sku in session.execute(select(Variant.product_id, Variant.sku).where(Variant.product_id.in_(ids))):
        skus.setdefault(pid, []).append(sku)

    today, unstarred_sold = today_vn(), settings.get_int("unstarred_section") == 1
    rows = session.execute(
        select(Product, Producer.name, Producer.status, Producer.owner_type, Province.name)
        .join(Producer, Producer.id == Product.producer_id)
        .join(Province, Province.id == Product.province_id)
        .where(Product.id.in_(ids))
    ).all()
    for product, producer_name, producer_status, owner_type, province_name in rows:
        stars_expiry = certs.get(product.id)
        product.cert_stars, product.cert_valid_until = stars_expiry if stars_expiry else (None, None)
        certified = product.cert_valid_until is not None and product.cert_valid_until >= today
        # OCOP-only: a product is sold with a verified, unexpired certificate, or in the
        # operator's labelled "Sản phẩm chưa có sao" section while that is switched on.
        product.listed = (
            product.status == "published"
            and producer_status == "approved"
            and not product.moderation_reason
            and (certified or unstarred_sold)
        )
        product.owner_type = owner_type
        product.min_price = prices.get(product.id, 0)
        product.in_stock = product.id in stocked
        product.cover_image = covers.get(product.id)
        product.search_name, product.search_body = search_text(
            product.name, product.name_en, producer_name, province_name, product.description, skus.get(product.id, [])
        )


def commit_catalog_change(product_ids: Iterable[int]) -> None:
    """Refresh the products' summaries and commit; the cached pages showing what
    changed are purged after the commit (shop.catalog.changes)."""
    ids = sorted(set(product_ids))
    refresh_products(ids)
    note_stock_change(db.session, ids)
    db.session.commit()


def _uncertified_ids(today, *conditions) -> list[int]:
    """Products without a verified certificate valid on `today` (and `conditions`)."""
    lapsed = Product.cert_valid_until.is_(None) | (Product.cert_valid_until < today)
    return list(db.session.scalars(select(Product.id).where(lapsed, *conditions)))


def unlist_lapsed() -> int:
    """Take off sale the products whose certificate lapsed at the last Vietnam midnight
    (a beat task runs it every hour, from 00:00). Listings, search and product pages
    already leave them out from that midnight on (the catalog index and `get_product`
    check the day, and cached pages expire then); this brings the `listed` column,
    which the cart and the API read, in line. Returns how many were unlisted."""
    if settings.get_int("unstarred_section") == 1:
        return 0  # they stay on sale, in the section
    ids = _uncertified_ids(today_vn(), Product.listed.is_(True))
    commit_catalog_change(ids)
    return len(ids)


def set_unstarred_section(actor_id: int, on: bool) -> bool:
    """Switch the "Sản phẩm chưa có sao" section on or off (audited): the products
    without a valid certificate go on sale in it, or off sale. One commit; the
    setting change purges every page. Returns whether anything changed."""
    changed = settings.apply_settings(actor_id, {"unstarred_section": int(on)})
    if not changed:
        return False
    commit_catalog_change(_uncertified_ids(today_vn()))
    return True


CATEGORY_DATA = Path(__file__).resolve().parent.parent / "data" / "product_groups.json"


def category_rows(data: dict) -> list[dict]:
    """Flatten the OCOP classification into rows with unique slugs.

    A set that shares its sub-group's name (e.g. "Cà phê, ca cao") gets the
    sub-group code and its position appended to keep slugs unique."""
    rows, seen = [], set()

    def add(level, code, vi, en, parent_code, position):
        slug = slugify(vi)
        if slug in seen:
            slug = f"{slug}-{code.replace('.', '-')}"
        seen.add(slug)
        rows.append(
            {
                "level": level,
                "code": code,
                "slug": slug,
                "name_vi": vi,
                "name_en": en,
                "parent_code": parent_code,
                "position": position,
            }
        )

    for gi, group in enumerate(data["groups"]):
        add(1, group["code"], group["vi"], group["en"], None, gi)
        for si, sub in enumerate(group["subgroups"]):
            add(2, sub["code"], sub["vi"], sub["en"], group["code"], si)
            for ti, item in enumerate(sub["sets"]):
                add(3, f"{sub['code']}.{ti + 1}", item["vi"], item["en"], sub["code"], ti)
    return rows


def upsert_categories() -> int:
    """Create the OCOP category rows that are missing (matched by code); operators
    may have renamed existing ones, so those are left as they are (no commit)."""
    existing = {c.code: c for c in db.session.scalars(select(Category))}
    added = 0
    for row in category_rows(json.loads(CATEGORY_DATA.read_text(encoding="utf-8"))):
        if row["code"] in existing:
            continue
        parent = existing.get(row["parent_code"]) if row["parent_code"] else None
        category = Category(
            level=row["level"],
            code=row["code"],
            slug=row["slug"],
            name_vi=row["name_vi"],
            name_en=row["name_en"],
            position=row["position"],
            parent=parent,
        )
        db.session.add(category)
        existing[row["code"]] = category
        added += 1
    return added

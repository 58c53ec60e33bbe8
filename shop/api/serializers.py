"""JSON shapes of the public API. Money is an int of đồng; dates are ISO 8601."""

from datetime import UTC
from typing import overload

from shop.catalog.models import Product
from shop.catalog.queries import ProductCard
from shop.catalog.reference import CategoryInfo, ProvinceInfo, Reference
from shop.producers.models import Certificate, Producer
from shop.promotions.pricing import variant_offers
from shop.urls import absolute_url, media_path_url


def province_json(p: ProvinceInfo) -> dict:
    return {"slug": p.slug, "name": p.name, "kind": p.kind, "merged_from": list(p.merged_names)}


def product_item(p: Product | ProductCard, ref: Reference, card_offer=None) -> dict:
    """A product in a list; `card_offer` (shop.promotions.pricing.card_offers) adds
    its lowest promotional price while a promotion runs."""
    group = ref.group_of(p.category_id)
    out = {
        "slug": p.slug,
        "name": p.name,
        "name_en": p.name_en,
        "price": p.min_price,
        "currency": "VND",
        # ProductCard borrows Product.stars (it has the certificate columns the property reads);
        # mypy checks the property against Product only.
        "stars": p.stars,  # type: ignore[misc]
        "province": p.province.name,
        "province_slug": p.province.slug,
        "group": group.slug if group else None,
        "category": ref.by_id[p.category_id].slug if p.category_id in ref.by_id else None,
        "producer": {"slug": p.producer.slug, "name": p.producer.name},
        "in_stock": p.in_stock,
        "sold_count": p.sold_count,
        "image": media_path_url(p.cover_image, external=True) if p.cover_image else None,
        "url": absolute_url("catalog.product", slug=p.slug),
    }
    if card_offer is not None and card_offer.promo_price < card_offer.price:
        out["promo_price"] = card_offer.promo_price
        out["promotion"] = promotion_json(card_offer.offer)
    return out


@overload
def certificate_json(c: Certificate) -> dict: ...
@overload
def certificate_json(c: None) -> None: ...
def certificate_json(c: Certificate | None) -> dict | None:
    if c is None:
        return None
    return {
        "stars": c.stars,
        "decision_number": c.decision_number,
        "decision_date": c.decision_date.isoformat(),
        "issuing_level": c.issuing_level,
        "issuing_province": c.issuing_province.name if c.issuing_province else None,
        "expires_on": c.expires_on.isoformat(),
    }


def promotion_json(offer) -> dict:
    """The promotion behind a promotional price (a shop.promotions.pricing.Offer)."""
    return {
        "slug": offer.promotion_slug,
        "name": offer.promotion_name,
        "ends_at": offer.ends_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "url": absolute_url("promotions.landing", slug=offer.promotion_slug),
    }


def _variant_json(v, offer) -> dict:
    out = {
        "sku": v.sku,
        "label": v.label,
        "price": v.price,
        "weight_grams": v.weight_grams,
        "in_stock": v.stock > 0,
        "barcode": v.barcode,
    }
    if offer is not None:
        out["promo_price"] = offer.promo_price
        out["promotion"] = promotion_json(offer)
        if offer.units_left is not None:
            out["promo_units_left"] = offer.units_left
    return out


def product_detail(p: Product, certificate: Certificate | None, ref: Reference) -> dict:
    # Read now, at the request's instant: the page cache key carries the running weeks.
    offers = variant_offers(p)
    return {
        **product_item(p, ref),
        "description": p.description,
        "images": [
            {"url": media_path_url(i.path, external=True), "alt": i.alt, "width": i.width, "height": i.height}
            for i in p.images
        ],
        "certificate": certificate_json(certificate),
        "variants": [_variant_json(v, offers.get(v.id)) for v in p.variants],
    }


def producer_item(p: Producer, product_count: int | None = None) -> dict:
    out: dict[str, object] = {
        "slug": p.slug,
        "name": p.name,
        "owner_type": p.owner_type,
        "province": p.province.name,
        "province_slug": p.province.slug,
        "ward": p.ward,
        "url": absolute_url("catalog.producer", slug=p.slug),
    }
    if product_count is not None:
        out["product_count"] = product_count
    return out


def category_json(c: CategoryInfo, ref: Reference) -> dict:
    return {
        "slug": c.slug,
        "code": c.code,
        "level": c.level,
        "name": c.name_vi,
        "name_en": c.name_en,
        "children": [category_json(child, ref) for child in ref.children.get(c.id, [])],
    }

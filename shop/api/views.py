from flask import Blueprint, current_app, jsonify, request

from shop.api import serializers as s
from shop.api.openapi import openapi_document
from shop.catalog import queries
from shop.catalog.filters import BadParameter, parse_filter
from shop.errors import json_error
from shop.page_cache import cached_page
from shop.producers.models import OWNER_TYPES
from shop.promotions.pricing import card_offers

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.errorhandler(BadParameter)
def bad_parameter(err: BadParameter):
    return json_error(400, "invalid_parameter", err.message, parameter=err.name)


def _page_args() -> tuple[int, int]:
    f = parse_filter(
        {k: request.args.get(k) for k in ("page", "per_page")},
        strict=True,
        per_page=20,
        max_per_page=current_app.config["API_MAX_PER_PAGE"],
    )
    return f.page, f.per_page


@bp.get("/products")
@cached_page
def products():
    f = parse_filter(request.args, strict=True, per_page=20, max_per_page=current_app.config["API_MAX_PER_PAGE"])
    result = queries.list_products(f, with_facets=False)
    ref = queries.reference()
    offers = card_offers(result.items)
    return jsonify(
        {
            "items": [s.product_item(p, ref, card_offer=offers.get(p.id)) for p in result.items],
            "total": result.total,
            "page": f.page,
            "per_page": f.per_page,
        }
    )


@bp.get("/products/<slug>")
@cached_page
def product(slug: str):
    item = queries.get_product(slug)
    if item is None:
        return json_error(404, "not_found", f"No product '{slug}'.")
    return jsonify(s.product_detail(item, queries.valid_certificate(item.id), queries.reference()))


@bp.get("/producers")
@cached_page
def producers():
    page, per_page = _page_args()
    # The API is strict: an empty value is a bad value, not a missing one.
    province = request.args.get("province")
    owner_type = request.args.get("owner_type")
    if owner_type is not None and owner_type not in OWNER_TYPES:
        raise BadParameter("owner_type", "'owner_type' must be one of " + ", ".join(OWNER_TYPES))
    if province is not None and province not in queries.reference().province_by_slug:
        raise BadParameter("province", f"no province '{province[:80]}'; see /api/v1/provinces")
    rows, total = queries.list_producers(page, per_page, province=province, owner_type=owner_type)
    return jsonify(
        {"items": [s.producer_item(p, n) for p, n in rows], "total": total, "page": page, "per_page": per_page}
    )


@bp.get("/producers/<slug>")
@cached_page
def producer(slug: str):
    item = queries.get_producer(slug)
    if item is None:
        return json_error(404, "not_found", f"No producer '{slug}'.")
    return jsonify(
        {
            **s.producer_item(item),
            "address": item.address,
            "story": item.story,
            "certificates": [
                {**s.certificate_json(c), "product": c.product.slug} for c in queries.producer_certificates(item.id)
            ],
        }
    )


@bp.get("/categories")
@cached_page
def categories():
    ref = queries.reference()
    items = [s.category_json(c, ref) for c in ref.groups]
    return jsonify({"items": items, "total": len(items), "page": 1, "per_page": len(items)})


@bp.get("/provinces")
@cached_page
def provinces():
    items = [s.province_json(p) for p in queries.reference().provinces]
    return jsonify({"items": items, "total": len(items), "page": 1, "per_page": len(items)})


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document(sorted(queries.reference().province_by_slug)))

"""Storefront pages: home, listing with facets and search, product, producer."""

import hashlib
import io

import segno
from flask import Blueprint, abort, current_app, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from shop.assets import YEAR
from shop.catalog import queries
from shop.catalog.filters import parse_filter
from shop.catalog.related import related_products
from shop.formatting import utcnow, vnd
from shop.page_cache import cached_page
from shop.paging import page_count
from shop.promotions import pricing
from shop.promotions import storefront_queries as promotions
from shop.reviews import queries as review_queries
from shop.storage import MEDIA, StorageError, StoredFileMissing, content_type_of, storage
from shop.templating import owner_type_label
from shop.urls import absolute_url

bp = Blueprint("catalog", __name__)

PRODUCERS_PER_PAGE = 24


@bp.get("/")
@cached_page
def home():
    five_star = queries.list_products(
        parse_filter({"stars": "5", "in_stock": "1"}, strict=False, per_page=8, max_per_page=8),
        with_facets=False,
        with_total=False,
    )
    newest = queries.list_products(
        parse_filter({"sort": "newest"}, strict=False, per_page=8, max_per_page=8), with_facets=False, with_total=False
    )
    now = utcnow()
    return render_template(
        "catalog/home.html",
        five_star=five_star.items,
        newest=newest.items,
        provinces=queries.province_counts(),
        ref=queries.reference(),
        offers=pricing.card_offers([*five_star.items, *newest.items], now),
        running_weeks=promotions.weeks_by_id(pricing.active_ids(now)),
        next_week=promotions.next_week(now) if pricing.next_start(now) else None,
    )


@bp.get("/san-pham")
@cached_page
def listing():
    f = parse_filter(
        request.args,
        strict=False,
        per_page=current_app.config["CATALOG_PER_PAGE"],
        max_per_page=current_app.config["CATALOG_PER_PAGE"],
    )
    result = queries.list_products(f)
    ref = queries.reference()
    return render_template(
        "catalog/listing.html",
        listing=result,
        f=f,
        ref=ref,
        chips=filter_chips(f, ref),
        offers=pricing.card_offers(result.items),
        unstarred_on=queries.unstarred_section_on(),
    )


@bp.get("/san-pham-chua-co-sao")
@cached_page
def unstarred():
    """The operator's "Sản phẩm chưa có sao" section: products on sale without a
    verified, unexpired OCOP certificate, apart from the OCOP catalog (404 while off)."""
    if not queries.unstarred_section_on():
        abort(404)
    f = parse_filter(
        {"sort": "newest", "page": request.args.get("page", "1")},
        strict=False,
        per_page=current_app.config["CATALOG_PER_PAGE"],
        max_per_page=current_app.config["CATALOG_PER_PAGE"],
    )
    result = queries.list_products(f, with_facets=False, uncertified=True)
    return render_template("catalog/unstarred.html", listing=result, f=f, offers=pricing.card_offers(result.items))


def filter_chips(f, ref) -> list[tuple[str, str]]:
    """The active filters as (label, link to the same listing without it)."""

    def without(**changes) -> str:
        return url_for("catalog.listing", **f.to_args(page=1, **changes))

    chips = []
    if f.stars:
        chips.append((_("Từ %(n)s sao", n=f.stars), without(stars=None)))
    if f.group and f.group in ref.by_slug:
        chips.append((ref.by_slug[f.group].name(str(get_locale())), without(group=None)))
    if f.province and f.province in ref.province_by_slug:
        chips.append((ref.province_by_slug[f.province].name, without(province=None)))
    if f.owner_type:
        chips.append((owner_type_label(f.owner_type), without(owner_type=None)))
    if f.price_min is not None or f.price_max is not None:
        low = vnd(f.price_min, str(get_locale())) if f.price_min is not None else ""
        high = vnd(f.price_max, str(get_locale())) if f.price_max is not None else ""
        chips.append(
            (
                f"{low} – {high}".strip(" –") if low and high else (f"≥ {low}" if low else f"≤ {high}"),
                without(price_min=None, price_max=None),
            )
        )
    if f.in_stock:
        chips.append((_("Còn hàng"), without(in_stock=False)))
    return chips


@bp.get("/san-pham/<slug>")
@cached_page
def product(slug: str):
    item = queries.get_product(slug)
    if item is None:
        abort(404)
    certificate = queries.valid_certificate(item.id)
    ref = queries.reference()
    related = related_products(item)
    return render_template(
        "catalog/product.html",
        product=item,
        certificate=certificate,
        trail=ref.trail(item.category_id),
        producer_province=ref.province_by_id.get(item.producer.province_id),
        offers=pricing.variant_offers(item),
        # rating_count counts the visible reviews (kept in their transaction): most
        # products have none, and their page skips the query.
        reviews=review_queries.visible_for_product(item.id) if item.rating_count else [],
        related=related,
        related_offers=pricing.card_offers(related),
    )


@bp.get("/san-pham/<slug>/qr.svg")
@cached_page
def product_qr(slug: str):
    if queries.get_product(slug) is None:
        abort(404)
    out = io.BytesIO()
    segno.make(absolute_url("catalog.product", slug=slug), error="m").save(out, kind="svg", scale=6, border=2)
    return current_app.response_class(out.getvalue(), mimetype="image/svg+xml")


@bp.get("/nha-san-xuat")
@cached_page
def producers():
    page_arg = request.args.get("page", "1")
    page = int(page_arg) if page_arg.isdigit() and 0 < int(page_arg) < 10_000 else 1
    rows, total = queries.list_producers(page, PRODUCERS_PER_PAGE)
    pages = page_count(total, PRODUCERS_PER_PAGE)
    return render_template("catalog/producers.html", rows=rows, total=total, page=page, pages=pages)


@bp.get("/nha-san-xuat/<slug>")
@cached_page
def producer(slug: str):
    item = queries.get_producer(slug)
    if item is None:
        abort(404)
    f = parse_filter(
        {"producer": slug, "page": request.args.get("page", "1")},
        strict=False,
        per_page=current_app.config["CATALOG_PER_PAGE"],
        max_per_page=current_app.config["CATALOG_PER_PAGE"],
    )
    listing = queries.list_products(f, with_facets=False)
    return render_template(
        "catalog/producer.html",
        producer=item,
        listing=listing,
        certificates=queries.producer_certificates(item.id),
        offers=pricing.card_offers(listing.items),
    )


@bp.get("/media/<path:path>")
def media(path: str):
    """A public photo, from this machine's folder or from the shared store (so any node
    serves what any other stored); a CDN set by MEDIA_URL_BASE may sit in front."""
    store = storage()
    try:
        local = store.local_path(MEDIA, path)
        if local is not None:
            response = send_file(local, max_age=YEAR, conditional=True)
        elif store.name == "local":
            abort(404)
        else:
            data = store.get(MEDIA, path)
            response = send_file(io.BytesIO(data), mimetype=content_type_of(path), max_age=YEAR, etag=False)
            response.set_etag(hashlib.sha256(data).hexdigest()[:32])
            response.make_conditional(request)
    except StoredFileMissing:
        abort(404)
    except StorageError:
        current_app.logger.warning("media store unavailable for %s", path, exc_info=True)
        return current_app.response_class("", status=503, headers={"Retry-After": "5"})
    response.cache_control.immutable = True  # uploads get new random names (shop.assets)
    response.cache_control.public = True
    return response


@bp.get("/sitemap.xml")
@cached_page
def sitemap():
    products, producers = queries.sitemap_entries()
    xml = render_template("catalog/sitemap.xml", products=products, producers=producers)
    return current_app.response_class(xml, mimetype="application/xml")


@bp.get("/robots.txt")
def robots():
    body = f"User-agent: *\nDisallow: /api/\nSitemap: {absolute_url('catalog.sitemap')}\n"
    return current_app.response_class(body, mimetype="text/plain")

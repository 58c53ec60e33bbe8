"""Jinja filters and globals: money, dates, stars, language-aware names."""

from collections import OrderedDict
from datetime import datetime
from typing import Any

from flask import current_app, get_template_attribute, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape

from shop.formatting import compact_count, rating, to_vn, today_vn, vn_date, vn_datetime, vnd
from shop.orders.models import CANCEL_REASON_LABELS, ORDER_STATUS_LABELS, SUB_ORDER_STATUS_LABELS
from shop.page_cache import is_shared
from shop.portal import order_queries
from shop.reviews.jsonld import with_reviews
from shop.settings.legal import operator_details
from shop.settings.services import get_int
from shop.template_env import language, translations
from shop.urls import absolute_url, media_path_url

OWNER_TYPE_LABELS = {
    "cooperative": (_l("Hợp tác xã"), "HTX"),
    "enterprise": (_l("Doanh nghiệp"), _l("Doanh nghiệp")),
    "household": (_l("Hộ kinh doanh"), _l("Hộ kinh doanh")),
    "cooperative_group": (_l("Tổ hợp tác"), _l("Tổ hợp tác")),
}


# The stages of a shopper's order (shop.orders.queries.STAGES), as the tabs name them.
ORDER_STAGE_LABELS = {
    "awaiting_payment": _l("Chờ thanh toán"),
    "to_confirm": _l("Chờ xác nhận"),
    "to_ship": _l("Chờ lấy hàng"),
    "shipping": _l("Đang giao"),
    "delivered": _l("Đã giao"),
    "cancelled": _l("Đã huỷ"),
}


def owner_type_label(code: str, short: bool = False) -> str:
    long_name, short_name = OWNER_TYPE_LABELS.get(code, (code, code))
    return str(short_name if short else long_name)


def canonical_url(**args) -> str:
    """This page's absolute URL without tracking or display arguments."""
    if not request.endpoint:
        return absolute_url("catalog.home")
    return absolute_url(request.endpoint, **(request.view_args or {}), **args)


def page_urls(endpoint: str, view_args: dict, args: dict):
    """The URL of each page of a paginated view, keeping its other arguments: a
    function of the page number. The route is built once (a pager showed up to 7
    links, each a url_for); page 1 has no `page` argument, the others end with it."""
    base = url_for(endpoint, **view_args, **{k: v for k, v in args.items() if k != "page"})
    joiner = "&" if "?" in base else "?"

    def url_of(page: int) -> str:
        return base if page <= 1 else f"{base}{joiner}page={page}"

    return url_of


def media_url(path: str | None) -> str:
    if not path:
        return url_for("static", filename="img/placeholder.svg")
    return media_path_url(path)


def cart_count(view=None) -> int:
    """The header's cart count, on pages rendered for one visitor (see shop.page_cache):
    from the page's own priced cart (`view`, a CartView) when it has one (the cart and
    checkout pages; the same units), else one query."""
    if is_shared():
        return 0
    if view is not None:
        return view.count
    from shop.cart.services import count_items
    from shop.cart.views import cart_owner

    return count_items(*cart_owner())


def new_order_count() -> int:
    """For producer staff, the new orders waiting for them (the header's badge)."""
    if is_shared() or not current_user.is_authenticated or not current_user.memberships:
        return 0
    return order_queries.new_order_count(current_user.producer_ids)


def variant_offer(variant, offers: dict | None = None) -> dict:
    """A SKU as a schema.org Offer, at its promotional price while a week runs."""
    offer = (offers or {}).get(variant.id)
    out = {
        "@type": "Offer",
        "sku": variant.sku,
        "name": variant.label,
        "price": offer.promo_price if offer else variant.price,
        "priceCurrency": "VND",
        "availability": "https://schema.org/" + ("InStock" if variant.stock > 0 else "OutOfStock"),
    }
    if offer:
        out["priceValidUntil"] = to_vn(offer.ends_at).date().isoformat()
    return out


CARD_CACHE_SIZE = 20_000


def cards(products, offers=None, heading: str = "h3") -> Markup:
    """A grid's product cards (templates/catalog/_macros.html), each rendered once per
    process for each state it can show: the product row (its updated_at moves with every
    listing column), its producer's and province's names, the day (stars lapse), the
    promotion offer and the language. A listing page of 24 cards would otherwise spend
    most of its time in this macro; the language and the day are read once per grid."""
    cache = current_app.extensions.setdefault("product_cards", OrderedDict())
    locale = language()
    today = today_vn()
    out = []
    for product in products:
        offer = offers.get(product.id) if offers else None
        key = (
            locale,
            heading,
            product.id,
            product.updated_at,
            product.producer.name,
            product.province.name,
            today,
            (offer.price, offer.promo_price, offer.percent) if offer else None,
        )
        html = cache.get(key)
        if html is None:
            macro = get_template_attribute("catalog/_macros.html", "product_card")
            html = cache[key] = str(macro(product, heading, offer))
            if len(cache) > CARD_CACHE_SIZE:
                cache.popitem(last=False)
        out.append(html)
    return Markup("".join(out))


def facet_options(ref, kind: str, selected: str | None, counts: dict[int, int]) -> Markup:
    """The <option>s of the listing's group or province filter with their counts.
    Their labels are escaped once per process, language and reference snapshot:
    a hundred options through the template's loop cost ~1 ms a first view."""
    locale = language()
    cache = current_app.extensions.setdefault("facet_options", {})
    held = cache.get((kind, locale))
    if held is None or held[0] is not ref:
        rows: list[tuple[str, str, str, int | None]] = []
        if kind == "group":
            for group in ref.groups:
                rows.append(
                    (group.slug, f'<option value="{escape(group.slug)}" ', f">{escape(group.name(locale))}", group.id)
                )
                for sub in ref.children.get(group.id, []):
                    label = f">&nbsp;&nbsp;– {escape(sub.name(locale))}"
                    rows.append((sub.slug, f'<option value="{escape(sub.slug)}" ', label, None))
        else:
            rows = [(p.slug, f'<option value="{escape(p.slug)}" ', f">{escape(p.name)}", p.id) for p in ref.provinces]
        held = cache[(kind, locale)] = (ref, rows)
    return Markup(
        "\n".join(
            f"{head}{'selected' if value == selected else ''}{label}"
            f"{'' if key is None else f' ({counts.get(key, 0)})'}</option>"
            for value, head, label, key in held[1]
        )
    )


CHROME_TEMPLATE = "_chrome.html"


def chrome(name: str, *args, **holes) -> Markup:
    """A macro of templates/_chrome.html (the layout's header or footer) on a page
    rendered for everyone: rendered once per process for its arguments and the
    language, with a marker where each of `holes` goes, then filled in with the
    holes' values (escaped, as the template would have). It was 1.3 ms of every
    first view; filling it in is a join. Its arguments must be hashable and say
    everything it shows (the operator's details are a frozen dataclass, replaced
    when they change)."""
    cache = current_app.extensions.setdefault("chrome", {})
    key = (name, language(), request.script_root, args, tuple(holes))
    parts = cache.get(key)
    if parts is None:
        macro = get_template_attribute(CHROME_TEMPLATE, name)
        html = str(macro(*args, **{hole: Markup(f"\x00{hole}\x00") for hole in holes}))
        parts = html.split("\x00")  # text, hole name, text, hole name, ..., text
        if len(cache) > 64:  # old operator details
            cache.clear()
        cache[key] = parts
    out = [parts[0]]
    for i in range(1, len(parts), 2):
        out += (escape(holes[parts[i]]), parts[i + 1])
    return Markup("".join(out))


def register_templating(app) -> None:
    def loc() -> str:
        return language() or app.config["BABEL_DEFAULT_LOCALE"]

    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )

    app.jinja_env.filters["vnd"] = lambda amount: vnd(int(amount), loc())
    # A moment (not a calendar date) is dated in Vietnam time, not by its UTC day.
    app.jinja_env.filters["vn_date"] = lambda d: (
        vn_date(to_vn(d).date() if isinstance(d, datetime) else d, loc()) if d else ""
    )
    app.jinja_env.filters["rating"] = lambda v: rating(v, loc())
    app.jinja_env.filters["sold"] = lambda n: compact_count(int(n), loc())
    app.jinja_env.filters["jsonld_reviews"] = with_reviews
    app.jinja_env.filters["vn_datetime"] = lambda d: vn_datetime(d, loc()) if d else ""
    app.jinja_env.filters["owner_type"] = owner_type_label
    app.jinja_env.filters["cat_name"] = lambda c: c.name(loc()) if c else ""
    app.jinja_env.filters["pname"] = lambda p: p.display_name(loc())
    app.jinja_env.filters["media_abs"] = lambda path: media_path_url(path, external=True)
    app.jinja_env.filters["variant_offer"] = variant_offer
    app.jinja_env.filters["cancel_reason"] = lambda r: str(CANCEL_REASON_LABELS.get(r, r)) if r else ""
    app.jinja_env.globals.update(
        absolute_url=absolute_url,
        canonical_url=canonical_url,
        page_urls=page_urls,
        order_status_label=lambda s: str(ORDER_STATUS_LABELS.get(s, s)),
        sub_status_label=lambda s: str(SUB_ORDER_STATUS_LABELS.get(s, s)),
        order_stage_label=lambda s: str(ORDER_STAGE_LABELS.get(s, s)),
        order_stage_labels=ORDER_STAGE_LABELS,
        cart_count=cart_count,
        cards=cards,
        chrome=chrome,
        facet_options=facet_options,
        new_order_count=new_order_count,
        media_url=media_url,
        has_endpoint=lambda name: name in app.view_functions,
        site_name=app.config["SITE_NAME"],
        operator_details=operator_details,
        cod_max_amount=lambda: get_int("cod_max_amount"),
        languages=app.config["LANGUAGES"],
    )

    @app.context_processor
    def request_helpers():
        def url_with(**changes):
            """This page's URL with some query arguments changed (None removes one)."""
            endpoint = request.endpoint
            if endpoint is None:  # only the pages of a route call it
                raise RuntimeError("url_with needs a request matched to a route")
            args: dict[str, Any] = request.args.to_dict()
            args.update({k: v for k, v in changes.items() if v is not None})
            for k, v in changes.items():
                if v is None:
                    args.pop(k, None)
            return url_for(endpoint, **(request.view_args or {}), **args)

        # `personal`: the page is rendered for this visitor alone and may show their
        # name, cart and messages; shared cached pages get those from /ca-nhan.
        return {"url_with": url_with, "personal": not is_shared()}

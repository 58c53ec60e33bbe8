"""Storefront pages of the promotion weeks: the index (/khuyen-mai) and each
week's landing page (/khuyen-mai/<slug>) with its products at their
promotional prices while it runs.

Pages are in the page cache, whose key carries the set of running weeks
(shop.promotions.pricing.state_token), so a week appears on its first second
and disappears after its last even on a cached page."""

from datetime import UTC

from flask import Blueprint, abort, current_app, render_template, request

from shop.formatting import as_utc, utcnow
from shop.page_cache import cached_page
from shop.paging import page_count
from shop.promotions import pricing, storefront_queries, week_queries, week_rules

bp = Blueprint("promotions", __name__, url_prefix="/khuyen-mai")


@bp.app_template_filter("iso_utc")
def iso_utc(moment) -> str:
    """An instant as ISO 8601 in UTC ("2025-05-20T01:00:00Z"), for countdown scripts."""
    return as_utc(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


@bp.get("")
@cached_page
def index():
    now = utcnow()
    return render_template("promotions/index.html", weeks=storefront_queries.public_weeks(now), now=now)


@bp.get("/<slug>")
@cached_page
def landing(slug: str):
    week = storefront_queries.public_week(slug)
    if week is None:
        abort(404)
    page_arg = request.args.get("page", "1")
    page = int(page_arg) if page_arg.isdigit() and 0 < int(page_arg) < 10_000 else 1
    per_page = current_app.config["CATALOG_PER_PAGE"]
    now = utcnow()
    status = week_rules.week_status(week, now)
    items, total = storefront_queries.week_products(week, page, per_page)
    return render_template(
        "promotions/landing.html",
        week=week,
        status=status,
        items=items,
        total=total,
        page=page,
        pages=page_count(total, per_page),
        offers=pricing.card_offers(items, now) if status == "running" else {},
        scope=week_queries.scope_labels(week) if not week.invitation_only else {},
    )

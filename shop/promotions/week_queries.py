"""The operator's reads of promotion weeks (/ops/khuyen-mai): the list, a week's
scope as labels, the choices its form offers (and the products its picker finds)
and its enrolments.
"""

from collections.abc import Iterable
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import selectinload

from shop.catalog.models import Category, Product, Variant
from shop.errors import NotFound
from shop.extensions import db
from shop.formatting import as_utc, utcnow
from shop.places.models import Province
from shop.producers.models import Producer
from shop.promotions.models import Promotion, PromotionEnrolment
from shop.promotions.week_rules import WeekGroups, week_status
from shop.text import fold


def list_weeks(now: datetime | None = None) -> WeekGroups:
    """Every week for the console: upcoming (soonest first), running, ended (latest first)."""
    now = now or utcnow()
    out = WeekGroups()
    for p in db.session.scalars(select(Promotion).order_by(Promotion.starts_at, Promotion.id)):
        status = week_status(p, now)
        if status == "cancelled" or as_utc(p.ends_at) <= now:
            out.ended.append(p)
        elif status == "running":
            out.running.append(p)
        else:
            out.upcoming.append(p)
    out.ended.reverse()
    out.pending = dict(
        db.session.execute(
            select(PromotionEnrolment.promotion_id, func.count())
            .where(PromotionEnrolment.state == "pending")
            .group_by(PromotionEnrolment.promotion_id)
        )
        .tuples()
        .all()
    )
    return out


def scope_labels(promotion: Promotion) -> dict[str, list[str]]:
    """The names behind a week's scope ids, for the console and the landing page."""
    scope = promotion.scope or {}
    out: dict[str, list[str]] = {}
    if scope.get("products"):
        out["products"] = list(
            db.session.scalars(select(Product.name).where(Product.id.in_(scope["products"])).order_by(Product.name))
        )
    if scope.get("producers"):
        out["producers"] = list(
            db.session.scalars(select(Producer.name).where(Producer.id.in_(scope["producers"])).order_by(Producer.name))
        )
    if scope.get("provinces"):
        out["provinces"] = list(
            db.session.scalars(
                select(Province.name).where(Province.id.in_(scope["provinces"])).order_by(Province.position)
            )
        )
    if scope.get("categories"):
        out["categories"] = list(
            db.session.scalars(
                select(Category.name_vi).where(Category.id.in_(scope["categories"])).order_by(Category.id)
            )
        )
    return out


def scope_product_refs(promotion: Promotion) -> list[str]:
    """The slugs of a week's chosen products (to fill the form again)."""
    ids = (promotion.scope or {}).get("products") or []
    if not ids:
        return []
    return list(db.session.scalars(select(Product.slug).where(Product.id.in_(ids)).order_by(Product.slug)))


PICK_LIMIT = 12


def _product_pick_rows(*where, limit: int | None = None) -> list[tuple[str, str]]:
    stmt = (
        select(Product.slug, Product.name, Producer.name)
        .join(Producer, Producer.id == Product.producer_id)
        .where(*where)
        .order_by(Product.listed.desc(), Product.name, Product.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [(slug, f"{name} — {producer}") for slug, name, producer in db.session.execute(stmt)]


def product_matches(text: str, limit: int = PICK_LIMIT) -> list[tuple[str, str]]:
    """(slug, "name — producer") of the products the week form's picker offers for
    what the operator typed: the name without tone marks or the slug contains it, or
    it is one of the product's SKUs, or (digits only) its id. Listed products first."""
    raw = (text or "").strip()[:100]
    folded = fold(raw).strip()
    if not folded:
        return []
    matches: list[ColumnElement[bool]] = [
        exists().where(Variant.product_id == Product.id, func.upper(Variant.sku) == raw.upper())
    ]
    if raw.isdigit():  # an id (a number would be found in too many names and slugs)
        if int(raw) < 2**31:
            matches.append(Product.id == int(raw))
    else:
        matches.append(Product.search_name.contains(folded, autoescape=True))
        matches.append(Product.slug.contains(folded.replace(" ", "-"), autoescape=True))
    return _product_pick_rows(or_(*matches), limit=limit)


def product_labels(refs: Iterable[str]) -> dict[str, str]:
    """The picker's label of each product ref (slug or id) the form holds; refs that
    name no product are left out (the service refuses them on saving)."""
    refs = [r for r in refs if r][:500]
    if not refs:
        return {}
    ids = [int(r) for r in refs if r.isdigit() and int(r) < 2**31]
    rows = db.session.execute(
        select(Product.id, Product.slug).where(or_(Product.slug.in_(refs), Product.id.in_(ids)))
    ).all()
    label_of = dict(_product_pick_rows(Product.id.in_([row.id for row in rows])))
    out = {}
    for row in rows:
        for ref in (row.slug, str(row.id)):
            if ref in refs:
                out[ref] = label_of[row.slug]
    return out


def producer_choices() -> list[tuple[int, str]]:
    return list(
        db.session.execute(
            select(Producer.id, Producer.name).where(Producer.status == "approved").order_by(Producer.name)
        ).tuples()
    )


def province_choices() -> list[tuple[int, str]]:
    return list(db.session.execute(select(Province.id, Province.name).order_by(Province.position)).tuples())


def category_choices() -> list[tuple[int, str, int]]:
    """(id, Vietnamese name, level) of the product groups and sub-groups, in tree order."""
    rows = list(
        db.session.scalars(select(Category).where(Category.level <= 2).order_by(Category.position, Category.id))
    )
    children: dict[int | None, list[Category]] = {}
    for c in rows:
        children.setdefault(c.parent_id, []).append(c)
    out: list[tuple[int, str, int]] = []
    for top in children.get(None, []):
        out.append((top.id, f"{top.code}. {top.name_vi}", 1))
        out.extend((c.id, c.name_vi, 2) for c in children.get(top.id, []))
    return out


def enrolment_promotion_id(enrolment_id: int) -> int:
    promotion_id = db.session.scalar(
        select(PromotionEnrolment.promotion_id).where(PromotionEnrolment.id == enrolment_id)
    )
    if promotion_id is None:
        raise NotFound(_("Không tìm thấy đăng ký."))
    return promotion_id


def week_enrolments(promotion_id: int) -> list[PromotionEnrolment]:
    """A week's enrolments for the operator: pending first, then by producer."""
    return list(
        db.session.scalars(
            select(PromotionEnrolment)
            .where(PromotionEnrolment.promotion_id == promotion_id)
            .options(
                selectinload(PromotionEnrolment.producer),
                selectinload(PromotionEnrolment.variant).selectinload(Variant.product),
            )
            .order_by(
                (PromotionEnrolment.state != "pending"),
                PromotionEnrolment.producer_id,
                PromotionEnrolment.id,
            )
        )
    )

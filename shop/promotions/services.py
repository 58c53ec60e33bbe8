"""Promotion weeks and producers' enrolments in them: the operator's and the
producer's use cases, and the storefront's reads of a week.

Each use case takes plain values, checks everything before it changes a row,
commits once and then invalidates the catalog caches: prices are never
rewritten, the engine in shop.promotions.pricing reads the weeks when a price
is read. Operator actions are written to the audit log in the same
transaction. Times come in as aware datetimes (the forms read Vietnam local
time, see `shop.formatting.parse_vn_datetime`) and are stored in UTC; a week runs while
starts_at <= now < ends_at."""

import contextlib
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from shop.audit.services import record, snapshot
from shop.catalog.models import Category, Product, Variant
from shop.catalog.reference import reference
from shop.errors import NotFound, ShopError
from shop.extensions import db
from shop.formatting import as_utc, today_vn, utcnow
from shop.inputs import parse_int
from shop.places.models import Province
from shop.portal import images
from shop.producers.models import Producer
from shop.promotions.models import Promotion, PromotionEnrolment
from shop.storage import MEDIA, StorageError, storage
from shop.text import slugify

log = logging.getLogger(__name__)

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
LIVE_STATES = ("draft", "published")  # weeks whose products may not overlap
HOLDING = ("pending", "approved")  # enrolments that hold a SKU
WEEK_FIELDS = (
    "name",
    "slug",
    "description",
    "banner_path",
    "starts_at",
    "ends_at",
    "kind",
    "value",
    "max_discount",
    "scope",
    "invitation_only",
    "operator_share",
    "state",
)
# What may no longer change once a week has ended: what it sold at stays as sold.
FROZEN_WHEN_ENDED = (
    "starts_at",
    "ends_at",
    "kind",
    "value",
    "max_discount",
    "scope",
    "invitation_only",
    "operator_share",
)

# An enrolled price may take at most this much off the normal price.
MAX_ENROLLED_DISCOUNT_PERCENT = 90


class PromotionError(ShopError):
    """A refusal about one field of a form (`field`), or the form as a whole (None)."""

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message, code=code)
        self.field = field


# --- plain values the views pass in ------------------------------------------------------


@dataclass(frozen=True)
class WeekDetails:
    """A promotion week as the operator typed it. `product_refs` are product
    slugs or ids; the other scope lists are ids."""

    name: str
    starts_at: datetime | None
    ends_at: datetime | None
    kind: str
    value: int | None
    max_discount: int | None = None
    description: str = ""
    slug: str = ""
    invitation_only: bool = False
    operator_share: int | None = 100
    product_refs: tuple[str, ...] = ()
    producers: tuple[int, ...] = ()
    provinces: tuple[int, ...] = ()
    categories: tuple[int, ...] = ()
    min_stars: int | None = None


@dataclass(frozen=True)
class Banner:
    filename: str
    data: bytes


@dataclass
class WeekGroups:
    upcoming: list[Promotion] = field(default_factory=list)
    running: list[Promotion] = field(default_factory=list)
    ended: list[Promotion] = field(default_factory=list)
    pending: dict[int, int] = field(default_factory=dict)  # promotion id -> pending enrolments


# --- pure helpers ----------------------------------------------------------------------------


def overlaps(start_a: datetime, end_a: datetime, start_b: datetime, end_b: datetime) -> bool:
    """Whether two half-open periods [start, end) share an instant."""
    return as_utc(start_a) < as_utc(end_b) and as_utc(start_b) < as_utc(end_a)


def week_status(promotion: Promotion, now: datetime | None = None) -> str:
    """draft, cancelled, upcoming, running or ended, as the operator reads it."""
    if promotion.state in ("draft", "cancelled"):
        return promotion.state
    now = now or utcnow()
    if now < as_utc(promotion.starts_at):
        return "upcoming"
    if now < as_utc(promotion.ends_at):
        return "running"
    return "ended"


def scope_matches(
    scope: dict | None,
    *,
    product_id: int,
    producer_id: int,
    province_id: int,
    category_ids: Iterable[int],
    stars: int | None,
) -> bool:
    """Whether a product falls in a week's scope. `category_ids` are the
    product's category and its ancestors (choosing a group takes in everything
    under it); an empty or absent entry does not limit."""
    scope = scope or {}
    if scope.get("products") and product_id not in scope["products"]:
        return False
    if scope.get("producers") and producer_id not in scope["producers"]:
        return False
    if scope.get("provinces") and province_id not in scope["provinces"]:
        return False
    if scope.get("categories") and not set(scope["categories"]) & set(category_ids):
        return False
    min_stars = scope.get("min_stars")
    return not (min_stars and (stars or 0) < min_stars)


def invites_producer(scope: dict | None, producer_id: int, province_id: int) -> bool:
    """Whether an invitation-only week is open to this producer."""
    scope = scope or {}
    return (not scope.get("producers") or producer_id in scope["producers"]) and (
        not scope.get("provinces") or province_id in scope["provinces"]
    )


def describe_rule(kind: str, value: int, max_discount: int | None) -> dict:
    """The parts of a week's discount rule, for templates to word."""
    return {"kind": kind, "value": value, "cap": max_discount}


# --- reads -------------------------------------------------------------------------------------


def get_week(promotion_id: int) -> Promotion:
    promotion = db.session.get(Promotion, promotion_id)
    if promotion is None:
        raise NotFound(_("Không tìm thấy tuần lễ khuyến mãi."))
    return promotion


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
        ).all()
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


def producer_choices() -> list[tuple[int, str]]:
    return list(
        db.session.execute(
            select(Producer.id, Producer.name).where(Producer.status == "approved").order_by(Producer.name)
        )
    )


def province_choices() -> list[tuple[int, str]]:
    return list(db.session.execute(select(Province.id, Province.name).order_by(Province.position)))


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


# --- checks ------------------------------------------------------------------------------------


def _name(raw: str) -> str:
    value = " ".join((raw or "").split())
    if not value:
        raise PromotionError(_("Nhập tên tuần lễ khuyến mãi."), code="name_required", field="name")
    if len(value) > 200:
        raise PromotionError(_("Tên dài quá 200 ký tự."), code="name_too_long", field="name")
    return value


def _slug(raw: str, name: str, promotion_id: int | None, current: str | None = None) -> str:
    wanted = (raw or "").strip().lower()
    if wanted and (not SLUG.fullmatch(wanted) or len(wanted) > 100):
        raise PromotionError(
            _("Đường dẫn chỉ gồm chữ thường không dấu, số và dấu gạch ngang, ví dụ tuan-le-ocop-ha-noi."),
            code="bad_slug",
            field="slug",
        )

    def taken(slug: str) -> bool:
        stmt = select(Promotion.id).where(Promotion.slug == slug)
        if promotion_id is not None:
            stmt = stmt.where(Promotion.id != promotion_id)
        return db.session.scalar(stmt) is not None

    if not wanted and current:
        return current  # a renamed week keeps its address: links to it stay good
    if wanted:
        if taken(wanted):
            raise PromotionError(_("Đường dẫn này đã được dùng cho tuần lễ khác."), code="slug_taken", field="slug")
        return wanted
    base = slugify(name, max_length=90)
    slug, n = base, 2
    while taken(slug):
        slug, n = f"{base}-{n}", n + 1
    return slug


def _timing(starts_at: datetime | None, ends_at: datetime | None) -> tuple[datetime, datetime]:
    if starts_at is None:
        raise PromotionError(_("Nhập ngày giờ bắt đầu."), code="start_required", field="starts_at")
    if ends_at is None:
        raise PromotionError(_("Nhập ngày giờ kết thúc."), code="end_required", field="ends_at")
    starts_at, ends_at = as_utc(starts_at).astimezone(UTC), as_utc(ends_at).astimezone(UTC)
    if ends_at <= starts_at:
        raise PromotionError(
            _("Thời điểm kết thúc phải sau thời điểm bắt đầu."), code="ends_before_start", field="ends_at"
        )
    return starts_at, ends_at


def _discount(kind: str, value: int | None, cap: int | None) -> tuple[str, int, int | None]:
    if kind not in ("percent", "fixed"):
        raise PromotionError(_("Chọn cách giảm: theo phần trăm hoặc số tiền."), code="bad_kind", field="kind")
    if value is None:
        raise PromotionError(_("Nhập mức giảm."), code="value_required", field="value")
    if not isinstance(value, int) or isinstance(value, bool):
        raise PromotionError(_("Mức giảm phải là số nguyên."), code="bad_value", field="value")
    if kind == "percent" and not 1 <= value <= 99:
        raise PromotionError(_("Mức giảm theo phần trăm phải từ 1 đến 99%."), code="bad_percent", field="value")
    if kind == "fixed" and value <= 0:
        raise PromotionError(_("Số tiền giảm phải lớn hơn 0 ₫."), code="bad_amount", field="value")
    if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap <= 0):
        raise PromotionError(
            _("Mức giảm tối đa phải là số tiền lớn hơn 0 ₫ (để trống nếu không giới hạn)."),
            code="bad_cap",
            field="max_discount",
        )
    return kind, value, cap


def _share(value: int | None) -> int:
    if value is None or not isinstance(value, int) or not 0 <= value <= 100:
        raise PromotionError(
            _("Phần sàn chịu phải là số nguyên từ 0 đến 100%."), code="bad_share", field="operator_share"
        )
    return value


def _ids(values: Iterable, model, field_name: str, message: str) -> list[int]:
    ids: list[int] = []
    for raw in values:
        value = parse_int(raw, minimum=1)
        if value is None:
            raise PromotionError(message % {"id": str(raw)[:40]}, code="unknown_scope", field=field_name)
        ids.append(value)
    ids = sorted(set(ids))
    if ids:
        found = set(db.session.scalars(select(model.id).where(model.id.in_(ids))))
        missing = [i for i in ids if i not in found]
        if missing:
            raise PromotionError(message % {"id": missing[0]}, code="unknown_scope", field=field_name)
    return ids


def _product_ids(refs: Iterable[str]) -> list[int]:
    tokens = [t for t in (str(r).strip() for r in refs) if t]
    if not tokens:
        return []
    ids: set[int] = set()
    for token in tokens:
        stmt = select(Product.id).where(Product.slug == token)
        if token.isdigit():
            stmt = select(Product.id).where(or_(Product.slug == token, Product.id == int(token)))
        found = db.session.scalar(stmt)
        if found is None:
            raise PromotionError(
                _("Không tìm thấy sản phẩm “%(ref)s”.", ref=token[:80]), code="unknown_product", field="products"
            )
        ids.add(found)
    return sorted(ids)


def _scope(details: WeekDetails) -> dict:
    scope: dict = {}
    products = _product_ids(details.product_refs)
    producers = _ids(details.producers, Producer, "producers", _("Không tìm thấy nhà sản xuất #%(id)s."))
    provinces = _ids(details.provinces, Province, "provinces", _("Không tìm thấy tỉnh, thành #%(id)s."))
    categories = _ids(details.categories, Category, "categories", _("Không tìm thấy nhóm sản phẩm #%(id)s."))
    if details.min_stars is not None and details.min_stars not in (3, 4, 5):
        raise PromotionError(_("Số sao tối thiểu là 3, 4 hoặc 5."), code="bad_stars", field="min_stars")
    for key, value in (("products", products), ("producers", producers), ("provinces", provinces)):
        if value:
            scope[key] = value
    if categories:
        scope["categories"] = categories
    if details.min_stars:
        scope["min_stars"] = details.min_stars
    return scope


def _held(promotion_id: int) -> tuple[set[int], set[int]]:
    """(product ids chosen, variant ids enrolled and pending or approved) of a week."""
    promotion = db.session.get(Promotion, promotion_id)
    products = set((promotion.scope or {}).get("products") or ()) if promotion else set()
    variants = set(
        db.session.scalars(
            select(PromotionEnrolment.variant_id).where(
                PromotionEnrolment.promotion_id == promotion_id, PromotionEnrolment.state.in_(HOLDING)
            )
        )
    )
    return products, variants


def _conflict(
    promotion_id: int | None, starts_at: datetime, ends_at: datetime, products: set[int], variants: set[int]
) -> str | None:
    """A message when one of these products or SKUs is already in another draft or
    published week whose time overlaps [starts_at, ends_at); None otherwise."""
    if not products and not variants:
        return None
    others = db.session.scalars(
        select(Promotion).where(
            Promotion.state.in_(LIVE_STATES),
            Promotion.starts_at < ends_at,
            Promotion.ends_at > starts_at,
            *([Promotion.id != promotion_id] if promotion_id is not None else []),
        )
    ).all()
    if not others:
        return None
    variant_products = (
        dict(db.session.execute(select(Variant.id, Variant.product_id).where(Variant.id.in_(variants))).all())
        if variants
        else {}
    )
    for other in others:
        other_products, other_variants = _held(other.id)
        other_variant_products = (
            set(db.session.scalars(select(Variant.product_id).where(Variant.id.in_(other_variants))))
            if other_variants
            else set()
        )
        clash_products = (products & (other_products | other_variant_products)) | (
            set(variant_products.values()) & other_products
        )
        clash_variants = variants & other_variants
        if clash_variants:
            variant = db.session.get(Variant, min(clash_variants))
            return _(
                "SKU %(sku)s đã có trong tuần lễ “%(week)s” diễn ra trùng thời gian.", sku=variant.sku, week=other.name
            )
        if clash_products:
            product = db.session.get(Product, min(clash_products))
            return _(
                "Sản phẩm “%(product)s” đã có trong tuần lễ “%(week)s” diễn ra trùng thời gian.",
                product=product.name,
                week=other.name,
            )
    return None


def _remove_media(keys: list[str]) -> None:
    for key in keys:
        with contextlib.suppress(StorageError):  # a file left behind costs space, not correctness
            storage().delete(MEDIA, key)


def _store_banner(banner: Banner | None, written: list[str]) -> str | None:
    if banner is None or not (banner.filename or banner.data):
        return None
    try:
        picture = images.process_product_image(banner.data)
    except images.RejectedFile as err:
        messages = {
            "empty": _("Tệp ảnh trống."),
            "too_large": _("Ảnh quá lớn (tối đa 20 MB)."),
            "too_many_pixels": _("Ảnh có quá nhiều điểm ảnh."),
            "not_image": _("Ảnh biểu ngữ phải là ảnh JPEG, PNG hoặc WebP."),
        }
        raise PromotionError(
            messages.get(err.reason, messages["not_image"]), code="invalid_image", field="banner"
        ) from None
    relative = f"promotions/{secrets.token_hex(16)}.jpg"
    try:
        storage().put(MEDIA, relative, picture.full)
    except StorageError:
        raise PromotionError(
            _("Không lưu được ảnh biểu ngữ lúc này: kho lưu trữ tệp không phản hồi. Hãy thử lại sau ít phút."),
            code="storage_unavailable",
            field="banner",
        ) from None
    written.append(relative)
    return relative


def _snapshot(promotion: Promotion, fields: tuple[str, ...] = WEEK_FIELDS) -> dict:
    """The audit log's view of a week, with times always in UTC (SQLite returns them naive)."""
    out = snapshot(promotion, fields)
    for name in ("starts_at", "ends_at"):
        if name in out and getattr(promotion, name) is not None:
            out[name] = as_utc(getattr(promotion, name)).astimezone(UTC).isoformat()
    return out


def _commit_week_change(promotion: Promotion) -> None:
    """Commit; a published week may cover any product, so its changes purge every
    cached page that shows prices (shop.catalog.changes)."""
    db.session.commit()


def _apply(promotion: Promotion, details: WeekDetails, now: datetime, creating: bool) -> None:
    name = _name(details.name)
    slug = _slug(details.slug, name, None if creating else promotion.id, None if creating else promotion.slug)
    starts_at, ends_at = _timing(details.starts_at, details.ends_at)
    kind, value, cap = _discount(details.kind, details.value, details.max_discount)
    share = _share(details.operator_share)
    scope = _scope(details)
    description = (details.description or "").strip()[:5000]
    changed_timing = creating or (as_utc(promotion.starts_at) != starts_at or as_utc(promotion.ends_at) != ends_at)
    finished = not creating and (promotion.state == "cancelled" or as_utc(promotion.ends_at) <= now)
    if finished:
        new = {
            "starts_at": starts_at,
            "ends_at": ends_at,
            "kind": kind,
            "value": value,
            "max_discount": cap,
            "scope": scope,
            "invitation_only": bool(details.invitation_only),
            "operator_share": share,
        }
        old = {name_: getattr(promotion, name_) for name_ in FROZEN_WHEN_ENDED}
        old["starts_at"], old["ends_at"] = as_utc(old["starts_at"]), as_utc(old["ends_at"])
        if any(old[k] != new[k] for k in FROZEN_WHEN_ENDED):
            raise PromotionError(
                _(
                    "Tuần lễ này đã kết thúc: chỉ sửa được tên, mô tả và ảnh, "
                    "không sửa được thời gian, mức giảm hay phạm vi."
                ),
                code="week_ended",
            )
    elif changed_timing and ends_at <= now:
        raise PromotionError(
            _("Thời điểm kết thúc đã qua: chọn một thời điểm trong tương lai."), code="ends_in_past", field="ends_at"
        )
    if creating or promotion.state != "cancelled":
        variants = set() if creating else _held(promotion.id)[1]
        clash = _conflict(
            None if creating else promotion.id, starts_at, ends_at, set(scope.get("products", [])), variants
        )
        if clash:
            raise PromotionError(clash, code="overlap", field="products")
    promotion.name = name
    promotion.slug = slug
    promotion.description = description
    promotion.starts_at = starts_at
    promotion.ends_at = ends_at
    promotion.kind = kind
    promotion.value = value
    promotion.max_discount = cap
    promotion.operator_share = share
    promotion.invitation_only = bool(details.invitation_only)
    promotion.scope = scope


# --- the operator's use cases ------------------------------------------------------------------


def create_week(actor_id: int, details: WeekDetails, banner: Banner | None = None, now: datetime | None = None) -> int:
    """A new week, as a draft: shoppers see nothing until it is published."""
    now = now or utcnow()
    promotion = Promotion(state="draft", scope={})
    _apply(promotion, details, now, creating=True)
    written: list[str] = []
    try:
        promotion.banner_path = _store_banner(banner, written)
        db.session.add(promotion)
        db.session.flush()
        record(
            actor_id,
            "promotion.create",
            "promotion",
            promotion.id,
            label=promotion.name,
            after=_snapshot(promotion),
        )
        _commit_week_change(promotion)
    except BaseException:
        db.session.rollback()
        _remove_media(written)
        raise
    return promotion.id


def update_week(
    actor_id: int, promotion_id: int, details: WeekDetails, banner: Banner | None = None, now: datetime | None = None
) -> None:
    """Change a week. Once it has ended only its name, description and banner
    may change: what was sold at its price stays as sold."""
    now = now or utcnow()
    promotion = get_week(promotion_id)
    before = _snapshot(promotion)
    old_banner = promotion.banner_path
    written: list[str] = []
    try:
        _apply(promotion, details, now, creating=False)
        new_banner = _store_banner(banner, written)
        if new_banner:
            promotion.banner_path = new_banner
        after = _snapshot(promotion)
        changed = [k for k in WEEK_FIELDS if before[k] != after[k]]
        if changed:
            record(
                actor_id,
                "promotion.update",
                "promotion",
                promotion.id,
                label=promotion.name,
                before={k: before[k] for k in changed},
                after={k: after[k] for k in changed},
            )
        _commit_week_change(promotion)
    except BaseException:
        db.session.rollback()
        _remove_media(written)
        raise
    if new_banner and old_banner:
        _remove_media([old_banner])


def publish_week(actor_id: int, promotion_id: int, now: datetime | None = None) -> None:
    """Put a draft week on the schedule: it runs from its first second to its last."""
    now = now or utcnow()
    promotion = get_week(promotion_id)
    if promotion.state != "draft":
        raise PromotionError(_("Chỉ công bố được tuần lễ đang ở trạng thái nháp."), code="not_draft")
    if as_utc(promotion.ends_at) <= now:
        raise PromotionError(_("Tuần lễ này đã qua thời điểm kết thúc: sửa thời gian trước khi công bố."), code="ended")
    clash = _conflict(
        promotion.id,
        as_utc(promotion.starts_at),
        as_utc(promotion.ends_at),
        set((promotion.scope or {}).get("products") or ()),
        _held(promotion.id)[1],
    )
    if clash:
        raise PromotionError(clash, code="overlap")
    promotion.state = "published"
    record(
        actor_id,
        "promotion.publish",
        "promotion",
        promotion.id,
        label=promotion.name,
        before={"state": "draft"},
        after={"state": "published"},
    )
    _commit_week_change(promotion)


def cancel_week(actor_id: int, promotion_id: int, reason: str, now: datetime | None = None) -> None:
    """Stop a week now (or call off one not started): its prices end at once."""
    now = now or utcnow()
    promotion = get_week(promotion_id)
    reason = (reason or "").strip()
    if not reason:
        raise PromotionError(_("Nhập lý do huỷ tuần lễ."), code="reason_required", field="reason")
    if promotion.state == "cancelled":
        raise PromotionError(_("Tuần lễ này đã bị huỷ."), code="already_cancelled")
    if promotion.state == "published" and as_utc(promotion.ends_at) <= now:
        raise PromotionError(_("Tuần lễ này đã kết thúc."), code="ended")
    before = _snapshot(promotion, ("state", "ends_at"))
    promotion.state = "cancelled"
    if as_utc(promotion.starts_at) < now < as_utc(promotion.ends_at):
        promotion.ends_at = now
    record(
        actor_id,
        "promotion.cancel",
        "promotion",
        promotion.id,
        label=promotion.name,
        reason=reason,
        before=before,
        after=_snapshot(promotion, ("state", "ends_at")),
    )
    _commit_week_change(promotion)


def decide_enrolment(
    actor_id: int, enrolment_id: int, approve: bool, reason: str = "", now: datetime | None = None
) -> PromotionEnrolment:
    """Approve a producer's offer (the SKU sells at its price during the week, up
    to its quota) or reject it with a reason the producer reads."""
    now = now or utcnow()
    enrolment = db.session.get(PromotionEnrolment, enrolment_id)
    if enrolment is None:
        raise NotFound(_("Không tìm thấy đăng ký."))
    reason = (reason or "").strip()[:2000]
    if not approve and not reason:
        raise PromotionError(
            _("Nhập lý do từ chối: nhà sản xuất sẽ đọc lý do này."), code="reason_required", field="reason"
        )
    if enrolment.state != "pending":
        raise PromotionError(_("Đăng ký này đã được xử lý."), code="already_decided")
    promotion = enrolment.promotion
    if approve:
        producer = db.session.get(Producer, enrolment.producer_id)
        if producer is None or producer.status != "approved":
            raise PromotionError(
                _("Nhà sản xuất này không còn hoạt động trên sàn: không duyệt được đăng ký."), code="producer_gone"
            )
        if promotion.state == "cancelled" or as_utc(promotion.ends_at) <= now:
            raise PromotionError(_("Tuần lễ này đã kết thúc."), code="ended")
        variant = db.session.get(Variant, enrolment.variant_id)
        if enrolment.promo_price >= variant.price:
            raise PromotionError(
                _("Giá khuyến mãi không còn thấp hơn giá bán hiện tại của SKU này."), code="price_not_lower"
            )
        clash = _conflict(
            promotion.id, as_utc(promotion.starts_at), as_utc(promotion.ends_at), set(), {enrolment.variant_id}
        )
        if clash:
            raise PromotionError(clash, code="overlap")
    enrolment.state = "approved" if approve else "rejected"
    enrolment.reason = "" if approve else reason
    enrolment.decided_at = now
    record(
        actor_id,
        "enrolment.approve" if approve else "enrolment.reject",
        "promotion_enrolment",
        enrolment.id,
        label=f"{promotion.name} · {enrolment.variant.sku}",
        reason=reason,
        before={"state": "pending"},
        after={"state": enrolment.state, "promo_price": enrolment.promo_price, "quota": enrolment.quota},
    )
    db.session.commit()  # an approved SKU's price changes while the week runs: its pages are purged
    return enrolment


# --- the producer's use cases ------------------------------------------------------------------


def open_invitations(producer_id: int, now: datetime | None = None) -> list[Promotion]:
    """Published invitation-only weeks not yet ended that take in this producer."""
    now = now or utcnow()
    producer = db.session.get(Producer, producer_id)
    if producer is None:
        return []
    weeks = db.session.scalars(
        select(Promotion)
        .where(Promotion.state == "published", Promotion.invitation_only.is_(True), Promotion.ends_at > now)
        .order_by(Promotion.starts_at, Promotion.id)
    )
    return [w for w in weeks if invites_producer(w.scope, producer.id, producer.province_id)]


def _category_chain(category_id: int) -> list[int]:
    chain, current = [], db.session.get(Category, category_id)
    while current is not None:
        chain.append(current.id)
        current = db.session.get(Category, current.parent_id) if current.parent_id else None
    return chain


def _variant_in_scope(promotion: Promotion, variant: Variant, day: date) -> bool:
    product = variant.product
    return scope_matches(
        promotion.scope,
        product_id=product.id,
        producer_id=product.producer_id,
        province_id=product.province_id,
        category_ids=_category_chain(product.category_id),
        stars=product.stars_on(day),
    )


def enrolable_variants(producer_id: int, promotion: Promotion, now: datetime | None = None) -> list[Variant]:
    """The producer's SKUs of listed products that fall in the week's product rules
    and are not already offered in it (pending or approved)."""
    day = today_vn(now)
    offered = select(PromotionEnrolment.variant_id).where(
        PromotionEnrolment.promotion_id == promotion.id, PromotionEnrolment.state.in_(("pending", "approved"))
    )
    variants = db.session.scalars(
        select(Variant)
        .join(Product, Product.id == Variant.product_id)
        .where(Product.producer_id == producer_id, Product.listed.is_(True), Variant.id.not_in(offered))
        .options(contains_eager(Variant.product))
        .order_by(Product.name, Variant.position, Variant.id)
    ).all()
    return [v for v in variants if _variant_in_scope(promotion, v, day)]


def producer_enrolments(producer_id: int) -> list[PromotionEnrolment]:
    return list(
        db.session.scalars(
            select(PromotionEnrolment)
            .where(PromotionEnrolment.producer_id == producer_id)
            .options(
                selectinload(PromotionEnrolment.promotion),
                selectinload(PromotionEnrolment.variant).selectinload(Variant.product),
            )
            .order_by(PromotionEnrolment.promotion_id.desc(), PromotionEnrolment.id)
        )
    )


def enrol(
    producer_id: int,
    promotion_id: int,
    variant_id: int | None,
    promo_price: int | None,
    quota: int | None,
    now: datetime | None = None,
) -> int:
    """Offer one of the producer's SKUs for an invitation-only week at a lower
    price for at most `quota` units; the operator approves or rejects it."""
    now = now or utcnow()
    producer = db.session.get(Producer, producer_id)
    promotion = db.session.get(Promotion, promotion_id)
    if producer is None or promotion is None or promotion.state == "draft":
        raise NotFound(_("Không tìm thấy tuần lễ khuyến mãi."))
    if (
        promotion.state != "published"
        or not promotion.invitation_only
        or not invites_producer(promotion.scope, producer.id, producer.province_id)
    ):
        raise PromotionError(_("Tuần lễ này không mời gian hàng của bạn."), code="not_invited")
    if as_utc(promotion.ends_at) <= now:
        raise PromotionError(_("Tuần lễ này đã kết thúc."), code="ended")
    if variant_id is None:
        raise PromotionError(_("Chọn sản phẩm muốn đăng ký."), code="variant_required", field="variant_id")
    variant = db.session.scalars(
        select(Variant)
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.id == variant_id, Product.producer_id == producer_id)
        .options(contains_eager(Variant.product))
    ).first()
    if variant is None:
        raise NotFound(_("Không tìm thấy sản phẩm."))
    if not variant.product.listed:
        raise PromotionError(
            _("Sản phẩm này chưa được bán trên sàn: chỉ đăng ký được sản phẩm đang bán."),
            code="not_listed",
            field="variant_id",
        )
    if not _variant_in_scope(promotion, variant, today_vn(now)):
        raise PromotionError(
            _("Sản phẩm này không thuộc phạm vi của tuần lễ."), code="out_of_scope", field="variant_id"
        )
    if promo_price is None:
        raise PromotionError(_("Nhập giá khuyến mãi."), code="price_required", field="promo_price")
    if not isinstance(promo_price, int) or isinstance(promo_price, bool) or promo_price <= 0:
        raise PromotionError(_("Giá khuyến mãi phải là số tiền lớn hơn 0 ₫."), code="bad_price", field="promo_price")
    if promo_price >= variant.price:
        raise PromotionError(
            _("Giá khuyến mãi phải thấp hơn giá bán hiện tại (%(price)s).", price=_money(variant.price)),
            code="price_not_lower",
            field="promo_price",
        )
    floor = -(-variant.price * (100 - MAX_ENROLLED_DISCOUNT_PERCENT) // 100)
    if promo_price < floor:
        # Most often a missing zero (1.000 for 100.000): refused rather than sold at a loss.
        raise PromotionError(
            _(
                "Giá khuyến mãi thấp bất thường: giảm tối đa %(n)s%%, tức giá từ %(floor)s trở lên.",
                n=MAX_ENROLLED_DISCOUNT_PERCENT,
                floor=_money(floor),
            ),
            code="price_too_low",
            field="promo_price",
        )
    if quota is None:
        raise PromotionError(_("Nhập số suất khuyến mãi."), code="quota_required", field="quota")
    if not isinstance(quota, int) or isinstance(quota, bool) or quota <= 0:
        raise PromotionError(_("Số suất phải từ 1 trở lên."), code="bad_quota", field="quota")
    if quota > variant.stock:
        raise PromotionError(
            _("Số suất (%(quota)s) lớn hơn tồn kho hiện có (%(stock)s).", quota=quota, stock=variant.stock),
            code="quota_above_stock",
            field="quota",
        )
    existing = db.session.scalars(
        select(PromotionEnrolment).where(
            PromotionEnrolment.promotion_id == promotion.id, PromotionEnrolment.variant_id == variant.id
        )
    ).first()
    if existing is not None and existing.state in HOLDING:
        raise PromotionError(_("SKU này đã được đăng ký cho tuần lễ này."), code="already_enrolled", field="variant_id")
    clash = _conflict(promotion.id, as_utc(promotion.starts_at), as_utc(promotion.ends_at), set(), {variant.id})
    if clash:
        raise PromotionError(clash, code="overlap", field="variant_id")
    if existing is None:
        existing = PromotionEnrolment(promotion_id=promotion.id, producer_id=producer_id, variant_id=variant.id)
        db.session.add(existing)
    existing.promo_price = promo_price
    existing.quota = quota
    existing.sold = 0
    existing.state = "pending"
    existing.reason = ""
    existing.decided_at = None
    existing.created_at = now
    db.session.commit()
    return existing.id


def withdraw_enrolment(producer_id: int, enrolment_id: int) -> None:
    """Take back an offer the operator has not decided yet."""
    enrolment = db.session.scalars(
        select(PromotionEnrolment).where(
            PromotionEnrolment.id == enrolment_id, PromotionEnrolment.producer_id == producer_id
        )
    ).first()
    if enrolment is None:
        raise NotFound(_("Không tìm thấy đăng ký."))
    if enrolment.state != "pending":
        raise PromotionError(_("Chỉ rút được đăng ký đang chờ duyệt."), code="not_pending")
    enrolment.state = "withdrawn"
    enrolment.decided_at = utcnow()
    db.session.commit()


def _money(amount: int) -> str:
    from flask_babel import get_locale

    from shop.formatting import vnd

    try:
        return vnd(amount, str(get_locale()))
    except Exception:  # noqa: BLE001 - outside a request: the default language
        return vnd(amount)


# --- the storefront's reads ------------------------------------------------------------------


def public_week(slug: str) -> Promotion | None:
    """A published or cancelled week by its slug (drafts do not exist for shoppers)."""
    return db.session.scalars(
        select(Promotion).where(Promotion.slug == slug, Promotion.state.in_(("published", "cancelled")))
    ).first()


def public_weeks(now: datetime | None = None, ended_days: int = 60) -> WeekGroups:
    """Running, upcoming and recently ended published weeks for the /khuyen-mai index."""
    now = now or utcnow()
    out = WeekGroups()
    for p in db.session.scalars(
        select(Promotion)
        .where(Promotion.state == "published", Promotion.ends_at > now - timedelta(days=ended_days))
        .order_by(Promotion.starts_at, Promotion.id)
    ):
        status = week_status(p, now)
        getattr(out, status if status in ("running", "upcoming") else "ended").append(p)
    out.ended.reverse()
    return out


def weeks_by_id(ids: Iterable[int]) -> list[Promotion]:
    ids = list(ids)
    if not ids:
        return []
    return list(db.session.scalars(select(Promotion).where(Promotion.id.in_(ids)).order_by(Promotion.ends_at)))


def next_week(now: datetime | None = None) -> Promotion | None:
    """The published week that starts next (for the home page countdown)."""
    now = now or utcnow()
    return db.session.scalars(
        select(Promotion)
        .where(Promotion.state == "published", Promotion.starts_at > now)
        .order_by(Promotion.starts_at, Promotion.id)
        .limit(1)
    ).first()


def week_products(
    promotion: Promotion, page: int, per_page: int, today: date | None = None
) -> tuple[list[Product], int]:
    """One page of the listed products a week covers, and how many there are: the
    approved enrolled products of an invitation-only week, else the products
    matching its scope (built into the SQL)."""
    today = today or today_vn()
    conds = [Product.listed.is_(True)]
    scope = promotion.scope or {}
    if promotion.invitation_only:
        enrolled = (
            select(Variant.product_id)
            .join(PromotionEnrolment, PromotionEnrolment.variant_id == Variant.id)
            .where(PromotionEnrolment.promotion_id == promotion.id, PromotionEnrolment.state == "approved")
        )
        conds.append(Product.id.in_(enrolled))
    else:
        if scope.get("products"):
            conds.append(Product.id.in_(scope["products"]))
        if scope.get("producers"):
            conds.append(Product.producer_id.in_(scope["producers"]))
        if scope.get("provinces"):
            conds.append(Product.province_id.in_(scope["provinces"]))
        if scope.get("categories"):
            ref = reference()
            ids: set[int] = set()
            for cid in scope["categories"]:
                category = ref.by_id.get(cid)
                if category is not None:
                    ids.update(ref.descendant_ids(category))
            conds.append(Product.category_id.in_(sorted(ids) or [-1]))
        if scope.get("min_stars"):
            conds += [Product.cert_stars >= scope["min_stars"], Product.cert_valid_until >= today]
    total = db.session.scalar(select(func.count(Product.id)).where(and_(*conds))) or 0
    items = list(
        db.session.scalars(
            select(Product)
            .join(Producer, Producer.id == Product.producer_id)
            .join(Province, Province.id == Product.province_id)
            .where(and_(*conds))
            .options(contains_eager(Product.producer), contains_eager(Product.province))
            .order_by(Product.in_stock.desc(), Product.created_at.desc(), Product.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).unique()
    )
    return items, total

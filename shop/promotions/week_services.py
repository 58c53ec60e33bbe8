"""The operator's use cases for promotion weeks: create, edit, publish and cancel
a week, and approve or reject producers' enrolments.

Each use case takes plain values, checks everything before it changes a row,
commits once and then invalidates the catalog caches: prices are never
rewritten, the engine in shop.promotions.pricing reads the weeks when a price
is read. Every action is written to the audit log in the same transaction.
"""

import contextlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import or_, select

from shop.audit.services import record, snapshot
from shop.catalog.models import Category, Product, Variant
from shop.errors import NotFound
from shop.extensions import db
from shop.formatting import as_utc, utcnow
from shop.inputs import parse_int
from shop.places.models import Province
from shop.portal import images
from shop.producers.models import Producer
from shop.promotions.models import Promotion, PromotionEnrolment
from shop.promotions.week_rules import SLUG, PromotionError, _commit_week_change, _conflict, _held, get_week
from shop.storage import MEDIA, StorageError, storage
from shop.text import slugify

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
        variant = db.session.get_one(Variant, enrolment.variant_id)  # the enrolment's SKU: a foreign key
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

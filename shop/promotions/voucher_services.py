"""Vouchers as the operators manage them: create, edit, switch on and off.

The form's text comes in as a `VoucherDraft` of plain strings; `validate`
reads it into a `VoucherData` or refuses it with one clear message per field
at fault (`VoucherInvalid.errors`), and the use cases apply it, write the
audit log and commit once. Redeeming a code at checkout is shop.promotions.vouchers."""

import re
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from shop.audit.services import record, snapshot
from shop.catalog.models import Category
from shop.errors import NotFound, ShopError
from shop.extensions import db
from shop.formatting import VN_DATETIME_INPUTS, as_utc, parse_vn_datetime, utcnow, vn_input_value
from shop.operator.inputs import InputError, parse_count, parse_dong
from shop.places.models import Province
from shop.producers.models import Producer
from shop.promotions.models import Voucher

CODE = re.compile(r"[A-Z0-9-]{3,32}", re.ASCII)
FIELDS = (
    "code",
    "description",
    "kind",
    "value",
    "max_discount",
    "min_order",
    "usage_limit",
    "per_customer_limit",
    "starts_at",
    "ends_at",
    "scope",
    "active",
)
MAX_DESCRIPTION = 300


class VoucherInvalid(ShopError):
    """The form has mistakes: `errors` maps each field at fault to its message."""

    code = "bad_voucher"

    def __init__(self, errors: dict[str, str]):
        super().__init__(next(iter(errors.values())))
        self.errors = errors


@dataclass(frozen=True)
class VoucherDraft:
    """What the operator typed, as text; lists of ids as text too."""

    code: str = ""
    description: str = ""
    kind: str = "percent"
    value: str = ""
    max_discount: str = ""
    min_order: str = ""
    usage_limit: str = ""
    per_customer_limit: str = ""
    starts_at: str = ""  # Vietnam local time: "2025-07-01T00:00" or "01/07/2025 00:00"
    ends_at: str = ""
    producers: tuple[str, ...] = ()
    provinces: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    min_stars: str = ""
    active: bool = True


@dataclass(frozen=True)
class VoucherData:
    code: str
    description: str
    kind: str
    value: int
    max_discount: int | None
    min_order: int
    usage_limit: int | None
    per_customer_limit: int | None
    starts_at: datetime  # UTC
    ends_at: datetime
    scope: dict = field(default_factory=dict)
    active: bool = True


# Vouchers also take a bare date (midnight, Vietnam time).
VOUCHER_TIME_INPUTS = (*VN_DATETIME_INPUTS, "%d/%m/%Y")


def _ids(values: tuple[str, ...], model, field_name: str, errors: dict) -> list[int]:
    try:
        ids = sorted({int(v) for v in values if str(v).strip()})
    except ValueError:
        errors[field_name] = _("Lựa chọn không hợp lệ.")
        return []
    if ids:
        found = set(db.session.scalars(select(model.id).where(model.id.in_(ids))))
        if found != set(ids):
            errors[field_name] = _("Có lựa chọn không còn tồn tại; tải lại trang và chọn lại.")
    return ids


def _optional_count(raw: str, name: str, errors: dict, message: str) -> int | None:
    if not (raw or "").strip():
        return None
    try:
        return parse_count(raw, name, minimum=1)
    except InputError:
        errors[name] = message
        return None


def validate(draft: VoucherDraft, voucher: Voucher | None = None) -> VoucherData:
    """Read the draft, or raise VoucherInvalid naming every field at fault."""
    errors: dict[str, str] = {}
    code = "".join((draft.code or "").split()).upper()
    if not CODE.fullmatch(code):
        errors["code"] = _("Mã gồm 3–32 ký tự: chữ A–Z, số 0–9 và dấu gạch ngang, không dấu cách.")
    elif voucher is not None and code != voucher.code and voucher.used_count > 0:
        errors["code"] = _("Mã này đã được dùng cho đơn hàng nên không đổi được; hãy tạo mã mới.")
    else:
        taken = db.session.scalar(select(Voucher.id).where(Voucher.code == code))
        if taken is not None and (voucher is None or taken != voucher.id):
            errors["code"] = _("Mã %(code)s đã có; chọn mã khác.", code=code)
    description = (draft.description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = _("Mô tả tối đa 300 ký tự.")
    kind = draft.kind if draft.kind in ("percent", "fixed") else None
    if kind is None:
        errors["kind"] = _("Chọn kiểu giảm: theo phần trăm hoặc số tiền cố định.")
    value = 0
    if kind == "percent":
        try:
            value = parse_count(draft.value, "value", minimum=1, maximum=100)
        except InputError:
            errors["value"] = _("Phần trăm giảm là số nguyên từ 1 đến 100.")
    elif kind == "fixed":
        try:
            value = parse_dong(draft.value, "value", positive=True)
        except InputError as err:
            errors["value"] = err.message
    max_discount = None
    if (draft.max_discount or "").strip():
        try:
            max_discount = parse_dong(draft.max_discount, "max_discount", positive=True)
        except InputError as err:
            errors["max_discount"] = err.message
    min_order = 0
    if (draft.min_order or "").strip():
        try:
            min_order = parse_dong(draft.min_order, "min_order")
        except InputError as err:
            errors["min_order"] = err.message
    usage_limit = _optional_count(
        draft.usage_limit, "usage_limit", errors, _("Số lượt dùng là số nguyên từ 1, hoặc để trống nếu không giới hạn.")
    )
    if usage_limit is not None and voucher is not None and usage_limit < voucher.used_count:
        errors["usage_limit"] = _("Mã đã được dùng %(n)s lần: giới hạn không được nhỏ hơn số đó.", n=voucher.used_count)
    per_customer = _optional_count(
        draft.per_customer_limit,
        "per_customer_limit",
        errors,
        _("Số lượt mỗi khách là số nguyên từ 1, hoặc để trống nếu không giới hạn."),
    )
    if per_customer is not None and usage_limit is not None and per_customer > usage_limit:
        errors["per_customer_limit"] = _("Số lượt mỗi khách không được lớn hơn tổng số lượt.")
    starts_at = ends_at = None
    for name in ("starts_at", "ends_at"):
        raw = getattr(draft, name)
        if not (raw or "").strip():
            errors[name] = _("Nhập ngày giờ (giờ Việt Nam).")
            continue
        try:
            moment = parse_vn_datetime(raw, VOUCHER_TIME_INPUTS)
        except ValueError:
            errors[name] = _("Ngày giờ không hợp lệ: nhập theo dạng dd/mm/yyyy HH:MM.")
            continue
        if name == "starts_at":
            starts_at = moment
        else:
            ends_at = moment
    if starts_at and ends_at and ends_at <= starts_at:
        errors["ends_at"] = _("Thời điểm kết thúc phải sau thời điểm bắt đầu.")
    scope: dict = {}
    for name, model in (("producers", Producer), ("provinces", Province), ("categories", Category)):
        ids = _ids(getattr(draft, name), model, name, errors)
        if ids:
            scope[name] = ids
    if (draft.min_stars or "").strip():
        if draft.min_stars.strip() in ("3", "4", "5"):
            scope["min_stars"] = int(draft.min_stars)
        else:
            errors["min_stars"] = _("Số sao tối thiểu là 3, 4 hoặc 5.")
    if errors or kind is None or starts_at is None or ends_at is None:  # each missing one has its error
        raise VoucherInvalid(errors)
    return VoucherData(
        code=code,
        description=description,
        kind=kind,
        value=value,
        max_discount=max_discount,
        min_order=min_order,
        usage_limit=usage_limit,
        per_customer_limit=per_customer,
        starts_at=starts_at,
        ends_at=ends_at,
        scope=scope,
        active=bool(draft.active),
    )


def _snap(voucher: Voucher) -> dict:
    out = snapshot(voucher, FIELDS)
    for name in ("starts_at", "ends_at"):
        out[name] = as_utc(getattr(voucher, name)).isoformat()
    return out


def _apply(voucher: Voucher, data: VoucherData) -> None:
    for name in FIELDS:
        setattr(voucher, name, getattr(data, name))


def create_voucher(draft: VoucherDraft, actor_id: int) -> Voucher:
    """A new voucher from the operator's form (VoucherInvalid if it has mistakes)."""
    data = validate(draft)
    voucher = Voucher(used_count=0)
    _apply(voucher, data)
    db.session.add(voucher)
    db.session.flush()
    record(actor_id, "voucher.create", "voucher", voucher.id, label=voucher.code, after=_snap(voucher))
    _commit()
    return voucher


def _locked(voucher_id: int) -> Voucher:
    voucher = db.session.scalars(
        select(Voucher).where(Voucher.id == voucher_id).with_for_update().execution_options(populate_existing=True)
    ).first()
    if voucher is None:
        raise NotFound(_("Không tìm thấy mã giảm giá."))
    return voucher


def update_voucher(voucher_id: int, draft: VoucherDraft, actor_id: int) -> Voucher:
    """Change a voucher. Orders that already used it keep the discount they got."""
    voucher = _locked(voucher_id)
    data = validate(draft, voucher)
    before = _snap(voucher)
    _apply(voucher, data)
    after = _snap(voucher)
    changed = [name for name in FIELDS if before[name] != after[name]]
    if changed:
        record(
            actor_id,
            "voucher.update",
            "voucher",
            voucher.id,
            label=voucher.code,
            before={n: before[n] for n in changed},
            after={n: after[n] for n in changed},
        )
    _commit()
    return voucher


def set_active(voucher_id: int, active: bool, actor_id: int) -> Voucher:
    """Switch a voucher off (no new order can take it) or back on."""
    voucher = _locked(voucher_id)
    if voucher.active != active:
        voucher.active = active
        record(
            actor_id,
            "voucher.activate" if active else "voucher.deactivate",
            "voucher",
            voucher.id,
            label=voucher.code,
            before={"active": not active},
            after={"active": active},
        )
    _commit()
    return voucher


def _commit() -> None:
    try:
        db.session.commit()
    except IntegrityError:  # the same code saved at the same moment, or a use taken meanwhile
        db.session.rollback()
        raise VoucherInvalid({"code": _("Mã vừa được lưu ở nơi khác; tải lại trang và thử lại.")}) from None


# --- reads --------------------------------------------------------------------------------

LIST_FILTERS = ("running", "scheduled", "ended", "off")


def get_voucher(voucher_id: int) -> Voucher:
    voucher = db.session.get(Voucher, voucher_id)
    if voucher is None:
        raise NotFound(_("Không tìm thấy mã giảm giá."))
    return voucher


def state_of(voucher: Voucher, now: datetime | None = None) -> str:
    """running | scheduled | ended | used_up | off"""
    now = now or utcnow()
    if not voucher.active:
        return "off"
    if as_utc(voucher.ends_at) <= now:
        return "ended"
    if voucher.usage_limit is not None and voucher.used_count >= voucher.usage_limit:
        return "used_up"
    if as_utc(voucher.starts_at) > now:
        return "scheduled"
    return "running"


def vouchers(show: str | None = None, search: str = "", now: datetime | None = None) -> list[Voucher]:
    """Vouchers, newest first; `show` one of LIST_FILTERS; `search` in code or description."""
    now = now or utcnow()
    stmt = select(Voucher).order_by(Voucher.created_at.desc(), Voucher.id.desc())
    if show == "running":
        stmt = stmt.where(Voucher.active.is_(True), Voucher.starts_at <= now, Voucher.ends_at > now)
    elif show == "scheduled":
        stmt = stmt.where(Voucher.active.is_(True), Voucher.starts_at > now)
    elif show == "ended":
        stmt = stmt.where(
            or_(
                Voucher.ends_at <= now,
                and_(Voucher.usage_limit.is_not(None), Voucher.used_count >= Voucher.usage_limit),
            )
        )
    elif show == "off":
        stmt = stmt.where(Voucher.active.is_(False))
    text = (search or "").strip()
    if text:
        like = f"%{text}%"
        stmt = stmt.where(or_(Voucher.code.ilike(like), Voucher.description.ilike(like)))
    return list(db.session.scalars(stmt.limit(500)))


def draft_of(voucher: Voucher) -> VoucherDraft:
    """A stored voucher as the form shows it (times in Vietnam)."""

    scope = voucher.scope or {}
    return VoucherDraft(
        code=voucher.code,
        description=voucher.description,
        kind=voucher.kind,
        value=str(voucher.value),
        max_discount="" if voucher.max_discount is None else str(voucher.max_discount),
        min_order=str(voucher.min_order) if voucher.min_order else "",
        usage_limit="" if voucher.usage_limit is None else str(voucher.usage_limit),
        per_customer_limit="" if voucher.per_customer_limit is None else str(voucher.per_customer_limit),
        starts_at=vn_input_value(voucher.starts_at),
        ends_at=vn_input_value(voucher.ends_at),
        producers=tuple(str(i) for i in scope.get("producers") or ()),
        provinces=tuple(str(i) for i in scope.get("provinces") or ()),
        categories=tuple(str(i) for i in scope.get("categories") or ()),
        min_stars=str(scope.get("min_stars") or ""),
        active=voucher.active,
    )

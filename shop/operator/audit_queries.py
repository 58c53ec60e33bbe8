"""The audit log as operators read it (/ops/nhat-ky and each record's history):
pages of entries with filters, and every stored key and value turned into the
label and text people read ("Bắt đầu" for starts_at, a province's name for its id).
"""

import json
import re
from dataclasses import dataclass
from datetime import date, datetime

from babel.numbers import format_decimal
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from shop.accounts.models import User
from shop.audit.models import AuditEntry
from shop.bank import directory as bank_directory
from shop.catalog.models import Category, Product
from shop.extensions import db
from shop.formatting import vn_date, vn_datetime, vnd
from shop.operator.queries import PRODUCER_STATUS_LABELS
from shop.orders.models import ORDER_STATUS_LABELS, SUB_ORDER_STATUS_LABELS
from shop.paging import Page, counted
from shop.places.models import Province
from shop.producers.models import Producer
from shop.shipping.models import ZONE_LABELS

AUDIT_PER_PAGE = 50

ACTION_LABELS = {
    "producer.approve": _l("Duyệt hồ sơ nhà sản xuất"),
    "producer.reject": _l("Từ chối hồ sơ nhà sản xuất"),
    "producer.suspend": _l("Tạm ngưng nhà sản xuất"),
    "producer.reinstate": _l("Mở lại nhà sản xuất"),
    "certificate.verify": _l("Xác minh giấy chứng nhận"),
    "certificate.reject": _l("Từ chối giấy chứng nhận"),
    # Other console areas' actions, so the log reads as sentences everywhere.
    "product.unpublish": _l("Gỡ sản phẩm khỏi chợ"),
    "product.allow": _l("Cho phép bán lại sản phẩm"),
    "category.add": _l("Thêm danh mục"),
    "category.rename": _l("Đổi tên danh mục"),
    "category.move": _l("Chuyển danh mục"),
    "category.reorder": _l("Đổi thứ tự danh mục"),
    "category.delete": _l("Xoá danh mục"),
    "order.cancel": _l("Huỷ đơn hàng"),
    "sub_order.cancel": _l("Huỷ phần đơn"),
    "sub_order.refund": _l("Hoàn tiền phần đơn"),
    "promotion.create": _l("Tạo tuần lễ khuyến mãi"),
    "promotion.update": _l("Sửa tuần lễ khuyến mãi"),
    "promotion.publish": _l("Công bố tuần lễ khuyến mãi"),
    "promotion.cancel": _l("Huỷ tuần lễ khuyến mãi"),
    "enrolment.approve": _l("Duyệt đăng ký khuyến mãi"),
    "enrolment.reject": _l("Từ chối đăng ký khuyến mãi"),
    "voucher.create": _l("Tạo mã giảm giá"),
    "voucher.update": _l("Sửa mã giảm giá"),
    "voucher.activate": _l("Bật mã giảm giá"),
    "voucher.deactivate": _l("Tắt mã giảm giá"),
    "commission.set": _l("Đặt hoa hồng riêng"),
    "commission.clear": _l("Bỏ hoa hồng riêng"),
    "commission.category_set": _l("Đặt hoa hồng theo danh mục"),
    "commission.category_remove": _l("Bỏ hoa hồng theo danh mục"),
    "ledger.adjust": _l("Điều chỉnh sổ đối soát"),
    "payout.close_period": _l("Chốt kỳ đối soát"),
    "payout.mark_paid": _l("Đánh dấu đã chuyển tiền"),
    "settings.update": _l("Đổi cài đặt sàn"),
    "settings.legal": _l("Đổi thông tin pháp lý"),
    "settings.vietqr": _l("Đổi cài đặt chuyển khoản VietQR"),
    "shipping.rates": _l("Đổi bảng phí vận chuyển"),
    "bank_transfer.match": _l("Ghép giao dịch chuyển khoản với đơn"),
    "bank_transfer.refund": _l("Đánh dấu cần hoàn tiền chuyển khoản"),
    "bank_transfer.refunded": _l("Đã hoàn tiền chuyển khoản"),
    "email.resend": _l("Gửi lại email"),
}


# Target types, and the first part of action names (the audit filter's groups).
TARGET_LABELS = {
    "producer": _l("Nhà sản xuất"),
    "certificate": _l("Giấy chứng nhận"),
    "product": _l("Sản phẩm"),
    "category": _l("Danh mục"),
    "order": _l("Đơn hàng"),
    "sub_order": _l("Phần đơn"),
    "promotion": _l("Khuyến mãi"),
    "enrolment": _l("Đăng ký khuyến mãi"),
    "promotion_enrolment": _l("Đăng ký khuyến mãi"),
    "voucher": _l("Mã giảm giá"),
    "payout": _l("Kỳ đối soát"),
    "payout_period": _l("Tuần đối soát"),
    "ledger": _l("Sổ cái"),
    "commission": _l("Hoa hồng"),
    "setting": _l("Cài đặt"),
    "settings": _l("Cài đặt"),
    "shipping": _l("Phí vận chuyển"),
    "shipping_rate": _l("Phí vận chuyển"),
}


FIELD_LABELS = {
    "status": _l("Trạng thái"),
    "status_reason": _l("Lý do"),
    "state": _l("Trạng thái"),
    "rejection_reason": _l("Lý do từ chối"),
    "verified_at": _l("Xác minh lúc"),
    "moderation_reason": _l("Lý do gỡ"),
    "name": _l("Tên"),
    "commission_bp": _l("Hoa hồng"),
    "default_commission_bp": _l("Hoa hồng mặc định"),
    "rate_bp": _l("Hoa hồng"),
    "cod_max_amount": _l("Hạn mức COD"),
    "card_reservation_minutes": _l("Phút giữ hàng khi trả thẻ"),
    "sub_orders": _l("Các phần đơn"),
    "paid_at": _l("Chuyển lúc"),
    "refund": _l("Hoàn tiền"),
    "refunded_amount": _l("Đã hoàn"),
    "name_vi": _l("Tên (tiếng Việt)"),
    "name_en": _l("Tên (tiếng Anh)"),
    "parent_id": _l("Nhóm cha"),
    "position": _l("Thứ tự"),
    "level": _l("Cấp"),
    "code": _l("Mã"),
    "slug": _l("Đường dẫn"),
    "amount": _l("Số tiền"),
    "reference": _l("Mã chuyển khoản"),
    # promotion weeks and vouchers
    "description": _l("Mô tả"),
    "banner_path": _l("Ảnh biểu ngữ"),
    "starts_at": _l("Bắt đầu"),
    "ends_at": _l("Kết thúc"),
    "kind": _l("Kiểu giảm"),
    "value": _l("Mức giảm"),
    "max_discount": _l("Giảm tối đa"),
    "min_order": _l("Đơn tối thiểu"),
    "scope": _l("Áp dụng cho"),
    "invitation_only": _l("Chỉ người bán được mời"),
    "operator_share_bp": _l("Phần sàn chịu"),
    "operator_share": _l("Phần sàn chịu"),
    "usage_limit": _l("Số lượt dùng tối đa"),
    "per_customer_limit": _l("Lượt mỗi khách"),
    "active": _l("Đang bật"),
    "payouts": _l("Các khoản đối soát"),
    # legal details and bank transfers
    "legal_name": _l("Tên pháp nhân vận hành"),
    "business_code": _l("Mã số doanh nghiệp"),
    "business_code_date": _l("Ngày cấp"),
    "business_code_issuer": _l("Nơi cấp"),
    "address": _l("Địa chỉ"),
    "hotline": _l("Hotline"),
    "email": _l("Email"),
    "support_hours": _l("Giờ làm việc"),
    "effective_date": _l("Ngày hiệu lực"),
    "vietqr_enabled": _l("Nhận chuyển khoản VietQR"),
    "vietqr_reservation_minutes": _l("Phút giữ hàng khi chờ chuyển khoản"),
    "unstarred_section": _l("Khu sản phẩm chưa có sao"),
    "vietqr_bank_bin": _l("Ngân hàng nhận"),
    "vietqr_account_number": _l("Số tài khoản nhận"),
    "vietqr_account_name": _l("Chủ tài khoản"),
    "order_id": _l("Đơn hàng"),
    "applied_amount": _l("Số tiền ghi cho đơn"),
    "refund_amount": _l("Số tiền cần hoàn"),
    "refund_state": _l("Hoàn tiền"),
    "refund_reference": _l("Mã giao dịch hoàn"),
    "attempts": _l("Số lần đã gửi"),
    "failed_at": _l("Bỏ gửi lúc"),
}


# A promotion's or voucher's scope: which list names what.
SCOPE_LABELS = {
    "products": _l("Sản phẩm"),
    "producers": _l("Nhà sản xuất"),
    "provinces": _l("Tỉnh, thành"),
    "categories": _l("Danh mục"),
}


KIND_VALUE_LABELS = {"percent": _l("Theo phần trăm"), "fixed": _l("Số tiền cố định")}

# Values in đồng, whatever the record they come from.
MONEY_FIELDS = {
    "amount", "refund", "refunded_amount", "total", "subtotal", "shipping_fee", "fee", "price", "promo_price",
    "max_discount", "min_order", "cod_max_amount", "free_shipping_threshold", "applied_amount", "refund_amount",
}  # fmt: skip


STATUS_LABELS_BY_TARGET = {
    "order": ORDER_STATUS_LABELS,
    "sub_order": SUB_ORDER_STATUS_LABELS,
    "producer": PRODUCER_STATUS_LABELS,
    "payout": {"due": _l("Chờ chuyển"), "paid": _l("Đã chuyển")},
}


_BABEL = {"vi": "vi_VN", "en": "en_US"}

VALUE_LABELS = {
    "kind": KIND_VALUE_LABELS,
    "status": {**PRODUCER_STATUS_LABELS},
    "state": {"pending": _l("Chờ duyệt"), "verified": _l("Đã xác minh"), "rejected": _l("Bị từ chối")},
}


def audit_page(
    action: str = "", target_type: str = "", actor_id: int | None = None, target_id: int | None = None,
    page: int = 1, per_page: int = AUDIT_PER_PAGE,
) -> Page[AuditEntry]:  # fmt: skip
    """Audit entries, newest first, filtered by action prefix ("producer" or
    "producer.suspend"), target type, actor and target id."""
    stmt = select(AuditEntry).options(selectinload(AuditEntry.actor)).order_by(AuditEntry.id.desc())
    action = (action or "").strip()
    if action:
        stmt = stmt.where(or_(AuditEntry.action == action, AuditEntry.action.startswith(action.rstrip(".") + ".")))
    if target_type:
        stmt = stmt.where(AuditEntry.target_type == target_type)
    if actor_id:
        stmt = stmt.where(AuditEntry.actor_id == actor_id)
    if target_id is not None:
        stmt = stmt.where(AuditEntry.target_id == target_id)
    result = db.paginate(stmt, page=max(page, 1), per_page=per_page, error_out=False, count=True)
    return counted(list(result.items), result.page, result.total or 0, per_page)


def audit_filters() -> dict:
    """What the audit filters offer: action groups and actions, target types, actors."""
    actions = sorted(db.session.scalars(select(AuditEntry.action).distinct()))
    groups = sorted({a.split(".", 1)[0] for a in actions})
    types = sorted(db.session.scalars(select(AuditEntry.target_type).distinct()))
    actors = list(
        db.session.scalars(
            select(User)
            .where(User.id.in_(select(AuditEntry.actor_id).where(AuditEntry.actor_id.is_not(None))))
            .order_by(User.name, User.email)
        )
    )
    return {"groups": groups, "actions": actions, "types": types, "actors": actors}


def entries_for(target_type: str, target_id: int, limit: int = 50) -> list[AuditEntry]:
    """The history of one row, newest first (for `audit_trail` on any console page)."""
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.target_type == target_type, AuditEntry.target_id == target_id)
            .options(selectinload(AuditEntry.actor))
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
    )


_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Change:
    field: str
    label: str
    before: object
    after: object


def _field_label(key: str) -> str:
    zone, _sep, band = key.partition(":")
    if zone in ZONE_LABELS and band:
        # A shipping band: "Nội tỉnh ≤ 1000 g", or the heaviest band's fee per extra kg.
        if band == "extra":
            return f"{ZONE_LABELS[zone]}: {_l('mỗi kg thêm')}"
        return f"{ZONE_LABELS[zone]} ≤ {band} g"
    return str(FIELD_LABELS.get(key, key))


def changes(before: dict | None, after: dict | None) -> list[Change]:
    """The fields whose value differs between `before` and `after`, in the order
    they were recorded (a field only one side has counts as changed)."""
    before, after = before or {}, after or {}
    keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
    out = []
    for key in keys:
        old, new = before.get(key), after.get(key)
        if old != new:
            out.append(Change(key, _field_label(key), old, new))
    return out


def display_value(field_name: str, value, locale: str = "vi", target_type: str = "") -> str:
    """A recorded JSON value as a person reads it: labels for known codes,
    money in đồng, rates in percent, dd/mm/yyyy for dates, Vietnam time for
    instants, "—" for nothing."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_l("Có") if value else _l("Không"))
    if field_name == "sub_orders" and isinstance(value, dict):
        return ", ".join(f"#{k}: {SUB_ORDER_STATUS_LABELS.get(v, v)}" for k, v in value.items())
    labels = STATUS_LABELS_BY_TARGET.get(target_type, {}) if field_name == "status" else {}
    labels = labels or VALUE_LABELS.get(field_name, {})
    if labels and isinstance(value, str) and value in labels:
        return str(labels[value])
    if isinstance(value, int):
        if field_name.endswith("_bp"):
            return f"{format_decimal(value / 100, locale=_BABEL.get(locale, 'vi_VN'))}%"
        zone = field_name.partition(":")[0]
        if field_name in MONEY_FIELDS or zone in ZONE_LABELS:
            return vnd(value, locale)
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        try:
            return vn_datetime(datetime.fromisoformat(value), locale)
        except ValueError:
            return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return vn_date(date.fromisoformat(value), locale)
        except ValueError:
            return value
    if field_name == "scope" and isinstance(value, dict):
        return _scope_text(value, locale)
    if field_name == "vietqr_bank_bin" and isinstance(value, str):
        return _bank_name(value)
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return ", ".join(f"#{v}" for v in value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _names(key: str, ids: list[int], locale: str) -> dict[int, str] | None:
    """Names by id of the scope's rows of this kind; None for a kind not known here."""
    if key == "categories":
        return {c.id: c.name(locale) for c in db.session.scalars(select(Category).where(Category.id.in_(ids)))}
    columns = {
        "products": (Product.id, Product.name),
        "producers": (Producer.id, Producer.name),
        "provinces": (Province.id, Province.name),
    }
    if key not in columns:
        return None
    id_, name = columns[key]
    return dict(db.session.execute(select(id_, name).where(id_.in_(ids))).tuples().all())


def _scope_text(scope: dict, locale: str) -> str:
    """{"provinces": [7], "producers": [3]} as "Tỉnh, thành: Huế · Nhà sản xuất: HTX …"."""
    parts = []
    for key, ids in scope.items():
        if not ids:
            continue
        named = _names(key, ids, locale) if all(isinstance(i, int) for i in ids) else None
        if named is None:
            parts.append(f"{SCOPE_LABELS.get(key, key)}: {json.dumps(ids, ensure_ascii=False)}")
            continue
        parts.append(f"{SCOPE_LABELS[key]}: {', '.join(named.get(i, f'#{i}') for i in ids)}")
    return " · ".join(parts) or str(_l("Mọi sản phẩm"))


def _bank_name(bin_code: str) -> str:
    bank = bank_directory.by_bin(bin_code)
    return f"{bank.short_name} ({bin_code})" if bank else bin_code

"""Typed access to run-time settings, with defaults for a fresh database."""

from flask import has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import select

from shop.audit.services import record
from shop.cache import LocalMemo
from shop.errors import ShopError
from shop.extensions import db
from shop.settings.models import Setting

DEFAULTS: dict[str, int] = {
    # Largest order total (đồng) that may be paid in cash on delivery.
    "cod_max_amount": 3_000_000,
    # Minutes an unpaid card order holds its stock.
    "card_reservation_minutes": 15,
    # Commission the marketplace takes on a producer's revenue, in basis points (800 = 8%),
    # unless the producer has its own rate or a rate for the product's category.
    "default_commission_bp": 800,
    # Bank transfer by VietQR at checkout: 1 once the operator has entered the receiving account.
    "vietqr_enabled": 0,
    # Minutes an unpaid bank-transfer order holds its stock (people switch to their banking app).
    "vietqr_reservation_minutes": 30,
    # 1: products without a verified, unexpired OCOP certificate are sold in a section of their
    # own, labelled "Sản phẩm chưa có sao"; 0: they are not sold at all (OCOP-only).
    "unstarred_section": 0,
}

# Text settings: the marketplace's receiving bank account for VietQR transfers.
TEXT_DEFAULTS: dict[str, str] = {
    "vietqr_bank_bin": "",
    "vietqr_account_number": "",
    "vietqr_account_name": "",
}


def _stored() -> dict[str, str]:
    """Every stored setting, read once per request and transaction: a checkout page asks
    for up to six, and each one left at its default (no row for the identity map to hold)
    was a SELECT of its own. Between changes the values are kept in each process and
    checked against the ``site`` tag that a committed Setting purges (`LocalMemo`): the
    SELECT was 5-7% of a listing's first view. A change through set_int/set_text is read
    back from the database at once for the rest of that request; outside a request
    (tasks, commands) every call reads."""
    session = db.session()
    if not has_request_context():
        return _read_all()
    held = request.environ.get("shop.settings")
    if held is None or held[0] is not session.get_transaction():
        written_here = request.environ.get("shop.settings_written", False)
        values = _read_all() if written_here else dict(_memo.get(_read_all))
        held = request.environ["shop.settings"] = (session.get_transaction(), values)
    return held[1]


def _read_all() -> dict[str, str]:
    return dict(db.session.execute(select(Setting.key, Setting.value)).tuples().all())


_memo = LocalMemo("settings", ("site",))


def _forget() -> None:
    if has_request_context():
        request.environ.pop("shop.settings", None)
        request.environ["shop.settings_written"] = True


def get_int(key: str) -> int:
    value = _stored().get(key)
    return int(value) if value is not None else DEFAULTS[key]


def get_text(key: str) -> str:
    if key not in TEXT_DEFAULTS:
        raise KeyError(key)
    value = _stored().get(key)
    return value if value is not None else TEXT_DEFAULTS[key]


def set_text(key: str, value: str) -> None:
    """Change a text setting (no commit)."""
    if key not in TEXT_DEFAULTS:
        raise KeyError(key)
    _forget()
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value=value))
    else:
        row.value = value


def set_int(key: str, value: int) -> None:
    """Change a setting (no commit: the caller's use case commits)."""
    if key not in DEFAULTS:
        raise KeyError(key)
    _forget()
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value=str(int(value))))
    else:
        row.value = str(int(value))


# --- operators' changes ---------------------------------------------------------------

# Allowed range of each setting: what the console accepts.
LIMITS: dict[str, tuple[int, int]] = {
    "cod_max_amount": (0, 1_000_000_000),
    "card_reservation_minutes": (5, 1440),
    "default_commission_bp": (0, 10_000),
    "vietqr_enabled": (0, 1),
    "vietqr_reservation_minutes": (5, 1440),
    "unstarred_section": (0, 1),
}


class SettingError(ShopError):
    """A value outside what the setting allows; `field` names it."""

    code = "bad_setting"

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


def current() -> dict[str, int]:
    """Every setting with its value now (defaults for those never changed)."""
    return {key: get_int(key) for key in DEFAULTS}


def update_settings(actor_id: int, values: dict[str, int]) -> list[str]:
    """Change some settings in one go, audited with their values before and after.
    Returns the keys that changed (nothing is written if none did)."""
    changed = apply_settings(actor_id, values)
    if changed:
        db.session.commit()
    return changed


def apply_settings(actor_id: int, values: dict[str, int]) -> list[str]:
    """`update_settings` without the commit, for a use case that changes more in the
    same transaction (shop.catalog.services.set_unstarred_section)."""
    messages = {
        "cod_max_amount": _("Hạn mức COD phải từ 0 đến 1.000.000.000 đ."),
        "card_reservation_minutes": _("Thời gian giữ hàng phải từ 5 đến 1440 phút."),
        "default_commission_bp": _("Hoa hồng phải từ 0% đến 100%."),
        "vietqr_enabled": _("Chọn bật hoặc tắt chuyển khoản."),
        "vietqr_reservation_minutes": _("Thời gian giữ hàng phải từ 5 đến 1440 phút."),
        "unstarred_section": _("Chọn bật hoặc tắt khu sản phẩm chưa có sao."),
    }
    for key, value in values.items():
        if key not in DEFAULTS:
            raise KeyError(key)
        low, high = LIMITS[key]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise SettingError(messages[key], field=key)
    before = current()
    changed = [key for key, value in values.items() if before[key] != value]
    if not changed:
        return []
    for key in changed:
        set_int(key, values[key])
    record(
        actor_id,
        "settings.update",
        "setting",
        None,
        label=", ".join(changed),
        before={key: before[key] for key in changed},
        after={key: values[key] for key in changed},
    )
    return changed

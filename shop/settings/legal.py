"""The operator's legal details that the footer and the policy pages print: the
legal entity, its enterprise registration (number, date, issuing office), head
office, hotline, support e-mail and hours, and the date the policies take
effect. Operators enter them in the console; they are kept as settings rows
(`legal.<field>`), so saving them purges every cached page (tag ``site``).

A field left empty is left out of the pages rather than printed as a
placeholder."""

import re
from dataclasses import dataclass, fields
from datetime import date

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from shop.accounts.phone import InvalidPhone, format_phone, normalise_phone
from shop.audit.services import record
from shop.cache import LocalMemo
from shop.errors import ShopError
from shop.extensions import db
from shop.settings import services as settings
from shop.settings.models import Setting

PREFIX = "legal."
_BUSINESS_CODE = re.compile(r"\d{10}(-\d{3})?")  # an enterprise, or one of its branches
_CALL_CENTRE = re.compile(r"(1800|1900)(\d{4}|\d{6})")  # 1800 (free) and 1900 (paid) hotlines


@dataclass(frozen=True)
class OperatorDetails:
    legal_name: str = ""
    business_code: str = ""
    business_code_date: date | None = None
    business_code_issuer: str = ""
    address: str = ""
    hotline: str = ""
    email: str = ""
    support_hours: str = ""
    effective_date: date | None = None

    @property
    def complete(self) -> bool:
        return all(getattr(self, f.name) for f in fields(self))


# The details are text settings like the others (shop.settings.services), empty until entered.
settings.TEXT_DEFAULTS.update({PREFIX + f.name: "" for f in fields(OperatorDetails)})

TEXT_LIMITS = {"legal_name": 200, "business_code_issuer": 200, "address": 300, "support_hours": 100}
DATE_FIELDS = ("business_code_date", "effective_date")


class DetailsError(ShopError):
    code = "bad_legal_details"

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


def _load() -> OperatorDetails:
    rows = db.session.query(Setting).filter(Setting.key.startswith(PREFIX)).all()
    values: dict = {}
    names = {f.name for f in fields(OperatorDetails)}
    for row in rows:
        name = row.key[len(PREFIX) :]
        if name not in names or not row.value:
            continue
        values[name] = date.fromisoformat(row.value) if name in DATE_FIELDS else row.value
    return OperatorDetails(**values)


_memo = LocalMemo("operator-details", ("site",))


def operator_details() -> OperatorDetails:
    """The details as saved (kept per process, checked against the ``site`` tag)."""
    return _memo.get(_load)


def _clean(values: dict) -> OperatorDetails:
    out: dict = {}
    for name, limit in TEXT_LIMITS.items():
        text = " ".join(str(values.get(name) or "").split())
        if len(text) > limit:
            raise DetailsError(_("Tối đa %(n)d ký tự.", n=limit), field=name)
        out[name] = text
    code = str(values.get("business_code") or "").strip()
    if code and not _BUSINESS_CODE.fullmatch(code):
        raise DetailsError(
            _("Mã số doanh nghiệp gồm 10 chữ số (chi nhánh: 10 chữ số, dấu gạch ngang và 3 chữ số)."),
            field="business_code",
        )
    out["business_code"] = code
    hotline = str(values.get("hotline") or "").strip()
    digits = re.sub(r"[\s.\-]", "", hotline)
    if _CALL_CENTRE.fullmatch(digits):
        hotline = f"{digits[:4]} {digits[4:]}"
    elif hotline:
        try:
            hotline = format_phone(normalise_phone(hotline))
        except InvalidPhone:
            message = _("Số hotline không hợp lệ (ví dụ 1900 1234 hoặc 0912 345 678).")
            raise DetailsError(message, field="hotline") from None
    out["hotline"] = hotline
    email = str(values.get("email") or "").strip()
    if email:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            raise DetailsError(_("Email không hợp lệ."), field="email") from None
    out["email"] = email
    for name in DATE_FIELDS:
        value = values.get(name)
        if value is not None and not isinstance(value, date):
            raise DetailsError(_("Ngày không hợp lệ."), field=name)
        out[name] = value
    return OperatorDetails(**out)


def _stored(details: OperatorDetails) -> dict[str, str]:
    return {
        f.name: (value.isoformat() if isinstance(value, date) else value or "")
        for f in fields(details)
        for value in (getattr(details, f.name),)
    }


def update_operator_details(actor_id: int | None, values: dict) -> bool:
    """Save the details (validated, audited, one commit); False when nothing changed.
    `actor_id` None: the system (the demo seed)."""
    new = _clean(values)
    before, after = _stored(_load()), _stored(new)
    changed = [name for name in after if before[name] != after[name]]
    if not changed:
        return False
    for name in changed:
        settings.set_text(PREFIX + name, after[name])
    record(
        actor_id,
        "settings.legal",
        "setting",
        None,
        label=", ".join(changed),
        before={name: before[name] for name in changed},
        after={name: after[name] for name in changed},
    )
    db.session.commit()
    return True

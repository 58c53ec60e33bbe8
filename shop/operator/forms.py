"""The console's forms (Flask-WTF, like the portal's and the checkout's). Fields
parse what was typed; the rules about the values stay in the services, whose
refusals the views put beside the field they name (`show_error`)."""

from flask_babel import lazy_gettext as _l
from wtforms import (  # type: ignore[attr-defined]  # SelectChoice is new in WTForms 3.3; types-wtforms 3.2 lacks it
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms import Form as SubForm
from wtforms.validators import AnyOf, DataRequired, Regexp
from wtforms.widgets import CheckboxInput

from shop.forms import Form
from shop.operator.inputs import InputError, parse_count, parse_dong
from shop.portal.forms import DayField
from shop.promotions.voucher_services import VoucherDraft
from shop.shipping.models import ZONES
from shop.shipping.rules import Rate
from shop.shipping.services import MAX_BAND_GRAMS


def _clip(limit: int):
    """A filter keeping at most `limit` characters (a guard; the services set the real limits)."""
    return lambda text: text[:limit] if text else text


def _strip(limit: int):
    """A filter: spaces around dropped, then at most `limit` characters."""
    return lambda text: text.strip()[:limit] if text else text


def show_error(form: Form, field_name: str | None, message) -> None:
    """A service's refusal beside the field it names, or above the form."""
    field = getattr(form, field_name, None) if field_name else None
    if field is not None:
        field.errors = [*field.errors, message]
    else:
        form.form_errors.append(message)


def _legal_text(label):
    return StringField(label, default="", filters=[_clip(400)])


class LegalDetailsForm(Form):
    """The operator's legal details, printed in every page's footer and in the policies."""

    legal_name = _legal_text(_l("Tên pháp nhân vận hành"))
    business_code = _legal_text(_l("Mã số doanh nghiệp"))
    business_code_date = DayField(_l("Ngày cấp"), invalid=_l("Ngày không hợp lệ."))
    business_code_issuer = _legal_text(_l("Nơi cấp"))
    address = _legal_text(_l("Địa chỉ trụ sở"))
    hotline = _legal_text(_l("Hotline"))
    email = _legal_text(_l("Email hỗ trợ"))
    support_hours = _legal_text(_l("Giờ làm việc"))
    effective_date = DayField(_l("Ngày hiệu lực của quy chế và chính sách"), invalid=_l("Ngày không hợp lệ."))

    FIELDS = (
        "legal_name",
        "business_code",
        "business_code_date",
        "business_code_issuer",
        "address",
        "hotline",
        "email",
        "support_hours",
        "effective_date",
    )

    def values(self) -> dict:
        return {name: self[name].data for name in self.FIELDS}


class BankSettingsForm(Form):
    """VietQR: the receiving account, how long a transfer order holds its stock, on or off.
    The account is checked by `shop.bank.services.configure`."""

    enabled = BooleanField(_l("Cho phép thanh toán bằng chuyển khoản ngân hàng (VietQR)"), render_kw={"value": "1"})
    # The banks are the NAPAS list (`shop.bank.directory`), set by the view; an unknown BIN
    # is refused by the service with its own message, not by WTForms' "Not a valid choice".
    bank_bin = SelectField(_l("Ngân hàng nhận"), validate_choice=False, default="", filters=[_strip(8)])
    account_number = StringField(
        _l("Số tài khoản"), default="", filters=[_strip(40)], render_kw={"inputmode": "numeric"}
    )
    account_name = StringField(_l("Chủ tài khoản"), default="", filters=[_strip(80)])
    vietqr_reservation_minutes = StringField(
        _l("Giữ hàng (phút)"),
        filters=[_strip(6)],
        validators=[Regexp(r"^[0-9]+$", message=_l("Nhập số phút."))],
        render_kw={"inputmode": "numeric"},
    )


class CheckList(SelectMultipleField):
    """Ticked boxes, one per choice (rendered by `checklist` in templates/_forms.html).
    The choices are set by the view; ids no longer there are refused by the service."""

    option_widget = CheckboxInput()

    def __init__(self, label=None, **kwargs):
        super().__init__(label, validate_choice=False, **kwargs)


class Switch(BooleanField):
    """On only when the page's own value "1" is sent: "0" (a hidden input turning it
    off), nothing (a box left unticked) or anything else is off."""

    def process_formdata(self, valuelist):
        self.data = bool(valuelist) and valuelist[0] == "1"


class UnstarredSectionForm(Form):
    """The "Sản phẩm chưa có sao" section on or off (/ops/cai-dat)."""

    unstarred_section = Switch(_l("Mở khu “Sản phẩm chưa có sao”"), render_kw={"value": "1"})


class VoucherSwitchForm(Form):
    """A voucher's "Tắt mã" / "Bật lại mã" button: `active` is what it asks for."""

    active = Switch()


_NUMBER = {"inputmode": "numeric", "autocomplete": "off"}


class VoucherForm(Form):
    """A voucher as typed (/ops/ma-giam-gia). Every value is judged by
    `shop.promotions.voucher_services.validate`, which names the fields at fault.
    No defaults here: a new voucher's start values come from `VoucherDraft()`."""

    code = StringField(
        _l("Mã"),
        render_kw={"maxlength": "32", "autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
    description = StringField(_l("Mô tả (khách thấy)"), render_kw={"maxlength": "300"})
    kind = RadioField(
        _l("Kiểu giảm"),
        choices=[SelectChoice("percent", _l("Theo phần trăm")), SelectChoice("fixed", _l("Số tiền cố định (đồng)"))],
        validate_choice=False,
    )
    value = StringField(_l("Giá trị"), render_kw=_NUMBER)
    max_discount = StringField(_l("Giảm tối đa (đồng, không bắt buộc)"), render_kw=_NUMBER)
    min_order = StringField(_l("Đơn tối thiểu (đồng, tiền hàng sau khuyến mãi)"), render_kw=_NUMBER)
    usage_limit = StringField(_l("Tổng số lượt (trống: không giới hạn)"), render_kw=_NUMBER)
    per_customer_limit = StringField(_l("Số lượt mỗi khách (trống: không giới hạn)"), render_kw=_NUMBER)
    starts_at = StringField(_l("Bắt đầu (giờ Việt Nam)"), render_kw={"type": "datetime-local"})
    ends_at = StringField(_l("Kết thúc (giờ Việt Nam)"), render_kw={"type": "datetime-local"})
    producers = CheckList(_l("Nhà sản xuất"))
    provinces = CheckList(_l("Tỉnh, thành"))
    categories = CheckList(_l("Nhóm sản phẩm"))
    min_stars = SelectField(
        _l("Số sao OCOP tối thiểu"),
        choices=[SelectChoice("", _l("Không yêu cầu"))] + [SelectChoice(n, f"{n}★") for n in ("3", "4", "5")],
        validate_choice=False,
    )
    active = BooleanField(_l("Đang bật (khách dùng được trong thời gian trên)"), render_kw={"value": "1"})

    def draft(self) -> VoucherDraft:
        def text(field) -> str:
            return field.data or ""

        return VoucherDraft(
            code=text(self.code),
            description=text(self.description),
            kind=text(self.kind),
            value=text(self.value),
            max_discount=text(self.max_discount),
            min_order=text(self.min_order),
            usage_limit=text(self.usage_limit),
            per_customer_limit=text(self.per_customer_limit),
            starts_at=text(self.starts_at),
            ends_at=text(self.ends_at),
            producers=tuple(self.producers.data or ()),
            provinces=tuple(self.provinces.data or ()),
            categories=tuple(self.categories.data or ()),
            min_stars=text(self.min_stars),
            active=bool(self.active.data),
        )


class KeyedForm(Form):
    """One of many alike forms on a page (one per category, one per part of an order).
    `placed` gives its inputs ids under the form's key; the field names stay the same.
    SUFFIXES shortens an id ("vi" for name_vi)."""

    SUFFIXES: dict[str, str] = {}

    def placed(self, prefix: str):
        for field in self:
            field.id = field.label.field_id = f"{prefix}-{self.SUFFIXES.get(field.name, field.name)}"
        return self


def keyed(form_class: type[KeyedForm], posted: tuple | None):
    """For a template: `make(key, prefix, **saved)` gives the form sent as `key` when
    `posted` is (key, form) (a refusal shown again as typed), else a fresh one holding `saved`."""

    def make(key, prefix: str, **saved):
        if posted is not None and posted[0] == key and isinstance(posted[1], form_class):
            return posted[1].placed(prefix)
        return form_class(formdata=None, data=saved, meta={"csrf": False}).placed(prefix)

    return make


class CategoryNamesForm(KeyedForm):
    """A category's two names (/ops/danh-muc: adding one, renaming one). The names are
    judged by shop.operator.catalog_services."""

    SUFFIXES = {"name_vi": "vi", "name_en": "en"}

    name_vi = StringField(_l("Tên tiếng Việt"), render_kw={"maxlength": "200"})
    name_en = StringField(_l("Tên tiếng Anh"), render_kw={"maxlength": "200", "lang": "en"})


class CategoryAddForm(CategoryNamesForm):
    """A new category's names and its parent (a hidden input on the parent's row;
    blank: a group at the top level)."""

    parent_id = HiddenField(default="")


def _reason(label):
    return TextAreaField(label, default="", render_kw={"rows": "2", "maxlength": "1000", "required": True})


class CancelForm(KeyedForm):
    """Cancelling an order or one producer's part of it (/ops/don-hang/<id>)."""

    reason = _reason(_l("Lý do huỷ (gửi cho người mua)"))


class RefundForm(KeyedForm):
    """Refunding part of an order: an amount, or everything left when the "all" button
    (mode) was pressed. The amount is read by parse_dong, the rest by the service."""

    amount = StringField(_l("Số tiền hoàn (đ)"), default="", render_kw={"inputmode": "numeric", "autocomplete": "off"})
    reason = _reason(_l("Lý do hoàn tiền"))
    mode = StringField()  # the value of the button pressed; not rendered


class LedgerAdjustmentForm(Form):
    """A manual entry in a producer's ledger (/ops/doi-soat/nha-san-xuat/<id>): added to
    or taken from what the producer is owed. The amount is read by parse_dong, the
    reason judged by shop.ledger.services.adjust."""

    direction = RadioField(
        _l("Loại"),
        choices=[
            SelectChoice("credit", _l("Cộng cho nhà sản xuất")),
            SelectChoice("debit", _l("Trừ của nhà sản xuất")),
        ],
        validate_choice=False,  # no default: a post without a direction is refused, never a credit
        validators=[AnyOf(("credit", "debit"), message=_l("Chọn cộng tiền hay trừ tiền."))],
    )
    amount = StringField(_l("Số tiền (đồng)"), default="", render_kw={"inputmode": "numeric", "autocomplete": "off"})
    reason = TextAreaField(_l("Lý do"), default="", render_kw={"rows": "2", "maxlength": "2000"})


class ReviewReasonForm(KeyedForm):
    """A decision on a producer or a certificate (/ops/nha-san-xuat, /ops/giay-chung-nhan):
    its reason, judged by shop.operator.producers_services (needed to refuse, suspend or
    reinstate; at most REASON_MAX characters). Approving sends none. The input's id is the
    prefix the page gives it ("reason-reject", "reason-certificate-7")."""

    reason = TextAreaField(_l("Lý do"), default="")

    def placed(self, prefix: str):
        self.reason.id = self.reason.label.field_id = prefix
        return self


class ApproveForm(ReviewReasonForm):
    """Approving an application: the certificates ticked "Xác minh luôn" (ids; one
    that does not parse names nothing, one not in the file is ignored by the service)."""

    verify_certificate = CheckList(_l("Xác minh luôn"))


def _review_reason(label):
    return TextAreaField(label, default="", render_kw={"rows": "2", "maxlength": "2000", "required": True})


class RejectReasonForm(ReviewReasonForm):
    reason = _review_reason(_l("Lý do từ chối"))


class SuspendReasonForm(ReviewReasonForm):
    reason = _review_reason(_l("Lý do tạm ngưng"))


class ReinstateReasonForm(ReviewReasonForm):
    reason = _review_reason(_l("Lý do mở lại"))


class TakeDownForm(ReviewReasonForm):
    """Taking a product off the market (/ops/san-pham, one per product): the reason the
    producer reads, judged by shop.operator.catalog_services.unpublish_product."""

    reason = _review_reason(_l("Lý do (nhà sản xuất sẽ đọc)"))


_PERCENT_INPUT = {"inputmode": "decimal", "autocomplete": "off"}


class ProducerRateForm(KeyedForm):
    """A producer's own commission rate (/ops/doi-soat/hoa-hong, one per producer): a
    percentage read by parse_percent_bp; blank, or the "Dùng mặc định" button (clear),
    goes back to the platform's default. `q` is the search to return to."""

    SUFFIXES = {"q": "rate-q"}

    rate = StringField(_l("Tỷ lệ riêng (%)"), default="", render_kw=_PERCENT_INPUT)
    clear = StringField()  # the value of the "Dùng mặc định" button; not rendered
    q = HiddenField(default="")


class CategoryRateForm(KeyedForm):
    """A producer's rate for one category and those under it. The categories are set by
    the view; one that does not exist is refused by shop.ledger.services.set_category_rate."""

    SUFFIXES = {"category_id": "cat", "category_rate": "cat-rate", "q": "cat-q"}

    category_id = SelectField(_l("Danh mục"), validate_choice=False, default="")
    category_rate = StringField(_l("Tỷ lệ (%)"), default="", render_kw=_PERCENT_INPUT)
    q = HiddenField(default="")


class ClosePeriodForm(Form):
    """Closing a payout week by hand (/ops/doi-soat). The weeks are set by the view; the
    Monday is read by the view and judged by shop.ledger.services.close_period."""

    period_start = SelectField(_l("Tuần"), validate_choice=False, default="")


class MarkPaidForm(Form):
    """A due payout marked "đã chuyển" (/ops/doi-soat/<id>) with the bank transfer's
    reference, judged by shop.ledger.services.mark_paid."""

    reference = StringField(
        _l("Mã giao dịch ngân hàng"), default="", render_kw={"maxlength": "120", "autocomplete": "off"}
    )


def _setting(label, name: str):
    return StringField(
        label,
        id=f"s-{name}",
        default="",
        filters=[_strip(30)],
        render_kw={"inputmode": "decimal", "autocomplete": "off", "required": True},
    )


class MarketSettingsForm(Form):
    """The COD limit, the card order's hold and the default commission (/ops/cai-dat), as
    typed: read by the view's parsers, judged by shop.settings.services.update_settings."""

    cod_max_amount = _setting(_l("Hạn mức thanh toán khi nhận hàng (COD)"), "cod_max_amount")
    card_reservation_minutes = _setting(_l("Thời gian giữ hàng khi chờ thanh toán thẻ"), "card_reservation_minutes")
    default_commission_bp = _setting(_l("Hoa hồng mặc định"), "default_commission_bp")


class CategoryOrderForm(KeyedForm):
    """Moving a category up or down among its siblings (/ops/danh-muc); the direction is
    the value of the button pressed, judged by shop.operator.catalog_services."""

    direction = StringField()  # not rendered: the buttons carry it


class CategoryMoveForm(KeyedForm):
    """Moving a category under another parent, or to the top level (blank). The parents
    are set by the view; one that cannot take it is refused by the service."""

    SUFFIXES = {"parent_id": "to"}

    parent_id = SelectField(_l("Chuyển vào"), validate_choice=False, default="")


class CategoryDeleteForm(KeyedForm):
    """Deleting a category (refused by the service while it has children or products)."""


class TransferMatchForm(KeyedForm):
    """An unmatched bank transfer given to an order (/ops/chuyen-khoan, one per transfer).
    The order is looked up by shop.bank.services.match; the note goes to the audit log."""

    SUFFIXES = {"order_number": "order", "reason": "note"}

    order_number = StringField(
        _l("Mã đơn hàng"),
        default="",
        filters=[_clip(40)],
        validators=[DataRequired(message=_l("Nhập mã đơn hàng."))],
        render_kw={"maxlength": "40", "required": True, "autocomplete": "off", "placeholder": "OC261202-ABCDE"},
    )
    reason = StringField(_l("Ghi chú"), default="", filters=[_clip(500)], render_kw={"maxlength": "500"})


class TransferRefundForm(KeyedForm):
    """An unmatched transfer flagged to go back to its sender, with the reason
    (judged by shop.bank.services.mark_for_refund)."""

    reason = StringField(
        _l("Lý do hoàn"), default="", filters=[_clip(500)], render_kw={"maxlength": "500", "required": True}
    )


class TransferRefundedForm(KeyedForm):
    """Money flagged for refund recorded as sent back, with the bank's reference
    (judged by shop.bank.services.mark_refunded)."""

    reference = StringField(
        _l("Mã GD hoàn tiền"),
        default="",
        filters=[_clip(200)],
        render_kw={"maxlength": "120", "required": True, "autocomplete": "off"},
    )


class IndexedList(FieldList):
    """A FieldList reading only ASCII row numbers: WTForms' own takes any key whose
    index passes str.isdigit(), so a posted "zone-bands-²-max" reached int(): a 500."""

    def _extract_indices(self, prefix, formdata):
        offset = len(prefix) + 1
        for key in formdata:
            if key.startswith(prefix):
                index = key[offset:].split(self._field_separator, 1)[0]  # type: ignore[attr-defined]  # not in types-wtforms
                if index.isascii() and index.isdigit():
                    yield int(index)


_BAND_INPUT = {"inputmode": "numeric", "autocomplete": "off", "class": "oc-num-input"}


def _band_input(label):
    return StringField(label, default="", filters=[_strip(60)], render_kw=_BAND_INPUT)


class BandForm(SubForm):
    """One band of a zone's shipping table (/ops/cai-dat) as typed: up to a weight in
    grams, its fee and the extra per kg above the heaviest band (blank: 0). Each value
    is read here; the rules across bands are shop.shipping.services.replace_rates'."""

    max = _band_input(_l("Đến khối lượng (gam)"))
    fee = _band_input(_l("Phí (đ)"))
    extra = _band_input(_l("Phụ phí mỗi kg vượt (đ)"))
    remove = BooleanField(_l("Bỏ"), render_kw={"value": "1"})

    band: tuple[int, int, int] | None = None  # (max grams, fee, extra) once validated

    def skipped(self) -> bool:
        """Left out of the table: ticked "Bỏ"."""
        return bool(self.remove.data)

    def validate(self, extra_validators=None) -> bool:
        self.band = None
        if not super().validate(extra_validators):
            return False
        if self.skipped():
            return True
        parsers = (
            (self.max, lambda text, name: parse_count(text, name, minimum=1, maximum=MAX_BAND_GRAMS)),
            (self.fee, parse_dong),
            (self.extra, lambda text, name: parse_dong(text or "0", name)),
        )
        values = []
        for field, parse in parsers:
            try:
                values.append(parse(field.data or "", field.name))
            except InputError as err:
                field.errors = [*field.errors, err.message]
        if len(values) < len(parsers):
            return False
        self.band = (values[0], values[1], values[2])
        return True


class NewBandForm(BandForm):
    """The empty row under a zone's bands, for adding one; left blank, nothing is added."""

    max = _band_input(_l("Đến khối lượng (gam), mức mới"))
    fee = _band_input(_l("Phí (đ), mức mới"))
    extra = _band_input(_l("Phụ phí mỗi kg vượt (đ), mức mới"))
    remove = None  # type: ignore[assignment]  # a new row has nothing to remove

    def skipped(self) -> bool:
        return not (self.max.data or self.fee.data or self.extra.data)


class ZoneForm(SubForm):
    """One zone's table: its bands as saved (or as typed), then the new row."""

    bands = IndexedList(FormField(BandForm), max_entries=200)
    new = FormField(NewBandForm)


class ShippingRatesForm(Form):
    """The three zones' shipping tables, saved as a whole (/ops/cai-dat). Inputs are
    named "<zone>-bands-<i>-max" and "<zone>-new-max"; a refused table comes back as
    typed, each message beside its cell or above its zone."""

    same_province = FormField(ZoneForm)
    same_region = FormField(ZoneForm)
    elsewhere = FormField(ZoneForm)

    @classmethod
    def of(cls, table: dict[str, list[Rate]]) -> "ShippingRatesForm":
        """The saved table, ready to edit."""
        data = {
            zone: {
                "bands": [
                    {"max": str(b.max_weight_grams), "fee": str(b.fee), "extra": str(b.extra_per_kg)}
                    for b in table.get(zone, [])
                ]
            }
            for zone in ZONES
        }
        return cls(formdata=None, data=data)

    def zone(self, zone: str) -> ZoneForm:
        return self[zone].form  # a FormField's form

    def rates(self) -> list[Rate]:
        """The table as validated: every band kept, with its zone."""
        table = []
        for zone in ZONES:
            rows = (*(entry.form for entry in self.zone(zone).bands), self.zone(zone).new.form)
            table += [Rate(zone, *row.band) for row in rows if not row.skipped() and row.band]
        return table

    def refuse(self, zone: str | None, message) -> None:
        """A refusal of the whole table, above the zone it names (or above the form)."""
        target = self.zone(zone) if zone in ZONES else self
        target.form_errors.append(message)

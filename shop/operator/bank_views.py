"""Console pages for bank transfers (/ops/chuyen-khoan): the transfers no order
claimed (match one to an order, or flag it for refund), the money to send back,
and the VietQR settings (receiving account, hold time, on/off). Every action is a
POST, audited by the service."""

from collections.abc import Callable

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice  # type: ignore[attr-defined]  # SelectChoice is new in WTForms 3.3; types-wtforms 3.2 lacks it

from shop.bank import directory
from shop.bank import services as bank
from shop.operator import bp
from shop.operator.forms import (
    BankSettingsForm,
    KeyedForm,
    TransferMatchForm,
    TransferRefundedForm,
    TransferRefundForm,
    keyed,
    show_error,
)
from shop.settings import services as settings

VIEWS = ("unmatched", "refund", "all")


def _settings_form() -> BankSettingsForm:
    """The VietQR settings as saved."""
    return BankSettingsForm(
        data={
            "enabled": bool(settings.get_int("vietqr_enabled")),
            "bank_bin": settings.get_text("vietqr_bank_bin"),
            "account_number": settings.get_text("vietqr_account_number"),
            "account_name": settings.get_text("vietqr_account_name"),
            "vietqr_reservation_minutes": str(settings.get_int("vietqr_reservation_minutes")),
        }
    )


def _page(status: int = 200, *, form: BankSettingsForm | None = None, posted: tuple | None = None):
    """The queue and the settings. `form` is refused settings shown again as typed;
    `posted` is ((action, transfer id), form) of a refused action on one transfer."""
    view = request.values.get("xem", "unmatched")
    view = view if view in VIEWS else "unmatched"
    form = form or _settings_form()
    # A bank without a BIN (BIDC) cannot receive a VietQR transfer: not offered.
    form.bank_bin.choices = [SelectChoice("", _("— Chọn ngân hàng —"))] + [
        SelectChoice(b.bin, f"{b.short_name} — {b.name} ({b.bin})") for b in directory.banks() if b.bin
    ]
    return render_template(
        "operator/bank_transfers.html",
        view=view,
        rows=bank.transfers_for_console(view),
        counts=bank.queue_counts(),
        form=form,
        # A refused action's messages, also at the top: its row may have left this list.
        refused=[(m, f"gd-{posted[0][1]}") for ms in posted[1].errors.values() for m in ms] if posted else [],
        match_form=keyed(TransferMatchForm, posted),
        refund_form=keyed(TransferRefundForm, posted),
        refunded_form=keyed(TransferRefundedForm, posted),
    ), status


@bp.get("/chuyen-khoan", endpoint="bank_transfers")
def bank_transfers():
    return _page()


def _back():
    return redirect(url_for(".bank_transfers", xem=request.form.get("xem") or None), code=303)


def _transfer_action(key: tuple, form: KeyedForm, action: Callable[[], str], field: str):
    """Run `action` (which returns the message to flash); a refusal shows the page
    again with `form` as typed, the message beside `field` (or the field it names)."""
    if not form.validate():
        return _page(400, posted=(key, form))
    try:
        done = action()
    except bank.BankError as err:
        show_error(form, err.field or field, err.message)
        return _page(400, posted=(key, form))
    flash(done, "success")
    return _back()


@bp.post("/chuyen-khoan/<int:transfer_id>/ghep", endpoint="bank_transfer_match")
def bank_transfer_match(transfer_id: int):
    form = TransferMatchForm()
    labels = {
        "paid": _("Đã ghép: đơn đã được thanh toán."),
        "partly_paid": _("Đã ghép: đơn mới được trả một phần."),
        "surplus": _("Đã ghép: đơn đã được thanh toán, phần thừa chờ hoàn."),
        "refund": _("Đã ghép, nhưng đơn đã thanh toán hoặc đã huỷ: khoản này chờ hoàn."),
    }

    def match() -> str:
        outcome = bank.match(transfer_id, form.order_number.data or "", current_user.id, reason=form.reason.data or "")
        return labels.get(outcome, _("Đã ghép."))

    return _transfer_action(("match", transfer_id), form, match, "order_number")


@bp.post("/chuyen-khoan/<int:transfer_id>/hoan", endpoint="bank_transfer_refund")
def bank_transfer_refund(transfer_id: int):
    form = TransferRefundForm()

    def flag() -> str:
        bank.mark_for_refund(transfer_id, current_user.id, form.reason.data or "")
        return _("Đã đánh dấu cần hoàn tiền.")

    return _transfer_action(("refund", transfer_id), form, flag, "reason")


@bp.post("/chuyen-khoan/<int:transfer_id>/da-hoan", endpoint="bank_transfer_refunded")
def bank_transfer_refunded(transfer_id: int):
    form = TransferRefundedForm()

    def refunded() -> str:
        bank.mark_refunded(transfer_id, form.reference.data or "", current_user.id)
        return _("Đã ghi nhận hoàn tiền.")

    return _transfer_action(("refunded", transfer_id), form, refunded, "reference")


@bp.post("/chuyen-khoan/cai-dat", endpoint="bank_settings_save")
def bank_settings_save():
    form = BankSettingsForm()
    if not form.validate():
        return _page(400, form=form)
    try:
        changed = bank.configure(
            current_user.id,
            enabled=bool(form.enabled.data),
            bank_bin=form.bank_bin.data or "",
            number=form.account_number.data or "",
            holder=form.account_name.data or "",
            minutes=int(form.vietqr_reservation_minutes.data or ""),
        )
    except bank.BankError as err:
        show_error(form, err.field, err.message)
        return _page(400, form=form)
    flash(_("Đã lưu cài đặt chuyển khoản.") if changed else _("Không có gì thay đổi."), "success")
    return redirect(url_for(".bank_transfers", _anchor="cai-dat"), code=303)

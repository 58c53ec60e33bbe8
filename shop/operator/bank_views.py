"""Console pages for bank transfers (/ops/chuyen-khoan): the transfers no order
claimed (match one to an order, or flag it for refund), the money to send back,
and the VietQR settings (receiving account, hold time, on/off). Every action is a
POST, audited by the service."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice  # type: ignore[attr-defined]  # SelectChoice is new in WTForms 3.3; types-wtforms 3.2 lacks it

from shop.bank import directory
from shop.bank import services as bank
from shop.operator import bp
from shop.operator.forms import BankSettingsForm, show_error
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


def _page(status: int = 200, *, form: BankSettingsForm | None = None):
    view = request.args.get("xem", "unmatched")
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
        row_error=request.args.get("loi_id", type=int),
    ), status


@bp.get("/chuyen-khoan", endpoint="bank_transfers")
def bank_transfers():
    return _page()


def _back(transfer_id: int | None = None):
    return redirect(url_for(".bank_transfers", xem=request.form.get("xem") or None), code=303)


@bp.post("/chuyen-khoan/<int:transfer_id>/ghep", endpoint="bank_transfer_match")
def bank_transfer_match(transfer_id: int):
    try:
        outcome = bank.match(
            transfer_id,
            request.form.get("order_number", "")[:40],
            current_user.id,
            reason=request.form.get("reason", "")[:500],
        )
    except bank.BankError as err:
        flash(err.message, "error")
        return _back()
    labels = {
        "paid": _("Đã ghép: đơn đã được thanh toán."),
        "partly_paid": _("Đã ghép: đơn mới được trả một phần."),
        "surplus": _("Đã ghép: đơn đã được thanh toán, phần thừa chờ hoàn."),
        "refund": _("Đã ghép, nhưng đơn đã thanh toán hoặc đã huỷ: khoản này chờ hoàn."),
    }
    flash(labels.get(outcome, _("Đã ghép.")), "success")
    return _back()


@bp.post("/chuyen-khoan/<int:transfer_id>/hoan", endpoint="bank_transfer_refund")
def bank_transfer_refund(transfer_id: int):
    try:
        bank.mark_for_refund(transfer_id, current_user.id, request.form.get("reason", "")[:500])
    except bank.BankError as err:
        flash(err.message, "error")
        return _back()
    flash(_("Đã đánh dấu cần hoàn tiền."), "success")
    return _back()


@bp.post("/chuyen-khoan/<int:transfer_id>/da-hoan", endpoint="bank_transfer_refunded")
def bank_transfer_refunded(transfer_id: int):
    try:
        bank.mark_refunded(transfer_id, request.form.get("reference", "")[:200], current_user.id)
    except bank.BankError as err:
        flash(err.message, "error")
        return _back()
    flash(_("Đã ghi nhận hoàn tiền."), "success")
    return _back()


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

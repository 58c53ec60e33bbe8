"""Console pages for settling with producers (/ops/doi-soat): balances, payout
weeks, statements (HTML and CSV), marking a payout paid, adjustments, and
commission rates. Every action is a POST; a mistake is shown on the page it
came from (400), with what was typed kept."""

from datetime import date, datetime, timedelta

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.3; types-wtforms 3.2 lacks it

from shop.bank import services as bank
from shop.errors import NotFound
from shop.formatting import today_vn, vn_date
from shop.inputs import parse_int
from shop.ledger import queries, statements
from shop.ledger import services as ledger
from shop.ledger.services import LedgerError
from shop.operator import bp
from shop.operator.forms import (
    CategoryRateForm,
    ClosePeriodForm,
    LedgerAdjustmentForm,
    MarkPaidForm,
    ProducerRateForm,
    keyed,
    show_error,
)
from shop.operator.inputs import InputError, parse_dong, parse_percent_bp, percent_text


def _locale() -> str:
    return str(get_locale() or "vi")


def _helpers() -> dict:
    return {
        "kind_labels": statements.KIND_LABELS,
        "percent_text": lambda bp: percent_text(bp, _locale()),
        "period_text": lambda p: statements.period_text(p.period_start, p.period_end, _locale()),
        "bank_text": statements.bank_text,
    }


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def _closable_weeks(today: date, count: int = 8) -> list[tuple[date, date]]:
    """(Monday, Sunday) of the last `count` weeks that have ended, newest first."""
    this_monday, _end = ledger.period_of(today)
    mondays = [this_monday - timedelta(days=7 * i) for i in range(1, count + 1)]
    return [(monday, monday + timedelta(days=6)) for monday in mondays]


def _parse_week(raw: str | None) -> date | None:
    try:
        return datetime.strptime((raw or "").strip(), "%Y-%m-%d").date()
    except ValueError:
        return None


# --- balances and payouts -------------------------------------------------------------------


def _payouts_page(form: ClosePeriodForm | None = None, status_code: int = 200):
    """The balances and payouts; `form` is a refused week closing, shown again as sent."""
    status = request.args.get("status") or None
    if status not in (None, "due", "paid"):
        status = None
    producer_id = _int_arg("producer")
    week = _parse_week(request.args.get("week"))
    page = _int_arg("page") or 1
    weeks = queries.week_states(_closable_weeks(today_vn()))
    form = form or ClosePeriodForm(formdata=None)
    form.period_start.choices = [
        SelectChoice(
            w.monday.isoformat(),
            f"{vn_date(w.monday, _locale())} – {vn_date(w.sunday, _locale())} · "
            + (_("đã chốt") if w.closed else _("chưa chốt")),
        )
        for w in weeks
    ]
    return render_template(
        "operator/payouts.html",
        balances=queries.balances(),
        result=queries.payouts(status=status, producer_id=producer_id, period_start=week, page=page),
        status=status,
        producer_id=producer_id,
        week=week,
        weeks=weeks,
        form=form,
        **_helpers(),
    ), status_code


@bp.get("/doi-soat")
def payouts():
    return _payouts_page()


@bp.post("/doi-soat/chot-ky")
def payout_close():
    form = ClosePeriodForm()
    week = _parse_week(form.period_start.data)
    if week is None:
        show_error(form, "period_start", _("Chọn tuần cần chốt."))
        return _payouts_page(form, 400)
    try:
        made = ledger.close_period(week, current_user.id)
    except LedgerError as err:
        show_error(form, "period_start", err.message)
        return _payouts_page(form, 400)
    if made:
        flash(_("Đã chốt kỳ: %(n)s bảng đối soát mới.", n=len(made)), "success")
    else:
        flash(_("Kỳ này không có khoản nào mới cần thanh toán (hoặc đã chốt rồi)."), "info")
    return redirect(url_for(".payouts", week=week.isoformat()), code=303)


# --- one statement ------------------------------------------------------------------------------


def _payout_page(payout_id: int, form: MarkPaidForm | None = None, status_code: int = 200):
    """A statement; `form` is a refused "đã chuyển", shown again as typed."""
    payout = queries.payout(payout_id)
    return render_template(
        "operator/payout.html",
        payout=payout,
        statement=statements.for_payout(payout),
        transfer=bank.payout_transfer(payout),
        transfer_note=bank.payout_reference(payout),
        form=form or MarkPaidForm(formdata=None),
        **_helpers(),
    ), status_code


@bp.get("/doi-soat/<int:payout_id>")
def payout(payout_id: int):
    return _payout_page(payout_id)


@bp.get("/doi-soat/<int:payout_id>.csv")
def payout_csv(payout_id: int):
    payout = queries.payout(payout_id)
    body = statements.to_csv(statements.for_payout(payout), _locale())
    filename = f"doi-soat-{payout.producer.slug}-{payout.period_start:%Y%m%d}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.post("/doi-soat/<int:payout_id>/da-chuyen")
def payout_mark_paid(payout_id: int):
    form = MarkPaidForm()
    try:
        ledger.mark_paid(payout_id, form.reference.data or "", current_user.id)
    except LedgerError as err:
        show_error(form, err.field or "reference", err.message)  # "bank_account" is no field: above the form
        return _payout_page(payout_id, form, 400)
    flash(_("Đã ghi nhận chuyển tiền."), "success")
    return redirect(url_for(".payout", payout_id=payout_id), code=303)


# --- one producer's ledger ----------------------------------------------------------------------


def _ledger_page(producer_id: int, form: LedgerAdjustmentForm | None = None, status_code: int = 200):
    summary = queries.balance_of(producer_id)
    return render_template(
        "operator/payouts_ledger.html",
        summary=summary,
        producer=summary.producer,
        statement=statements.unsettled(summary.producer),
        entries=queries.recent_entries(producer_id),
        payouts=queries.payouts(producer_id=producer_id, per_page=20).items,
        form=form or LedgerAdjustmentForm(formdata=None, data={"direction": "credit"}),
        **_helpers(),
    ), status_code


@bp.get("/doi-soat/nha-san-xuat/<int:producer_id>")
def ledger_producer(producer_id: int):
    return _ledger_page(producer_id)


@bp.post("/doi-soat/nha-san-xuat/<int:producer_id>/dieu-chinh")
def ledger_adjust(producer_id: int):
    form = LedgerAdjustmentForm()
    valid = form.validate()
    amount = 0
    try:
        amount = parse_dong(form.amount.data, "amount", positive=True)
    except InputError as err:
        show_error(form, "amount", err.message)
        valid = False
    if not valid:
        return _ledger_page(producer_id, form, 400)
    try:
        ledger.adjust(
            producer_id,
            amount if form.direction.data == "credit" else -amount,
            form.reason.data or "",
            current_user.id,
        )
    except LedgerError as err:
        show_error(form, err.field or "amount", err.message)
        return _ledger_page(producer_id, form, 400)
    flash(_("Đã ghi khoản điều chỉnh."), "success")
    return redirect(url_for(".ledger_producer", producer_id=producer_id), code=303)


# --- commission rates -------------------------------------------------------------------------


def _commissions_page(posted: tuple | None = None, status_code: int = 200):
    """The rates, one card per producer. `posted` is (producer id, form) of a refused
    rate, shown again as typed in that producer's card."""
    search = request.args.get("q", "")
    choices = [SelectChoice("", _("— chọn —"))] + [
        SelectChoice(str(c.id), ("— " if c.level > 1 else "") + c.name(_locale()))
        for c in queries.categories_for_rates()
    ]
    make_category_form = keyed(CategoryRateForm, posted)

    def category_form(key, prefix: str, **saved):
        form = make_category_form(key, prefix, **saved)
        form.category_id.choices = choices
        return form

    return render_template(
        "operator/commissions.html",
        rows=queries.commission_rows(search),
        default_bp=queries.default_rate_bp(),
        search=search,
        rate_form=keyed(ProducerRateForm, posted),
        category_form=category_form,
        **_helpers(),
    ), status_code


@bp.get("/doi-soat/hoa-hong")
def commissions():
    return _commissions_page()


def _back_to_commissions(producer_id: int, search: str | None):
    return redirect(url_for(".commissions", q=search or None) + f"#nsx-{producer_id}", code=303)


@bp.post("/doi-soat/hoa-hong/<int:producer_id>")
def commission_set(producer_id: int):
    form = ProducerRateForm()
    raw = (form.rate.data or "").strip()
    try:
        rate = None if not raw or form.clear.data else parse_percent_bp(raw, "rate")
        ledger.set_producer_rate(producer_id, rate, current_user.id)
    except (InputError, LedgerError) as err:
        show_error(form, "rate", err.message)
        return _commissions_page((producer_id, form), 400)
    flash(_("Đã lưu tỷ lệ hoa hồng. Đơn đã đặt giữ tỷ lệ cũ."), "success")
    return _back_to_commissions(producer_id, form.q.data)


@bp.post("/doi-soat/hoa-hong/<int:producer_id>/danh-muc")
def commission_category_set(producer_id: int):
    form = CategoryRateForm()
    # Not a row id (blank, "²", 40 digits): refused here, never looked up.
    category_id = parse_int(form.category_id.data, minimum=1)
    if category_id is None:
        show_error(form, "category_id", _("Chọn một danh mục."))
    rate = None
    try:
        rate = parse_percent_bp(form.category_rate.data, "category_rate")
    except InputError as err:
        show_error(form, "category_rate", err.message)
    if category_id is not None and rate is not None:
        try:
            ledger.set_category_rate(producer_id, category_id, rate, current_user.id)
        except LedgerError as err:
            show_error(form, "category_rate" if err.field == "rate" else (err.field or "category_id"), err.message)
    if form.category_id.errors or form.category_rate.errors:
        return _commissions_page((producer_id, form), 400)
    flash(_("Đã lưu tỷ lệ theo danh mục."), "success")
    return _back_to_commissions(producer_id, form.q.data)


@bp.post("/doi-soat/hoa-hong/muc/<int:override_id>/xoa")
def commission_category_remove(override_id: int):
    try:
        ledger.remove_category_rate(override_id, current_user.id)
    except NotFound:
        flash(_("Tỷ lệ theo danh mục này không còn nữa."), "error")
        return redirect(url_for(".commissions"), code=303)
    flash(_("Đã xoá tỷ lệ theo danh mục."), "success")
    return redirect(url_for(".commissions", q=request.form.get("q") or None), code=303)

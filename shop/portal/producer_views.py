"""Portal pages about the producer itself: applying to sell, the application's
status, certificates, members (invitations) and the shop's settings and bank details.

Views are thin: they read the form, call one service with plain values and
render or redirect. Every id in a URL is looked up through the producer the
user acts for (`producer_ids()`), so another producer's id is a 404.
"""

from flask import flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice  # type: ignore[attr-defined]  # SelectChoice is new in WTForms 3.3; types-wtforms 3.2 lacks it

from shop.accounts.forms import ActionForm
from shop.accounts.phone import format_phone
from shop.accounts.views import _fill_places as fill_places
from shop.accounts.views import form_error  # shows a service's refusal by its field; PortalError has one too
from shop.inputs import parse_int
from shop.portal import bp, catalog_services, certificate_services, member_services, producer_services
from shop.portal.access import current_membership, producer_required
from shop.portal.common_views import (
    _category_choices,
    _certificate_details,
    _check_csrf,
    _pid,
    _province_choices,
    _upload,
)
from shop.portal.forms import (
    ApplyForm,
    BankForm,
    CertificateForm,
    InviteForm,
    ShopSettingsForm,
)
from shop.portal.inputs import PortalError
from shop.portal.producer_services import BankDetails, ProducerDetails
from shop.producers.rules import certificate_expiry


def _fill_apply_choices(form: ApplyForm) -> None:
    fill_places(form)  # the address book's province -> ward selects, with or without address.js
    form.category_id.choices = _category_choices()


def _bank_details(form: ApplyForm | BankForm) -> BankDetails:
    return BankDetails(form.bank_bin.data, form.bank_account_name.data or "", form.bank_account_number.data or "")


@bp.route("/dang-ky", methods=["GET", "POST"])
@login_required
def apply():
    if current_membership() is not None:
        return redirect(url_for(".application_status"))
    form = ApplyForm()
    if request.method == "GET":
        form.email.data = current_user.email
        form.phone.data = format_phone(current_user.phone) if current_user.phone else ""
    _fill_apply_choices(form)
    if form.validate_on_submit():
        try:
            producer_services.apply_to_sell(
                current_user.id,
                ProducerDetails(
                    name=form.name.data or "",
                    owner_type=form.owner_type.data,
                    tax_code=form.tax_code.data or "",
                    province_id=form.province_id.data,
                    ward_id=form.ward_id.data,
                    address=form.address.data or "",
                    phone=form.phone.data or "",
                    email=form.email.data or "",
                    story=form.story.data or "",
                ),
                _bank_details(form),
                form.product_name.data or "",
                form.category_id.data,
                _certificate_details(form),
                _upload(form.document.data),
            )
        except PortalError as err:
            form_error(form, err)
        else:
            flash(_("Đã gửi hồ sơ. Chúng tôi sẽ xem xét và báo kết quả qua email."), "success")
            return redirect(url_for(".application_status"))
    return render_template("portal/catalog/apply.html", form=form)


@bp.get("/ho-so")
@producer_required(approved=False)
def application_status():
    return render_template(
        "portal/catalog/status.html",
        producer=g.producer,
        certificates=certificate_services.list_certificates(_pid()),
        expiry=certificate_expiry,
    )


@bp.get("/giay-chung-nhan")
@producer_required
def certificates():
    return render_template(
        "portal/catalog/certificates.html",
        certificates=certificate_services.list_certificates(_pid()),
        expiry=certificate_expiry,
    )


@bp.route("/giay-chung-nhan/them", methods=["GET", "POST"])
@producer_required
def certificate_new():
    form = CertificateForm()
    if request.method == "GET" and parse_int(request.args.get("san-pham"), minimum=1):
        form.product_id.data = parse_int(request.args["san-pham"])
    form.product_id.choices = [SelectChoice("", _("— Chọn sản phẩm —"))] + [
        SelectChoice(i, name) for i, name in catalog_services.product_choices(_pid())
    ]
    form.issuing_province_id.choices = _province_choices(_("— Tỉnh của cơ sở —"))
    if form.validate_on_submit():
        try:
            certificate_services.add_certificate(
                _pid(), form.product_id.data, _certificate_details(form), _upload(form.document.data)
            )
        except PortalError as err:
            form_error(form, err)
        else:
            flash(_("Đã gửi giấy chứng nhận. Sao OCOP sẽ hiển thị sau khi được xác minh."), "success")
            return redirect(url_for(".certificates"))
    return render_template("portal/catalog/certificate_form.html", form=form)


def _members_page(form: InviteForm | None = None, status: int = 200):
    return render_template(
        "portal/catalog/members.html",
        members=member_services.list_members(_pid()),
        invites=member_services.pending_invites(_pid()),
        form=form or InviteForm(formdata=None),
        action=ActionForm(formdata=None),
    ), status


@bp.get("/thanh-vien")
@producer_required(owner=True)
def members():
    return _members_page()


@bp.post("/thanh-vien/moi")
@producer_required(owner=True)
def member_invite():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            created = member_services.invite_staff(_pid(), current_user.id, form.email.data or "")
        except PortalError as err:
            form_error(form, err)
        else:
            link = url_for(".accept_invite", token=created.token, _external=True)
            flash(_("Đã gửi lời mời tới %(email)s.", email=(form.email.data or "").strip()), "success")
            flash(_("Bạn cũng có thể gửi liên kết này qua Zalo (dùng được 7 ngày): %(link)s", link=link), "info")
            return redirect(url_for(".members"))
    return _members_page(form, 400)


@bp.post("/thanh-vien/<int:member_id>/xoa")
@producer_required(owner=True)
def member_remove(member_id: int):
    _check_csrf()
    try:
        member_services.remove_member(_pid(), member_id)
    except PortalError as err:
        flash(err.message, "error")
    else:
        flash(_("Đã xóa thành viên."), "info")
    return redirect(url_for(".members"))


@bp.post("/thanh-vien/loi-moi/<int:invite_id>/huy")
@producer_required(owner=True)
def member_invite_revoke(invite_id: int):
    _check_csrf()
    member_services.revoke_invite(_pid(), invite_id)
    flash(_("Đã hủy lời mời."), "info")
    return redirect(url_for(".members"))


@bp.route("/moi/<token>", methods=["GET", "POST"])
@login_required
def accept_invite(token: str):
    """The link in an invitation e-mail: the invited person confirms with a button
    (a POST, so mail scanners opening the link do not use it up)."""
    form = ActionForm()
    try:
        invite = member_services.invite_for_token(token)
        if form.validate_on_submit():
            producer_id = member_services.accept_invite(token, current_user.id)
        else:
            return render_template("portal/catalog/invite.html", invite=invite, form=form)
    except PortalError as err:
        return render_template("portal/catalog/invite.html", invite=None, message=err.message, form=form), 400
    session["portal_producer_id"] = producer_id  # act for the shop just joined
    flash(_("Bạn đã tham gia quản lý gian hàng."), "success")
    return redirect(url_for(".products"))


@bp.route("/cai-dat", methods=["GET", "POST"])
@producer_required
def settings():
    form = ShopSettingsForm(obj=g.producer)
    if form.validate_on_submit():
        try:
            producer_services.update_free_shipping(_pid(), form.free_shipping_threshold.data)
        except PortalError as err:
            form_error(form, err)
        else:
            flash(_("Đã lưu cài đặt."), "success")
            return redirect(url_for(".settings"))
    return render_template("portal/catalog/settings.html", form=form, producer=g.producer)


@bp.route("/cai-dat/ngan-hang", methods=["GET", "POST"])
@producer_required(owner=True)
def bank():
    form = BankForm(obj=g.producer)
    if form.validate_on_submit():
        try:
            producer_services.update_bank(_pid(), _bank_details(form))
        except PortalError as err:
            form_error(form, err)
        else:
            flash(_("Đã lưu tài khoản ngân hàng."), "success")
            return redirect(url_for(".settings"))
    return render_template("portal/catalog/bank.html", form=form)

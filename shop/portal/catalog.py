"""Portal pages: applying to sell, the catalog (products, variants, stock,
photos), certificates, members and shop settings.

Views are thin: they read the form, call one service with plain values and
render or redirect. Every id in a URL is looked up through the producer the
user acts for (`producer_ids()`), so another producer's id is a 404."""

from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import SelectChoice

from shop.accounts.forms import ActionForm
from shop.accounts.phone import format_phone
from shop.accounts.views import _fill_places as fill_places
from shop.accounts.views import form_error  # shows a service's refusal by its field; PortalError has one too
from shop.errors import json_error, wants_json
from shop.inputs import parse_int
from shop.places import queries as places
from shop.portal import bp, services
from shop.portal.access import current_membership, producer_ids, producer_required
from shop.portal.forms import (
    CERTIFICATE_STATE_LABELS,
    PRODUCT_STATUS_LABELS,
    ApplyForm,
    BankForm,
    CertificateForm,
    ImagesForm,
    InviteForm,
    MoveImageForm,
    ProductForm,
    ShopSettingsForm,
    StockForm,
    VariantForm,
)
from shop.portal.services import (
    BankDetails,
    CertificateDetails,
    PortalError,
    ProducerDetails,
    ProductDetails,
    Upload,
    VariantDetails,
)
from shop.producers.rules import certificate_expiry
from shop.urls import local_path as safe_next

# --- the portal's navigation (templates/portal/_layout.html) ------------------------------

# (endpoint candidates, label, owner only, endpoint prefixes of the section). The first
# endpoint that exists is linked, so pages written by others appear once registered.
NAV = (
    (("portal.dashboard", "portal.index", "portal.home"), _l("Tổng quan"), False, ("portal.dashboard",)),
    (("portal.orders", "portal.order_list"), _l("Đơn hàng"), False, ("portal.order",)),
    (("portal.products",), _l("Sản phẩm"), False, ("portal.product", "portal.variant", "portal.image")),
    (("portal.certificates",), _l("Giấy chứng nhận"), False, ("portal.certificate",)),
    (("portal.reviews",), _l("Đánh giá"), False, ("portal.reviews",)),
    (("portal.sync_stock",), _l("Đồng bộ kho"), False, ("portal.sync",)),
    (("portal.promotions",), _l("Khuyến mãi"), False, ("portal.promotion", "portal.enrolment")),
    (("portal.payouts",), _l("Đối soát"), True, ("portal.payout", "portal.ledger")),
    (("portal.members",), _l("Thành viên"), True, ("portal.member",)),
    (("portal.settings",), _l("Cài đặt"), False, ("portal.settings", "portal.bank")),
)


@bp.context_processor
def portal_context():
    def portal_nav() -> list[dict]:
        producer = getattr(g, "producer", None)
        if producer is None or producer.status != "approved":
            return []  # applicants see their application, not a shop they cannot use yet
        endpoint = request.endpoint or ""
        items = []
        for candidates, label, owner_only, section in NAV:
            if owner_only and g.producer_role != "owner":
                continue
            found = next((e for e in candidates if e in current_app.view_functions), None)
            if found is not None:
                items.append(
                    {
                        "endpoint": found,
                        "url": url_for(found),
                        "label": str(label),
                        "active": endpoint.startswith(section),
                    }
                )
        return items

    return {
        "portal_nav": portal_nav,
        "is_owner": getattr(g, "producer_role", None) == "owner",
        "product_status_label": lambda s: str(PRODUCT_STATUS_LABELS.get(s, s)),
        "certificate_state_label": lambda s: str(CERTIFICATE_STATE_LABELS.get(s, s)),
    }


@bp.after_request
def no_store(response):
    # Portal pages carry a shop's private data and CSRF tokens: never kept by a shared cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_errorhandler(RequestEntityTooLarge)
def too_large(err):
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    message = _(
        "Tệp tải lên quá lớn (tối đa %(mb)d MB mỗi lần). Hãy chọn ít ảnh hơn hoặc ảnh nhỏ hơn.", mb=limit // 2**20
    )
    if wants_json():
        return json_error(413, "too_large", message)
    referrer = urlsplit(request.referrer or "")
    back = referrer.path if referrer.netloc == request.host and referrer.path.startswith("/") else None
    return render_template("portal/catalog/too_large.html", message=message, back=back), 413


# --- helpers ----------------------------------------------------------------------------------


def _pid() -> int:
    """The producer this request acts for (producer_required guarantees one)."""
    return producer_ids()[0]


def _upload(storage) -> Upload | None:
    if storage is None or not getattr(storage, "filename", ""):
        return None
    return Upload(filename=storage.filename, data=storage.read())


def _check_csrf() -> None:
    """A button-only form: CSRF token checked (CSRFError otherwise), nothing else to read."""
    if not ActionForm().validate_on_submit():
        abort(400)


def _back(default: str) -> str:
    return safe_next(request.form.get("next")) or default


def _province_choices(placeholder: str | None = None) -> list[SelectChoice]:
    head = [SelectChoice("", placeholder)] if placeholder else []
    return head + [SelectChoice(p.id, p.name, {"data-slug": p.slug}) for p in places.provinces()]


def _category_choices() -> list[SelectChoice]:
    """The most specific OCOP categories, grouped under their product group."""
    locale = str(get_locale())
    leaves = services.leaf_categories()
    by_id = {c.id: c for c in services.all_categories()}
    out = [SelectChoice("", _("— Chọn nhóm sản phẩm —"))]
    for c in leaves:
        top = c
        while top.parent_id:
            top = by_id[top.parent_id]
        out.append(SelectChoice(c.id, c.name(locale), optgroup=f"{top.code}. {top.name(locale)}"))
    return out


def _certificate_details(form) -> CertificateDetails:
    return CertificateDetails(
        stars=form.stars.data,
        decision_number=form.decision_number.data or "",
        decision_date=form.decision_date.data,
        issuing_level=form.issuing_level.data or "",
        issuing_province_id=getattr(form, "issuing_province_id", None) and form.issuing_province_id.data,
    )


# --- applying to sell ------------------------------------------------------------------------


def _fill_apply_choices(form: ApplyForm) -> None:
    fill_places(form)  # the address book's province -> ward selects, with or without address.js
    form.category_id.choices = _category_choices()


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
            services.apply_to_sell(
                current_user.id,
                ProducerDetails(
                    name=form.name.data,
                    owner_type=form.owner_type.data,
                    tax_code=form.tax_code.data,
                    province_id=form.province_id.data,
                    ward_id=form.ward_id.data,
                    address=form.address.data,
                    phone=form.phone.data,
                    email=form.email.data,
                    story=form.story.data or "",
                ),
                BankDetails(form.bank_bin.data, form.bank_account_name.data, form.bank_account_number.data),
                form.product_name.data,
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
        certificates=services.list_certificates(_pid()),
        expiry=certificate_expiry,
    )


# --- products and stock ---------------------------------------------------------------------


def _products_page(stock_errors: dict | None = None, status: int = 200):
    return render_template(
        "portal/catalog/products.html",
        products=services.list_products(_pid()),
        form=ActionForm(formdata=None),
        stock_errors=stock_errors or {},
    ), status


@bp.get("/san-pham")
@producer_required
def products():
    return _products_page()


def _fill_product_choices(form: ProductForm) -> None:
    form.category_id.choices = _category_choices()
    form.province_id.choices = _province_choices(_("— Chọn tỉnh/thành phố —"))


def _product_details(form: ProductForm) -> ProductDetails:
    return ProductDetails(
        name=form.name.data,
        name_en=form.name_en.data or "",
        category_id=form.category_id.data,
        province_id=form.province_id.data,
        description=form.description.data or "",
        status=form.status.data or "draft",
    )


@bp.route("/san-pham/them", methods=["GET", "POST"])
@producer_required
def product_new():
    form = ProductForm()
    if request.method == "GET":
        form.province_id.data = g.producer.province_id
    _fill_product_choices(form)
    if form.validate_on_submit():
        try:
            product_id = services.create_product(_pid(), _product_details(form))
        except PortalError as err:
            form_error(form, err)
        else:
            flash(_("Đã tạo sản phẩm. Thêm phân loại, giá và ảnh để đăng bán."), "success")
            return redirect(url_for(".product", product_id=product_id))
    return render_template("portal/catalog/product_form.html", form=form, product=None)


@bp.get("/san-pham/<int:product_id>")
@producer_required
def product(product_id: int):
    return _product_page(services.get_product(_pid(), product_id))


def _product_page(item, images_form=None, status: int = 200, stock_errors: dict | None = None):
    return render_template(
        "portal/catalog/product.html",
        product=item,
        form=ActionForm(formdata=None),
        images_form=images_form or ImagesForm(formdata=None),
        max_images=services.MAX_IMAGES_PER_PRODUCT,
        stock_errors=stock_errors or {},
    ), status


@bp.route("/san-pham/<int:product_id>/sua", methods=["GET", "POST"])
@producer_required
def product_edit(product_id: int):
    item = services.get_product(_pid(), product_id)
    form = ProductForm(obj=item)
    _fill_product_choices(form)
    if form.validate_on_submit():
        try:
            services.update_product(_pid(), item.id, _product_details(form))
        except PortalError as err:
            form_error(form, err)
        else:
            flash(_("Đã lưu sản phẩm."), "success")
            return redirect(url_for(".product", product_id=item.id))
    return render_template("portal/catalog/product_form.html", form=form, product=item)


@bp.post("/san-pham/<int:product_id>/trang-thai")
@producer_required
def product_status(product_id: int):
    _check_csrf()
    status = request.form.get("status", "")
    try:
        services.set_product_status(_pid(), product_id, status)
    except PortalError as err:
        flash(err.message, "error")
    else:
        messages = {
            "published": _("Sản phẩm đã được đăng bán."),
            "draft": _("Sản phẩm đã chuyển về bản nháp (không hiển thị)."),
            "archived": _("Sản phẩm đã ngừng bán."),
        }
        flash(messages[status], "success")
    return redirect(url_for(".product", product_id=product_id))


@bp.post("/phan-loai/<int:variant_id>/ton-kho")
@producer_required
def variant_stock(variant_id: int):
    """Inline stock edit from the product list (or a product's page)."""
    form = StockForm()
    variant = services.get_variant(_pid(), variant_id)  # 404 before anything else
    message, large = None, False
    if form.validate_on_submit():
        try:
            services.set_stock(_pid(), variant.id, form.stock.data, request.form.get("confirm_large") == "1")
        except PortalError as err:
            message = err.message
            large = err.code == "large_stock_unconfirmed"
    else:
        message = " ".join(str(e) for e in form.stock.errors) or _("Không lưu được, hãy thử lại.")
    if message is None:
        flash(_("Đã lưu tồn kho “%(label)s”: %(n)s.", label=variant.label, n=variant.stock), "success")
        return redirect(_back(url_for(".products")) + f"#v-{variant.id}")
    errors = {variant.id: (message, request.form.get("stock", ""), large)}
    if request.form.get("from") == "product":
        return _product_page(services.get_product(_pid(), variant.product_id), status=400, stock_errors=errors)
    return _products_page(errors, 400)


# --- variants -------------------------------------------------------------------------------


def _variant_details(form: VariantForm) -> VariantDetails:
    return VariantDetails(
        sku=form.sku.data or "",
        label=form.label.data or "",
        price=form.price.data,
        weight_grams=form.weight_grams.data,
        stock=form.stock.data,
        barcode=form.barcode.data or "",
        large_stock_confirmed=request.form.get("confirm_large") == "1",
    )


@bp.route("/san-pham/<int:product_id>/phan-loai/them", methods=["GET", "POST"])
@producer_required
def variant_new(product_id: int):
    item = services.get_product(_pid(), product_id)
    form = VariantForm()
    large = False
    if form.validate_on_submit():
        try:
            services.add_variant(_pid(), item.id, _variant_details(form))
        except PortalError as err:
            form_error(form, err)
            large = err.code == "large_stock_unconfirmed"
        else:
            flash(_("Đã thêm phân loại."), "success")
            return redirect(url_for(".product", product_id=item.id))
    return render_template("portal/catalog/variant_form.html", form=form, product=item, variant=None, large_stock=large)


@bp.route("/phan-loai/<int:variant_id>/sua", methods=["GET", "POST"])
@producer_required
def variant_edit(variant_id: int):
    variant = services.get_variant(_pid(), variant_id)
    form = VariantForm(obj=variant)
    large = False
    if form.validate_on_submit():
        try:
            services.update_variant(_pid(), variant.id, _variant_details(form))
        except PortalError as err:
            form_error(form, err)
            large = err.code == "large_stock_unconfirmed"
        else:
            flash(_("Đã lưu phân loại."), "success")
            return redirect(url_for(".product", product_id=variant.product_id))
    return render_template(
        "portal/catalog/variant_form.html", form=form, product=variant.product, variant=variant, large_stock=large
    )


@bp.post("/phan-loai/<int:variant_id>/xoa")
@producer_required
def variant_delete(variant_id: int):
    _check_csrf()
    variant = services.get_variant(_pid(), variant_id)
    product_id, label = variant.product_id, variant.label
    try:
        services.delete_variant(_pid(), variant.id)
    except PortalError as err:
        flash(err.message, "error")
    else:
        flash(_("Đã xóa phân loại “%(label)s”.", label=label), "info")
    return redirect(url_for(".product", product_id=product_id))


# --- photos -------------------------------------------------------------------------------------


@bp.post("/san-pham/<int:product_id>/anh")
@producer_required
def image_upload(product_id: int):
    item = services.get_product(_pid(), product_id)
    form = ImagesForm()
    if not form.validate_on_submit():
        abort(400)
    uploads = [u for u in (_upload(f) for f in request.files.getlist(form.images.name)) if u is not None]
    try:
        result = services.add_images(_pid(), item.id, uploads)
    except PortalError as err:
        form_error(form, err)
        return _product_page(services.get_product(_pid(), item.id), images_form=form, status=400)
    flash(_("Đã thêm %(n)d ảnh.", n=result.added), "success")
    for name, why in result.rejected:
        flash(_("Không nhận ảnh %(name)s: %(why)s", name=name, why=why), "error")
    return redirect(url_for(".product", product_id=item.id) + "#anh")


@bp.post("/anh/<int:image_id>/di-chuyen")
@producer_required
def image_move(image_id: int):
    form = MoveImageForm()
    if not form.validate_on_submit():
        abort(400)
    product_id = services.move_image(_pid(), image_id, form.direction.data)
    return redirect(url_for(".product", product_id=product_id) + "#anh")


@bp.post("/anh/<int:image_id>/xoa")
@producer_required
def image_delete(image_id: int):
    _check_csrf()
    product_id = services.delete_image(_pid(), image_id)
    flash(_("Đã xóa ảnh."), "info")
    return redirect(url_for(".product", product_id=product_id) + "#anh")


# --- certificates -----------------------------------------------------------------------------


@bp.get("/giay-chung-nhan")
@producer_required
def certificates():
    return render_template(
        "portal/catalog/certificates.html", certificates=services.list_certificates(_pid()), expiry=certificate_expiry
    )


@bp.route("/giay-chung-nhan/them", methods=["GET", "POST"])
@producer_required
def certificate_new():
    form = CertificateForm()
    if request.method == "GET" and parse_int(request.args.get("san-pham"), minimum=1):
        form.product_id.data = parse_int(request.args["san-pham"])
    form.product_id.choices = [SelectChoice("", _("— Chọn sản phẩm —"))] + [
        SelectChoice(i, name) for i, name in services.product_choices(_pid())
    ]
    form.issuing_province_id.choices = _province_choices(_("— Tỉnh của cơ sở —"))
    if form.validate_on_submit():
        try:
            services.add_certificate(
                _pid(), form.product_id.data, _certificate_details(form), _upload(form.document.data)
            )
        except PortalError as err:
            form_error(form, err)
        else:
            flash(_("Đã gửi giấy chứng nhận. Sao OCOP sẽ hiển thị sau khi được xác minh."), "success")
            return redirect(url_for(".certificates"))
    return render_template("portal/catalog/certificate_form.html", form=form)


# --- members ----------------------------------------------------------------------------------


def _members_page(form: InviteForm | None = None, status: int = 200):
    return render_template(
        "portal/catalog/members.html",
        members=services.list_members(_pid()),
        invites=services.pending_invites(_pid()),
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
            created = services.invite_staff(_pid(), current_user.id, form.email.data)
        except PortalError as err:
            form_error(form, err)
        else:
            link = url_for(".accept_invite", token=created.token, _external=True)
            flash(_("Đã gửi lời mời tới %(email)s.", email=form.email.data.strip()), "success")
            flash(_("Bạn cũng có thể gửi liên kết này qua Zalo (dùng được 7 ngày): %(link)s", link=link), "info")
            return redirect(url_for(".members"))
    return _members_page(form, 400)


@bp.post("/thanh-vien/<int:member_id>/xoa")
@producer_required(owner=True)
def member_remove(member_id: int):
    _check_csrf()
    try:
        services.remove_member(_pid(), member_id)
    except PortalError as err:
        flash(err.message, "error")
    else:
        flash(_("Đã xóa thành viên."), "info")
    return redirect(url_for(".members"))


@bp.post("/thanh-vien/loi-moi/<int:invite_id>/huy")
@producer_required(owner=True)
def member_invite_revoke(invite_id: int):
    _check_csrf()
    services.revoke_invite(_pid(), invite_id)
    flash(_("Đã hủy lời mời."), "info")
    return redirect(url_for(".members"))


@bp.route("/moi/<token>", methods=["GET", "POST"])
@login_required
def accept_invite(token: str):
    """The link in an invitation e-mail: the invited person confirms with a button
    (a POST, so mail scanners opening the link do not use it up)."""
    form = ActionForm()
    try:
        invite = services.invite_for_token(token)
        if form.validate_on_submit():
            producer_id = services.accept_invite(token, current_user.id)
        else:
            return render_template("portal/catalog/invite.html", invite=invite, form=form)
    except PortalError as err:
        return render_template("portal/catalog/invite.html", invite=None, message=err.message, form=form), 400
    session["portal_producer_id"] = producer_id  # act for the shop just joined
    flash(_("Bạn đã tham gia quản lý gian hàng."), "success")
    return redirect(url_for(".products"))


# --- settings -----------------------------------------------------------------------------------


@bp.route("/cai-dat", methods=["GET", "POST"])
@producer_required
def settings():
    form = ShopSettingsForm(obj=g.producer)
    if form.validate_on_submit():
        try:
            services.update_free_shipping(_pid(), form.free_shipping_threshold.data)
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
            services.update_bank(
                _pid(), BankDetails(form.bank_bin.data, form.bank_account_name.data, form.bank_account_number.data)
            )
        except PortalError as err:
            form_error(form, err)
        else:
            flash(_("Đã lưu tài khoản ngân hàng."), "success")
            return redirect(url_for(".settings"))
    return render_template("portal/catalog/bank.html", form=form)

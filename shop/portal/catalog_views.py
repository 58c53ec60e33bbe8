"""Portal pages for the catalog: products, variants, stock and photos.

Views are thin: they read the form, call one service with plain values and
render or redirect. Every id in a URL is looked up through the producer the
user acts for (`producer_ids()`), so another producer's id is a 404.
"""

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from shop.accounts.forms import ActionForm
from shop.accounts.views import form_error  # shows a service's refusal by its field; PortalError has one too
from shop.portal import bp, catalog_services
from shop.portal.access import producer_required
from shop.portal.catalog_services import ProductDetails, VariantDetails
from shop.portal.common_views import _back, _category_choices, _check_csrf, _pid, _province_choices, _upload
from shop.portal.forms import (
    ImagesForm,
    MoveImageForm,
    ProductForm,
    StockForm,
    VariantForm,
)
from shop.portal.inputs import PortalError


def _products_page(stock_errors: dict | None = None, status: int = 200):
    return render_template(
        "portal/catalog/products.html",
        products=catalog_services.list_products(_pid()),
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
        name=form.name.data or "",
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
            product_id = catalog_services.create_product(_pid(), _product_details(form))
        except PortalError as err:
            form_error(form, err)
        else:
            flash(_("Đã tạo sản phẩm. Thêm phân loại, giá và ảnh để đăng bán."), "success")
            return redirect(url_for(".product", product_id=product_id))
    return render_template("portal/catalog/product_form.html", form=form, product=None)


@bp.get("/san-pham/<int:product_id>")
@producer_required
def product(product_id: int):
    return _product_page(catalog_services.get_product(_pid(), product_id))


def _product_page(item, images_form=None, status: int = 200, stock_errors: dict | None = None):
    return render_template(
        "portal/catalog/product.html",
        product=item,
        form=ActionForm(formdata=None),
        images_form=images_form or ImagesForm(formdata=None),
        max_images=catalog_services.MAX_IMAGES_PER_PRODUCT,
        stock_errors=stock_errors or {},
    ), status


@bp.route("/san-pham/<int:product_id>/sua", methods=["GET", "POST"])
@producer_required
def product_edit(product_id: int):
    item = catalog_services.get_product(_pid(), product_id)
    form = ProductForm(obj=item)
    _fill_product_choices(form)
    if form.validate_on_submit():
        try:
            catalog_services.update_product(_pid(), item.id, _product_details(form))
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
        catalog_services.set_product_status(_pid(), product_id, status)
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
    variant = catalog_services.get_variant(_pid(), variant_id)  # 404 before anything else
    message, large = None, False
    if form.validate_on_submit():
        try:
            catalog_services.set_stock(_pid(), variant.id, form.stock.data, request.form.get("confirm_large") == "1")
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
        return _product_page(catalog_services.get_product(_pid(), variant.product_id), status=400, stock_errors=errors)
    return _products_page(errors, 400)


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
    item = catalog_services.get_product(_pid(), product_id)
    form = VariantForm()
    large = False
    if form.validate_on_submit():
        try:
            catalog_services.add_variant(_pid(), item.id, _variant_details(form))
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
    variant = catalog_services.get_variant(_pid(), variant_id)
    form = VariantForm(obj=variant)
    large = False
    if form.validate_on_submit():
        try:
            catalog_services.update_variant(_pid(), variant.id, _variant_details(form))
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
    variant = catalog_services.get_variant(_pid(), variant_id)
    product_id, label = variant.product_id, variant.label
    try:
        catalog_services.delete_variant(_pid(), variant.id)
    except PortalError as err:
        flash(err.message, "error")
    else:
        flash(_("Đã xóa phân loại “%(label)s”.", label=label), "info")
    return redirect(url_for(".product", product_id=product_id))


@bp.post("/san-pham/<int:product_id>/anh")
@producer_required
def image_upload(product_id: int):
    item = catalog_services.get_product(_pid(), product_id)
    form = ImagesForm()
    if not form.validate_on_submit():
        abort(400)
    uploads = [u for u in (_upload(f) for f in request.files.getlist(form.images.name)) if u is not None]
    try:
        result = catalog_services.add_images(_pid(), item.id, uploads)
    except PortalError as err:
        form_error(form, err)
        return _product_page(catalog_services.get_product(_pid(), item.id), images_form=form, status=400)
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
    product_id = catalog_services.move_image(_pid(), image_id, form.direction.data)
    return redirect(url_for(".product", product_id=product_id) + "#anh")


@bp.post("/anh/<int:image_id>/xoa")
@producer_required
def image_delete(image_id: int):
    _check_csrf()
    product_id = catalog_services.delete_image(_pid(), image_id)
    flash(_("Đã xóa ảnh."), "info")
    return redirect(url_for(".product", product_id=product_id) + "#anh")

"""Console pages for the catalog: product moderation (/ops/san-pham) and the
category tree (/ops/danh-muc). A refusal is shown next to the form that caused
it, with a 400; an unknown row is a 404."""

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.3; types-wtforms 3.2 lacks it

from shop.catalog.models import PRODUCT_STATUSES
from shop.errors import NotFound, ShopError
from shop.operator import bp
from shop.operator import catalog_services as admin
from shop.operator.forms import (
    CategoryAddForm,
    CategoryDeleteForm,
    CategoryMoveForm,
    CategoryNamesForm,
    CategoryOrderForm,
    KeyedForm,
    TakeDownForm,
    keyed,
    show_error,
)

STATUS_LABELS = {"draft": _l("Bản nháp"), "published": _l("Đang bán"), "archived": _l("Ngừng bán")}
LEVEL_LABELS = {1: _l("Nhóm"), 2: _l("Phân nhóm"), 3: _l("Bộ sản phẩm")}


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None


def _yes_no_arg(name: str) -> bool | None:
    return {"1": True, "0": False}.get(request.args.get(name, ""))


def _as_int(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None


# --- products --------------------------------------------------------------------------


def _product_query() -> admin.ProductQuery:
    status = request.args.get("status") or None
    return admin.ProductQuery(
        q=request.args.get("q", "").strip()[:100],
        producer_id=_int_arg("producer"),
        status=status if status in PRODUCT_STATUSES else None,
        listed=_yes_no_arg("listed"),
        moderated=_yes_no_arg("moderated"),
        page=_int_arg("page") or 1,
    )


def _products_page(errors: dict | None = None, status: int = 200, posted: tuple | None = None):
    """The product table; `errors` maps a product id to the refusal shown on its row,
    `posted` is (product id, form) of a refused take-down, shown again as typed."""
    query = _product_query()
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "operator/products.html",
        query=query,
        result=admin.search_products(query),
        producers=admin.producer_choices(),
        status_labels=STATUS_LABELS,
        statuses=PRODUCT_STATUSES,
        args=args,
        errors=errors or {},
        take_down_form=keyed(TakeDownForm, posted),
        summary=[(message, f"sp-{pid}") for pid, message in (errors or {}).items()],
    ), status


@bp.get("/san-pham", endpoint="products")
def products():
    return _products_page()


def _back_to_products():
    # The filters travel in the form's action URL, so the operator returns to the same list.
    filters: dict[str, Any] = request.args.to_dict()
    return redirect(url_for(".products", **filters), code=303)


@bp.post("/san-pham/<int:product_id>/go", endpoint="product_unpublish")
def product_unpublish(product_id: int):
    form = TakeDownForm()
    try:
        admin.unpublish_product(current_user.id, product_id, form.reason.data or "")
    except NotFound:
        raise
    except ShopError as err:
        show_error(form, getattr(err, "field", None) or "reason", err.message)
        return _products_page({product_id: err.message}, 400, (product_id, form))
    flash(_("Đã gỡ sản phẩm khỏi chợ. Nhà sản xuất sẽ nhận được lý do."), "success")
    return _back_to_products()


@bp.post("/san-pham/<int:product_id>/cho-phep", endpoint="product_allow")
def product_allow(product_id: int):
    try:
        admin.allow_product(current_user.id, product_id)
    except NotFound:
        raise
    except ShopError as err:
        return _products_page({product_id: err.message}, 400)
    flash(_("Đã cho phép bán lại. Sản phẩm hiện lên chợ nếu đang được đăng bán."), "success")
    return _back_to_products()


# --- categories -----------------------------------------------------------------------------


def _categories_page(status: int = 200, summary: list | None = None, posted: tuple | None = None):
    """The tree. `posted` is (key, form) of a refused change, shown again where it was
    typed, its message in that form; every other form shows the saved values."""
    parents = admin.parent_choices()
    choices = [SelectChoice("", _("— Làm nhóm cấp 1 —"))] + [
        SelectChoice(str(pid), ("— " if level == 2 else "") + name) for pid, name, level in parents
    ]
    offered = {choice.value for choice in choices}
    make_move_form = keyed(CategoryMoveForm, posted)

    def move_form(key, prefix: str, **saved):
        form = make_move_form(key, prefix, **saved)
        form.parent_id.choices = choices
        if form.parent_id.data not in offered:  # a refused parent the list does not offer: show the saved one
            form.parent_id.data = saved.get("parent_id", "")
        return form

    return render_template(
        "operator/categories.html",
        tree=admin.category_tree(),
        level_labels=LEVEL_LABELS,
        summary=summary or [],
        names_form=keyed(CategoryNamesForm, posted),
        order_form=keyed(CategoryOrderForm, posted),
        move_form=move_form,
        delete_form=keyed(CategoryDeleteForm, posted),
    ), status


@bp.get("/danh-muc", endpoint="categories")
def categories():
    return _categories_page()


def _category_action(key, action, done: str, form: KeyedForm):
    """Run one change of the tree; a refusal is shown at the top of the page and in
    the form `key` names (when the page has that form), beside the field it is about."""
    try:
        action()
    except NotFound:
        raise
    except ShopError as err:
        anchor = f"dm-{key[1]}" if key[1] else ""
        show_error(form, getattr(err, "field", None), err.message)
        return _categories_page(400, [(err.message, anchor)], (key, form))
    flash(done, "success")
    return redirect(url_for(".categories", _anchor=request.form.get("anchor") or None), code=303)


@bp.post("/danh-muc/them", endpoint="category_add")
def category_add():
    form = CategoryAddForm()
    raw_parent = (form.parent_id.data or "").strip()
    parent_id = _as_int(raw_parent)
    if raw_parent and parent_id is None:  # "²", "abc", 40 digits: no category, never the top level
        raise NotFound(_("Không tìm thấy danh mục."))
    return _category_action(
        ("add", parent_id or 0),
        lambda: admin.add_category(current_user.id, parent_id, form.name_vi.data or "", form.name_en.data or ""),
        _("Đã thêm danh mục."),
        form,
    )


@bp.post("/danh-muc/<int:category_id>/doi-ten", endpoint="category_rename")
def category_rename(category_id: int):
    form = CategoryNamesForm()
    return _category_action(
        ("rename", category_id),
        lambda: admin.rename_category(current_user.id, category_id, form.name_vi.data or "", form.name_en.data or ""),
        _("Đã đổi tên danh mục."),
        form,
    )


@bp.post("/danh-muc/<int:category_id>/thu-tu", endpoint="category_reorder")
def category_reorder(category_id: int):
    form = CategoryOrderForm()
    return _category_action(
        ("order", category_id),
        lambda: admin.reorder_category(current_user.id, category_id, form.direction.data or ""),
        _("Đã đổi thứ tự."),
        form,
    )


@bp.post("/danh-muc/<int:category_id>/chuyen", endpoint="category_move")
def category_move(category_id: int):
    form = CategoryMoveForm()
    return _category_action(
        ("move", category_id),
        lambda: admin.move_category(current_user.id, category_id, _as_int(form.parent_id.data)),
        _("Đã chuyển danh mục."),
        form,
    )


@bp.post("/danh-muc/<int:category_id>/xoa", endpoint="category_delete")
def category_delete(category_id: int):
    return _category_action(
        ("delete", category_id),
        lambda: admin.delete_category(current_user.id, category_id),
        _("Đã xoá danh mục."),
        CategoryDeleteForm(),
    )

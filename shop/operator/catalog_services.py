"""Operator use cases on the catalog: taking a product down (and allowing it
back), and editing the OCOP category tree.

Each use case takes plain values, writes its audit entry in the same
transaction and commits once; what shoppers see changes at once because the
commit purges the cached pages showing what changed (shop.catalog.changes)."""

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import selectinload

from shop.audit.services import record, snapshot
from shop.catalog.models import PRODUCT_STATUSES, Category, Product, Variant
from shop.catalog.services import commit_catalog_change, refresh_products
from shop.errors import NotFound, ShopError
from shop.extensions import db
from shop.formatting import utcnow
from shop.ledger.models import CommissionOverride
from shop.notifications.services import _producer_recipients, queue_email
from shop.operator.inputs import InputError
from shop.paging import Page, counted, page_count
from shop.producers.models import Producer
from shop.text import fold, slugify
from shop.urls import absolute_url

PER_PAGE = 30
MAX_LEVEL = 3
_MODERATION_FIELDS = ("status", "listed", "moderation_reason")
_CATEGORY_FIELDS = ("parent_id", "level", "code", "slug", "name_vi", "name_en", "position")


def _reason(raw: str | None) -> str:
    reason = (raw or "").strip()
    if not reason:
        raise InputError(_("Nhập lý do: nhà sản xuất sẽ đọc lý do này."), field="reason", code="reason_required")
    return reason[:2000]


# --- products -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductQuery:
    q: str = ""
    producer_id: int | None = None
    status: str | None = None  # one of PRODUCT_STATUSES
    listed: bool | None = None
    moderated: bool | None = None
    page: int = 1


def search_products(query: ProductQuery, per_page: int = PER_PAGE) -> Page[Product]:
    """Products matching the operator's filters, newest first. The text matches the
    name without tone marks, or a SKU exactly."""
    conds = []
    text = fold(query.q or "").strip()
    if text:
        sku = (query.q or "").strip()
        conds.append(
            or_(
                Product.search_name.contains(text, autoescape=True),
                exists().where(Variant.product_id == Product.id, func.upper(Variant.sku) == sku.upper()),
            )
        )
    if query.producer_id is not None:
        conds.append(Product.producer_id == query.producer_id)
    if query.status in PRODUCT_STATUSES:
        conds.append(Product.status == query.status)
    if query.listed is not None:
        conds.append(Product.listed.is_(query.listed))
    if query.moderated is True:
        conds.append(Product.moderation_reason != "")
    elif query.moderated is False:
        conds.append(Product.moderation_reason == "")
    total = db.session.scalar(select(func.count(Product.id)).where(*conds)) or 0
    page = min(max(query.page, 1), page_count(total, per_page))
    items = list(
        db.session.scalars(
            select(Product)
            .where(*conds)
            .options(selectinload(Product.producer), selectinload(Product.province), selectinload(Product.category))
            .order_by(Product.created_at.desc(), Product.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return counted(items, page, total, per_page)


def producer_choices() -> list[tuple[int, str]]:
    """(id, name) of every producer that has products, by name."""
    return list(
        db.session.execute(
            select(Producer.id, Producer.name)
            .where(exists().where(Product.producer_id == Producer.id))
            .order_by(Producer.name, Producer.id)
        ).tuples()
    )


def _product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound(_("Không tìm thấy sản phẩm."))
    return product


def notify_product_moderated(product: Product) -> None:
    """Tell the producer's people that their product was taken down, and why (no commit)."""
    link = (
        absolute_url("portal.product", product_id=product.id) if "portal.product" in current_app.view_functions else ""
    )
    for email, locale in _producer_recipients(product.producer):
        queue_email(
            "product_moderated",
            f"product_moderated:{product.id}:{utcnow().isoformat()}:{email}"[:160],
            email,
            locale,
            "product_moderated",
            lambda: _("Sản phẩm của bạn đã bị gỡ khỏi Chợ OCOP"),
            product=product,
            link=link,
        )


def unpublish_product(actor_id: int, product_id: int, reason: str) -> None:
    """Take a product off the storefront with a reason the producer reads in the
    portal and by e-mail. The producer cannot publish it again until an operator
    allows it (`allow_product`)."""
    reason = _reason(reason)
    product = _product(product_id)
    if product.moderation_reason:
        raise ShopError(_("Sản phẩm này đã bị gỡ. Cho phép bán lại trước khi gỡ với lý do khác."), code="moderated")
    before = snapshot(product, _MODERATION_FIELDS)
    product.moderation_reason = reason
    refresh_products([product.id])
    record(
        actor_id,
        "product.unpublish",
        "product",
        product.id,
        label=product.name,
        reason=reason,
        before=before,
        after=snapshot(product, _MODERATION_FIELDS),
    )
    notify_product_moderated(product)
    db.session.commit()


def allow_product(actor_id: int, product_id: int) -> None:
    """Clear a take-down: the product is listed again if it is published and its
    producer approved; otherwise the producer may publish it again."""
    product = _product(product_id)
    if not product.moderation_reason:
        raise ShopError(_("Sản phẩm này không bị gỡ."), code="not_moderated")
    before = snapshot(product, _MODERATION_FIELDS)
    product.moderation_reason = ""
    refresh_products([product.id])
    record(
        actor_id,
        "product.allow",
        "product",
        product.id,
        label=product.name,
        before=before,
        after=snapshot(product, _MODERATION_FIELDS),
    )
    db.session.commit()


# --- category tree --------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryNode:
    category: Category
    children: list["CategoryNode"]
    product_count: int  # products in this category itself


def _all_categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.level, Category.position, Category.id)))


def category_tree() -> list[CategoryNode]:
    """The groups, each with its sub-groups and sets, in position order, with the
    number of products filed directly under each."""
    counts = dict(
        db.session.execute(select(Product.category_id, func.count(Product.id)).group_by(Product.category_id))
        .tuples()
        .all()
    )
    by_parent: dict[int | None, list[Category]] = {}
    for c in _all_categories():
        by_parent.setdefault(c.parent_id, []).append(c)

    def build(parent_id: int | None) -> list[CategoryNode]:
        return [CategoryNode(c, build(c.id), counts.get(c.id, 0)) for c in by_parent.get(parent_id, [])]

    return build(None)


def _category(category_id: int | None) -> Category:
    category = db.session.get(Category, category_id) if category_id else None
    if category is None:
        raise NotFound(_("Không tìm thấy danh mục."))
    return category


def _names(name_vi: str | None, name_en: str | None) -> tuple[str, str]:
    vi, en = (name_vi or "").strip(), (name_en or "").strip()
    if not vi:
        raise InputError(_("Nhập tên tiếng Việt."), field="name_vi", code="name_required")
    if not en:
        raise InputError(_("Nhập tên tiếng Anh."), field="name_en", code="name_required")
    if len(vi) > 200 or len(en) > 200:
        raise InputError(_("Tên dài tối đa 200 ký tự."), field="name_vi" if len(vi) > 200 else "name_en")
    return vi, en


def _check_unique_among(siblings: list[Category], vi: str, en: str, itself: int | None = None) -> None:
    """Two categories side by side with one name would read as one in the storefront's filters."""
    for other in siblings:
        if other.id == itself:
            continue
        if other.name_vi.casefold() == vi.casefold():
            raise InputError(_("Cùng cấp đã có danh mục tên “%(name)s”.", name=vi), field="name_vi", code="duplicate")
        if other.name_en.casefold() == en.casefold():
            raise InputError(_("Cùng cấp đã có danh mục tên “%(name)s”.", name=en), field="name_en", code="duplicate")


def _unique_slug(name: str) -> str:
    base = slugify(name, max_length=100) or "danh-muc"
    slug, n = base, 2
    while db.session.scalar(select(func.count(Category.id)).where(Category.slug == slug)):
        slug, n = f"{base}-{n}", n + 1
    return slug


def _siblings(parent_id: int | None) -> list[Category]:
    return list(
        db.session.scalars(
            select(Category)
            .where(Category.parent_id.is_(None) if parent_id is None else Category.parent_id == parent_id)
            .order_by(Category.position, Category.id)
        )
    )


def _next_code(parent: Category | None) -> str:
    """The parent's code and the next free number under it ("1.3" -> "1.3.5")."""
    prefix = f"{parent.code}." if parent else ""
    used = set(db.session.scalars(select(Category.code)))
    n = len(_siblings(parent.id if parent else None)) + 1
    while f"{prefix}{n}" in used:
        n += 1
    return f"{prefix}{n}"


def _descendants(category: Category) -> list[Category]:
    by_parent: dict[int | None, list[Category]] = {}
    for c in _all_categories():
        by_parent.setdefault(c.parent_id, []).append(c)
    out, stack = [], list(by_parent.get(category.id, []))
    while stack:
        c = stack.pop()
        out.append(c)
        stack.extend(by_parent.get(c.id, []))
    return out


def _products_under(categories: list[Category]) -> list[int]:
    ids = [c.id for c in categories]
    return list(db.session.scalars(select(Product.id).where(Product.category_id.in_(ids)))) if ids else []


def _finish_category_change(product_ids: list[int]) -> None:
    # Product search text holds the category names of its trail: refresh those rows.
    if product_ids:
        commit_catalog_change(product_ids)
    else:
        db.session.commit()


def add_category(actor_id: int, parent_id: int | None, name_vi: str, name_en: str) -> int:
    """A new category at the end of its parent's children (a group when there is no
    parent). The tree is at most three levels deep. Returns its id."""
    vi, en = _names(name_vi, name_en)
    parent = _category(parent_id) if parent_id else None
    level = parent.level + 1 if parent else 1
    if level > MAX_LEVEL:
        raise InputError(
            _("Danh mục chỉ có ba cấp: không thể thêm danh mục con vào một bộ sản phẩm (cấp 3)."),
            field="parent_id",
            code="too_deep",
        )
    siblings = _siblings(parent.id if parent else None)
    _check_unique_among(siblings, vi, en)
    category = Category(
        parent_id=parent.id if parent else None,
        level=level,
        code=_next_code(parent),
        slug=_unique_slug(vi),
        name_vi=vi,
        name_en=en,
        position=(max((c.position for c in siblings), default=-1) + 1),
    )
    db.session.add(category)
    db.session.flush()
    record(
        actor_id,
        "category.add",
        "category",
        category.id,
        label=vi,
        after=snapshot(category, _CATEGORY_FIELDS),
    )
    _finish_category_change([])
    return category.id


def rename_category(actor_id: int, category_id: int, name_vi: str, name_en: str) -> None:
    """Change a category's Vietnamese and English names; its address (slug) stays."""
    category = _category(category_id)
    vi, en = _names(name_vi, name_en)
    if (vi, en) == (category.name_vi, category.name_en):
        return
    _check_unique_among(_siblings(category.parent_id), vi, en, itself=category.id)
    before = snapshot(category, ("name_vi", "name_en"))
    category.name_vi, category.name_en = vi, en
    record(
        actor_id,
        "category.rename",
        "category",
        category.id,
        label=vi,
        before=before,
        after=snapshot(category, ("name_vi", "name_en")),
    )
    _finish_category_change(_products_under([category, *_descendants(category)]))


def reorder_category(actor_id: int, category_id: int, direction: str) -> None:
    """Move a category one place up or down among its siblings."""
    if direction not in ("up", "down"):
        raise ShopError(_("Hướng di chuyển không hợp lệ."), code="bad_direction")
    category = _category(category_id)
    siblings = _siblings(category.parent_id)
    i = next(n for n, c in enumerate(siblings) if c.id == category.id)
    j = i - 1 if direction == "up" else i + 1
    if not 0 <= j < len(siblings):
        raise ShopError(
            _("Danh mục đã ở đầu danh sách.") if direction == "up" else _("Danh mục đã ở cuối danh sách."),
            code="cannot_move",
        )
    before = snapshot(category, ("position",))
    siblings[i], siblings[j] = siblings[j], siblings[i]
    for position, c in enumerate(siblings):  # renumber: old rows may share a position
        c.position = position
    record(
        actor_id,
        "category.reorder",
        "category",
        category.id,
        label=category.name_vi,
        before=before,
        after=snapshot(category, ("position",)),
    )
    _finish_category_change([])


def move_category(actor_id: int, category_id: int, parent_id: int | None) -> None:
    """Put a category (with everything under it) under another parent, at the end;
    no parent makes it a group. Refused if it would sit under itself or the tree
    would get deeper than three levels."""
    category = _category(category_id)
    parent = _category(parent_id) if parent_id else None
    if (parent.id if parent else None) == category.parent_id:
        return
    below = _descendants(category)
    if parent is not None and (parent.id == category.id or parent.id in {c.id for c in below}):
        raise InputError(
            _("Không thể chuyển danh mục vào chính nó hoặc vào một danh mục con của nó."),
            field="parent_id",
            code="cycle",
        )
    new_level = parent.level + 1 if parent else 1
    height = max((c.level for c in below), default=category.level) - category.level
    if new_level + height > MAX_LEVEL:
        raise InputError(
            _("Không thể chuyển: danh mục chỉ có ba cấp, và danh mục này cùng các cấp con sẽ vượt quá ba cấp."),
            field="parent_id",
            code="too_deep",
        )
    before = snapshot(category, ("parent_id", "level", "position"))
    shift = new_level - category.level
    siblings = _siblings(parent.id if parent else None)
    category.parent_id = parent.id if parent else None
    category.level = new_level
    category.position = max((c.position for c in siblings), default=-1) + 1
    for c in below:
        c.level += shift
    record(
        actor_id,
        "category.move",
        "category",
        category.id,
        label=category.name_vi,
        before=before,
        after=snapshot(category, ("parent_id", "level", "position")),
    )
    _finish_category_change(_products_under([category, *below]))


def delete_category(actor_id: int, category_id: int) -> None:
    """Remove a category no product, sub-category or commission rate uses."""
    category = _category(category_id)
    children = db.session.scalar(select(func.count(Category.id)).where(Category.parent_id == category.id))
    if children:
        raise ShopError(
            _(
                "Không thể xoá “%(name)s”: danh mục còn %(n)s danh mục con. Hãy chuyển hoặc xoá chúng trước.",
                name=category.name_vi,
                n=children,
            ),
            code="in_use",
        )
    products = db.session.scalar(select(func.count(Product.id)).where(Product.category_id == category.id))
    if products:
        raise ShopError(
            _("Không thể xoá “%(name)s”: còn %(n)s sản phẩm thuộc danh mục này.", name=category.name_vi, n=products),
            code="in_use",
        )
    overrides = db.session.scalar(
        select(func.count(CommissionOverride.id)).where(CommissionOverride.category_id == category.id)
    )
    if overrides:
        raise ShopError(
            _(
                "Không thể xoá “%(name)s”: còn %(n)s mức hoa hồng riêng theo danh mục này.",
                name=category.name_vi,
                n=overrides,
            ),
            code="in_use",
        )
    record(
        actor_id,
        "category.delete",
        "category",
        category.id,
        label=category.name_vi,
        before=snapshot(category, _CATEGORY_FIELDS),
    )
    db.session.delete(category)
    _finish_category_change([])


def parent_choices() -> list[tuple[int, str, int]]:
    """(id, indented name, level) of categories that may take children (levels 1 and 2), in tree order."""
    out = []

    def walk(nodes: list[CategoryNode]) -> None:
        for node in nodes:
            c = node.category
            if c.level < MAX_LEVEL:
                out.append((c.id, c.name_vi, c.level))
                walk(node.children)

    walk(category_tree())
    return out

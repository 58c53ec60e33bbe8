"""Producer portal use cases: the catalog (products, variants, stock, photos).

Each takes plain values and the id of the producer it acts for, fetches every
row through that producer (another producer's id is a NotFound, i.e. a 404),
commits once, and raises PortalError (naming the form field at fault) when it
refuses. Every catalog change ends in `commit_catalog_change`, which keeps the
products' read columns and the page cache right.
"""

import secrets
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from shop.cart.models import CartLine
from shop.catalog.models import PRODUCT_STATUSES, Category, Product, ProductImage, Variant
from shop.catalog.services import commit_catalog_change
from shop.errors import NotFound, ShopError
from shop.extensions import db
from shop.inventory.services import set_variant_on_hand
from shop.portal import images
from shop.portal.files import REJECTION_MESSAGES, _new_files, _remove_files, _thumb_of, _write
from shop.portal.inputs import PortalError, Upload, _category, _long_text, _province, _text, _unique_slug, get_producer
from shop.storage import MEDIA

MAX_IMAGES_PER_PRODUCT = 12


@dataclass(frozen=True)
class ProductDetails:
    name: str
    category_id: int | None
    province_id: int | None
    description: str = ""
    status: str = "draft"
    name_en: str = ""  # optional: the name in the English storefront


@dataclass(frozen=True)
class VariantDetails:
    sku: str
    label: str
    price: int | None
    weight_grams: int | None
    stock: int | None
    barcode: str = ""
    large_stock_confirmed: bool = False  # see check_large_stock


@dataclass(frozen=True)
class ImagesAdded:
    added: int
    rejected: list[tuple[str, str]]  # (file name, why)


def leaf_categories() -> list[Category]:
    """The categories a product can sit in: the most specific ones (no children)."""
    parents = select(Category.parent_id).where(Category.parent_id.is_not(None))
    return list(
        db.session.scalars(
            select(Category).where(Category.id.not_in(parents)).order_by(Category.code, Category.position)
        )
    )


def all_categories() -> list[Category]:
    return list(db.session.scalars(select(Category)))


def get_product(producer_id: int, product_id: int) -> Product:
    product = db.session.scalars(
        select(Product)
        .where(Product.id == product_id, Product.producer_id == producer_id)
        .options(selectinload(Product.variants), selectinload(Product.images))
    ).one_or_none()
    if product is None:
        raise NotFound(_("Không tìm thấy sản phẩm."))
    return product


def get_variant(producer_id: int, variant_id: int) -> Variant:
    variant = db.session.scalars(
        select(Variant).join(Product).where(Variant.id == variant_id, Product.producer_id == producer_id)
    ).one_or_none()
    if variant is None:
        raise NotFound(_("Không tìm thấy phân loại."))
    return variant


def _image(producer_id: int, image_id: int) -> ProductImage:
    image = db.session.scalars(
        select(ProductImage).join(Product).where(ProductImage.id == image_id, Product.producer_id == producer_id)
    ).one_or_none()
    if image is None:
        raise NotFound(_("Không tìm thấy ảnh."))
    return image


def list_products(producer_id: int) -> list[Product]:
    """The producer's products, newest first, with their variants (for the stock list)."""
    return list(
        db.session.scalars(
            select(Product)
            .where(Product.producer_id == producer_id)
            .options(selectinload(Product.variants))
            .order_by(Product.status == "archived", Product.created_at.desc(), Product.id.desc())
        )
    )


def product_choices(producer_id: int) -> list[tuple[int, str]]:
    return list(
        db.session.execute(
            select(Product.id, Product.name).where(Product.producer_id == producer_id).order_by(Product.name)
        ).tuples()
    )


def _product_values(details: ProductDetails) -> dict:
    if details.status not in PRODUCT_STATUSES:
        raise PortalError(_("Chọn trạng thái."), code="invalid_status", field="status")
    return {
        "name": _text(details.name, "name", 200, _("Vui lòng nhập tên.")),
        "name_en": (details.name_en or "").strip()[:200],
        "category": _category(details.category_id),
        "province": _province(details.province_id),
        "description": _long_text(details.description, "description", 20000),
        "status": details.status,
    }


def _not_publishable(field: str | None = "status") -> PortalError:
    return PortalError(
        _("Chưa thể đăng bán: sản phẩm cần ít nhất một phân loại có giá lớn hơn 0."),
        code="not_publishable",
        field=field,
    )


def _check_publishable(product: Product, field: str | None = "status") -> None:
    if product.status == "published" and not any(v.price > 0 for v in product.variants):
        raise _not_publishable(field)


def _check_not_moderated(product: Product, status: str, field: str | None = "status") -> None:
    """A product the marketplace took down stays down until an operator allows it again."""
    if status == "published" and product.status != "published" and product.moderation_reason:
        raise PortalError(
            _(
                "Sàn đã gỡ sản phẩm này nên chưa thể đăng bán lại. Lý do: %(reason)s. "
                "Hãy sửa theo lý do này rồi liên hệ sàn để được cho phép bán lại.",
                reason=product.moderation_reason,
            ),
            code="moderated",
            field=field,
        )


def create_product(producer_id: int, details: ProductDetails) -> int:
    """A new product of the producer; it can only be published once it has a priced variant."""
    producer = get_producer(producer_id)
    values = _product_values(details)
    if values["status"] == "published":  # a new product has no variants yet
        raise _not_publishable()
    product = Product(producer=producer, slug=_unique_slug(Product, values["name"]), **values)
    db.session.add(product)
    db.session.flush()
    commit_catalog_change([product.id])
    return product.id


def update_product(producer_id: int, product_id: int, details: ProductDetails) -> None:
    """Change a product's details and status. Its address (slug) stays as it was."""
    product = get_product(producer_id, product_id)
    values = _product_values(details)
    _check_not_moderated(product, values["status"])
    for key, value in values.items():
        setattr(product, key, value)
    _check_publishable(product)
    commit_catalog_change([product.id])


def set_product_status(producer_id: int, product_id: int, status: str) -> None:
    """Publish, unpublish (draft) or archive a product."""
    product = get_product(producer_id, product_id)
    if status not in PRODUCT_STATUSES:
        raise PortalError(_("Chọn trạng thái."), code="invalid_status", field="status")
    _check_not_moderated(product, status, field=None)
    product.status = status
    _check_publishable(product, field=None)
    commit_catalog_change([product.id])


def _variant_values(v: VariantDetails) -> dict:
    sku = "".join((v.sku or "").split())
    if not sku:
        raise PortalError(_("Nhập mã SKU."), code="required", field="sku")
    if len(sku) > 64:
        raise PortalError(_("Tối đa %(n)d ký tự.", n=64), code="too_long", field="sku")
    if v.price is None or v.price < 0:
        raise PortalError(_("Giá phải là số đồng, ví dụ 120.000."), code="invalid_price", field="price")
    if v.weight_grams is None or v.weight_grams <= 0:
        raise PortalError(_("Khối lượng phải lớn hơn 0."), code="invalid_weight", field="weight_grams")
    if v.stock is None or v.stock < 0:
        raise PortalError(_("Tồn kho không được âm."), code="invalid_stock", field="stock")
    check_large_stock(v.stock, v.large_stock_confirmed)
    barcode = "".join((v.barcode or "").split())
    if len(barcode) > 32:
        raise PortalError(_("Tối đa %(n)d ký tự.", n=32), code="too_long", field="barcode")
    return {
        "sku": sku,
        "label": _text(v.label, "label", 120, _("Nhập tên phân loại, ví dụ “Hũ 500 g”.")),
        "price": v.price,
        "weight_grams": v.weight_grams,
        "stock": v.stock,
        "barcode": barcode or None,
    }


def _sku_taken(sku: str) -> PortalError:
    return PortalError(
        _("Mã SKU “%(sku)s” đã được dùng trên Chợ OCOP. Mỗi phân loại cần một mã riêng.", sku=sku),
        code="sku_taken",
        field="sku",
    )


def _check_sku(sku: str, variant_id: int | None = None) -> None:
    stmt = select(Variant.id).where(Variant.sku == sku)
    if variant_id is not None:
        stmt = stmt.where(Variant.id != variant_id)
    if db.session.scalars(stmt.limit(1)).first() is not None:
        raise _sku_taken(sku)


def _commit_variant_change(product_id: int, sku: str) -> None:
    try:
        commit_catalog_change([product_id])
    except IntegrityError:  # another form took the SKU between the check and the commit
        db.session.rollback()
        raise _sku_taken(sku) from None


def add_variant(producer_id: int, product_id: int, details: VariantDetails) -> int:
    """A new variant (SKU, price in đồng, weight, stock) of one of the producer's products.
    The SKU is unique across the marketplace."""
    product = get_product(producer_id, product_id)
    values = _variant_values(details)
    _check_sku(values["sku"])
    position = max((v.position for v in product.variants), default=-1) + 1
    variant = Variant(position=position, **values)
    product.variants.append(variant)
    _check_publishable(product, field="price")
    _commit_variant_change(product.id, values["sku"])
    return variant.id


def update_variant(producer_id: int, variant_id: int, details: VariantDetails) -> None:
    variant = get_variant(producer_id, variant_id)
    values = _variant_values(details)
    _check_sku(values["sku"], variant.id)
    for key, value in values.items():
        setattr(variant, key, value)
    _check_publishable(variant.product, field="price")
    _commit_variant_change(variant.product_id, values["sku"])


def delete_variant(producer_id: int, variant_id: int) -> None:
    """Remove a variant. Orders keep their own copy of what was bought; shoppers'
    carts simply lose the line. A published product keeps at least one priced variant."""
    variant = get_variant(producer_id, variant_id)
    product = variant.product
    remaining = [v for v in product.variants if v.id != variant.id]
    if product.status == "published" and not any(v.price > 0 for v in remaining):
        raise PortalError(
            _("Không thể xóa phân loại có giá cuối cùng của sản phẩm đang bán. Hãy ngừng bán sản phẩm trước."),
            code="last_variant",
        )
    # The cart has no use case for "this SKU is gone" yet: its lines hold a plain
    # foreign key to the variant, so they are removed with it.
    db.session.execute(delete(CartLine).where(CartLine.variant_id == variant.id))
    product.variants.remove(variant)
    commit_catalog_change([product.id])


# A count typed in the portal above this is asked about once: 999999 is far more
# often a slip of the finger than a warehouse (the API, a machine, is not asked).
LARGE_STOCK = 10_000


def check_large_stock(quantity: int, confirmed: bool) -> None:
    if quantity > LARGE_STOCK and not confirmed:
        raise PortalError(
            _(
                "Tồn kho %(n)s lớn bất thường. Kiểm tra lại số, hoặc đánh dấu ô xác nhận bên dưới rồi lưu.",
                n=f"{quantity:,}".replace(",", "."),
            ),
            code="large_stock_unconfirmed",
            field="stock",
        )


def set_stock(producer_id: int, variant_id: int, quantity: int | None, large_confirmed: bool = False) -> Variant:
    """Set the stock on hand of a variant (a count the producer just made)."""
    if quantity is None or quantity < 0:
        raise PortalError(_("Tồn kho không được âm."), code="invalid_stock", field="stock")
    if quantity > 10_000_000:
        raise PortalError(_("Số lượng quá lớn."), code="invalid_stock", field="stock")
    check_large_stock(quantity, large_confirmed)
    variant = get_variant(producer_id, variant_id)
    # The same on-hand rule, lock and partner notices as the producer API.
    try:
        set_variant_on_hand(producer_id, variant.id, quantity)
    except ShopError as err:
        raise PortalError(err.message, code=err.code, field="stock") from err
    db.session.refresh(variant)
    return variant


def add_images(producer_id: int, product_id: int, uploads: list[Upload]) -> ImagesAdded:
    """Add photos to a product, each checked by its content and re-encoded (see
    shop.portal.images). Files that are not photos are reported by name and the
    others are kept; PortalError when none could be kept."""
    product = get_product(producer_id, product_id)
    uploads = [u for u in uploads if u.filename or u.data]
    if not uploads:
        raise PortalError(_("Chọn ít nhất một ảnh."), code="no_file", field="images")
    room = MAX_IMAGES_PER_PRODUCT - len(product.images)
    if len(uploads) > room:
        raise PortalError(
            _("Mỗi sản phẩm có tối đa %(n)d ảnh; chỉ còn thêm được %(room)d ảnh.", n=MAX_IMAGES_PER_PRODUCT, room=room),
            code="too_many_images",
            field="images",
        )
    rejected: list[tuple[str, str]] = []
    accepted: list[images.ProcessedImage] = []
    for upload in uploads:
        try:
            accepted.append(images.process_product_image(upload.data))
        except images.RejectedFile as err:
            message = (
                _("Ảnh quá lớn (tối đa 20 MB).") if err.reason == "too_large" else REJECTION_MESSAGES[err.reason]()
            )
            rejected.append((upload.filename or "?", message))
    if not accepted:
        raise PortalError("; ".join(f"{name}: {why}" for name, why in rejected), code="invalid_image", field="images")
    position = max((i.position for i in product.images), default=-1) + 1
    with _new_files() as written:
        for offset, picture in enumerate(accepted):
            path = f"products/{producer_id}/{secrets.token_hex(16)}.jpg"
            _write(MEDIA, path, picture.full, written)
            _write(MEDIA, _thumb_of(path), picture.thumb, written)
            product.images.append(
                ProductImage(
                    path=path, alt=product.name, width=picture.width, height=picture.height, position=position + offset
                )
            )
        commit_catalog_change([product.id])
    return ImagesAdded(added=len(accepted), rejected=rejected)


def move_image(producer_id: int, image_id: int, direction: str) -> int:
    """Move a photo one place earlier ("up") or later ("down"); the first is the cover.
    Returns the product's id."""
    image = _image(producer_id, image_id)
    product = image.product
    order = sorted(product.images, key=lambda i: (i.position, i.id))
    index = order.index(image)
    target = index - 1 if direction == "up" else index + 1
    if 0 <= target < len(order):
        order[index], order[target] = order[target], order[index]
    for position, item in enumerate(order):
        item.position = position
    commit_catalog_change([product.id])
    return product.id


def delete_image(producer_id: int, image_id: int) -> int:
    """Remove a photo and its files; returns the product's id."""
    image = _image(producer_id, image_id)
    product_id = image.product_id
    files = [(MEDIA, image.path), (MEDIA, _thumb_of(image.path))]
    image.product.images.remove(image)
    commit_catalog_change([product_id])
    _remove_files(files)
    return product_id

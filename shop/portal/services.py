"""Producer portal use cases: applying to sell, the catalog (products, variants,
stock, photos), certificates, members and shop settings.

Each takes plain values and the id of the producer it acts for, fetches every
row through that producer (another producer's id is a NotFound, i.e. a 404),
commits once, and raises PortalError (naming the form field at fault) when it
refuses. Every catalog change ends in `commit_catalog_change`, which keeps the
products' read columns and the page cache right.

Files are written before the commit and removed again if the commit fails;
files of deleted rows are removed after it.
"""

import hashlib
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from shop.accounts.models import ProducerMember, User
from shop.accounts.phone import InvalidPhone, normalise_phone
from shop.accounts.rules import InvalidEmail, normalise_email
from shop.bank import directory
from shop.cart.models import CartLine
from shop.catalog.models import PRODUCT_STATUSES, Category, Product, ProductImage, Variant
from shop.catalog.services import commit_catalog_change
from shop.errors import NotFound, ShopError
from shop.extensions import db
from shop.formatting import today_vn, utcnow
from shop.inventory.models import ProducerInvite
from shop.inventory.services import set_variant_on_hand
from shop.notifications.services import notify_invite
from shop.places.models import Province, Ward
from shop.portal import images
from shop.portal.forms import normalise_tax_code
from shop.producers.models import ISSUING_LEVELS, OWNER_TYPES, Certificate, Producer
from shop.producers.rules import certificate_expiry
from shop.storage import CERTIFICATES, MEDIA, StorageError, storage
from shop.text import slugify

log = logging.getLogger(__name__)

MAX_IMAGES_PER_PRODUCT = 12
INVITE_MAX_AGE = timedelta(days=7)


class PortalError(ShopError):
    """A refusal about one field of a form (`field`), or the form as a whole (None)."""

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message, code=code)
        self.field = field


# --- plain values the views pass in ----------------------------------------------------


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclass(frozen=True)
class ProducerDetails:
    name: str
    owner_type: str
    tax_code: str
    province_id: int | None
    ward_id: int | None
    address: str
    phone: str
    email: str
    story: str = ""


@dataclass(frozen=True)
class BankDetails:
    bank_bin: str  # NAPAS BIN from shop/data/banks_napas.json
    account_name: str
    account_number: str


@dataclass(frozen=True)
class CertificateDetails:
    stars: int | None
    decision_number: str
    decision_date: date | None
    issuing_level: str
    issuing_province_id: int | None = None  # a province decision: the producer's province when not given


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


@dataclass(frozen=True)
class InviteCreated:
    invite_id: int
    token: str  # only ever here: the database keeps its SHA-256


# --- checks shared by the use cases -------------------------------------------------------


def _text(raw: str | None, field: str, max_length: int, message: str | None = None) -> str:
    value = " ".join((raw or "").split())
    if not value and message:
        raise PortalError(message, code="required", field=field)
    if len(value) > max_length:
        raise PortalError(_("Tối đa %(n)d ký tự.", n=max_length), code="too_long", field=field)
    return value


def _long_text(raw: str | None, field: str, max_length: int) -> str:
    value = (raw or "").replace("\r\n", "\n").strip()
    if len(value) > max_length:
        raise PortalError(_("Tối đa %(n)d ký tự.", n=max_length), code="too_long", field=field)
    return value


def _phone(raw: str) -> str:
    try:
        return normalise_phone(raw)
    except InvalidPhone:
        raise PortalError(
            _("Số điện thoại không hợp lệ (ví dụ: 0912 345 678)."), code="invalid_phone", field="phone"
        ) from None


def _email(raw: str, field: str = "email") -> str:
    try:
        return normalise_email(raw)
    except InvalidEmail:
        raise PortalError(_("Địa chỉ email không hợp lệ."), code="invalid_email", field=field) from None


def _province(province_id: int | None, field: str = "province_id") -> Province:
    province = db.session.get(Province, province_id) if province_id else None
    if province is None:
        raise PortalError(_("Chọn tỉnh/thành phố."), code="province_required", field=field)
    return province


def _ward(ward_id: int | None, province: Province) -> Ward:
    ward = db.session.get(Ward, ward_id) if ward_id else None
    if ward is None or ward.province_id != province.id:
        raise PortalError(_("Chọn phường/xã của tỉnh/thành phố đã chọn."), code="ward_required", field="ward_id")
    return ward


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


def _category(category_id: int | None, field: str = "category_id") -> Category:
    category = db.session.get(Category, category_id) if category_id else None
    has_children = category is not None and db.session.scalar(
        select(func.count()).select_from(Category).where(Category.parent_id == category.id)
    )
    if category is None or has_children:
        raise PortalError(_("Chọn nhóm sản phẩm."), code="category_required", field=field)
    return category


def _bank(bank: BankDetails) -> tuple[str, str, str, str]:
    """(BIN, bank short name, holder, account number), checked against the NAPAS directory."""
    found = directory.by_bin(bank.bank_bin)
    if found is None:
        raise PortalError(_("Chọn ngân hàng trong danh sách."), code="bad_bank", field="bank_bin")
    number = directory.normalise_account(bank.account_number)
    if not directory.valid_account(number):
        raise PortalError(
            _("Số tài khoản gồm 6 đến 19 chữ số."), code="invalid_account_number", field="bank_account_number"
        )
    typed = _text(bank.account_name, "bank_account_name", 120, _("Nhập tên chủ tài khoản."))
    holder = directory.normalise_holder(typed)
    if not directory.valid_holder(holder):
        raise PortalError(
            _("Nhập tên chủ tài khoản như ngân hàng in (chữ, số, dấu cách)."),
            code="bad_holder",
            field="bank_account_name",
        )
    return found.bin, found.short_name, holder, number


def _unique_slug(model, name: str) -> str:
    base = slugify(name, max_length=100)
    slug = base
    while db.session.scalar(select(func.count()).select_from(model).where(model.slug == slug)):
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


def _certificate_values(details: CertificateDetails, home: Province) -> dict:
    """The columns of a new certificate, checked: stars, decision, level and its expiry."""
    if details.stars not in (3, 4, 5):
        raise PortalError(_("Chọn hạng sao (3, 4 hoặc 5)."), code="invalid_stars", field="stars")
    number = _text(details.decision_number, "decision_number", 80, _("Nhập số quyết định, ví dụ 1234/QĐ-UBND."))
    if details.decision_date is None:
        raise PortalError(_("Nhập ngày ra quyết định."), code="date_required", field="decision_date")
    today = today_vn()
    if details.decision_date > today:
        raise PortalError(_("Ngày quyết định không thể ở tương lai."), code="future_date", field="decision_date")
    expires = certificate_expiry(details.decision_date)
    if expires < today:
        raise PortalError(
            _("Quyết định này đã hết hiệu lực (36 tháng). Hãy nhập quyết định công nhận lại."),
            code="expired",
            field="decision_date",
        )
    if details.issuing_level not in ISSUING_LEVELS:
        raise PortalError(_("Chọn cấp công nhận."), code="invalid_level", field="issuing_level")
    # Decision 148/QĐ-TTg: provinces rank 3 and 4 stars, the central council ranks 5.
    if (details.stars == 5) != (details.issuing_level == "central"):
        raise PortalError(
            _("Sản phẩm 5 sao do Trung ương công nhận; 3 và 4 sao do UBND tỉnh công nhận."),
            code="level_mismatch",
            field="issuing_level",
        )
    issuing_province = None
    if details.issuing_level == "province":
        issuing_province = (
            _province(details.issuing_province_id, "issuing_province_id") if details.issuing_province_id else home
        )
    return {
        "stars": details.stars,
        "decision_number": number,
        "decision_date": details.decision_date,
        "issuing_level": details.issuing_level,
        "issuing_province": issuing_province,
        "expires_on": expires,
    }


REJECTION_MESSAGES = {
    "empty": lambda: _("Tệp trống (0 byte)."),
    "too_large": lambda: _("Tệp quá lớn."),
    "too_many_pixels": lambda: _("Ảnh có độ phân giải quá lớn (tối đa 40 megapixel)."),
    "not_image": lambda: _("Không phải ảnh JPEG, PNG hoặc WebP."),
    "not_document": lambda: _("Không phải tệp PDF hoặc ảnh JPEG/PNG."),
}


def _document_ext(upload: Upload | None) -> str:
    if upload is None or not upload.filename:
        raise PortalError(
            _("Tải lên quyết định công nhận OCOP (PDF hoặc ảnh)."), code="document_required", field="document"
        )
    try:
        return images.check_document(upload.data)
    except images.RejectedFile as err:
        message = (
            _("Tệp quá lớn: quyết định tối đa 10 MB.")
            if err.reason == "too_large"
            else REJECTION_MESSAGES[err.reason]()
        )
        raise PortalError(message, code="invalid_document", field="document") from None


# --- files -----------------------------------------------------------------------------


def document_file(certificate: Certificate) -> str | None:
    """The stored name of a certificate's document, when there is one in the store."""
    if not certificate.document_path:
        return None
    return certificate.document_path if storage().exists(CERTIFICATES, certificate.document_path) else None


STORE_DOWN = _l(
    "Không lưu được tệp lúc này: kho lưu trữ tệp không phản hồi. Chưa có gì thay đổi; vui lòng thử lại sau ít phút."
)


def _write(area: str, key: str, data: bytes, written: list[tuple[str, str]]) -> None:
    try:
        storage().put(area, key, data)
    except StorageError:
        log.error("could not store %s/%s", area, key, exc_info=True)
        raise PortalError(str(STORE_DOWN), code="storage_unavailable") from None
    written.append((area, key))


@contextmanager
def _new_files() -> Iterator[list[tuple[str, str]]]:
    """Collects the files a use case stores; removes them if it fails before its commit
    ends, so a failed upload leaves neither a half-saved product nor a stray file."""
    written: list[tuple[str, str]] = []
    try:
        yield written
    except BaseException:
        db.session.rollback()
        _remove_files(written)
        raise


def _remove_files(files: list[tuple[str, str]]) -> None:
    for area, key in files:
        try:
            storage().delete(area, key)
        except StorageError:  # a file left behind costs space, not correctness
            log.warning("could not remove %s/%s", area, key, exc_info=True)


def _store_document(producer_id: int, ext: str, data: bytes, written: list[tuple[str, str]]) -> str:
    relative = f"{producer_id}/{secrets.token_hex(16)}.{ext}"
    _write(CERTIFICATES, relative, data, written)
    return relative


def _thumb_of(path: str) -> str:
    return path[: -len(".jpg")] + "-400.jpg"


# --- reads ---------------------------------------------------------------------------------


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


def list_certificates(producer_id: int) -> list[Certificate]:
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.producer_id == producer_id)
            .options(selectinload(Certificate.product), selectinload(Certificate.issuing_province))
            .order_by(Certificate.created_at.desc(), Certificate.id.desc())
        )
    )


def list_members(producer_id: int) -> list[ProducerMember]:
    return list(
        db.session.scalars(
            select(ProducerMember)
            .where(ProducerMember.producer_id == producer_id)
            .options(selectinload(ProducerMember.user))
            .order_by(ProducerMember.role, ProducerMember.created_at)  # "owner" sorts before "staff"
        )
    )


def pending_invites(producer_id: int) -> list[ProducerInvite]:
    return list(
        db.session.scalars(
            select(ProducerInvite)
            .where(
                ProducerInvite.producer_id == producer_id,
                ProducerInvite.accepted_at.is_(None),
                ProducerInvite.created_at > utcnow() - INVITE_MAX_AGE,
            )
            .order_by(ProducerInvite.created_at.desc())
        )
    )


def get_producer(producer_id: int) -> Producer:
    producer = db.session.get(Producer, producer_id)
    if producer is None:
        raise NotFound(_("Không tìm thấy cơ sở."))
    return producer


# --- applying to sell ------------------------------------------------------------------


def apply_to_sell(
    user_id: int,
    details: ProducerDetails,
    bank: BankDetails,
    product_name: str,
    category_id: int | None,
    certificate: CertificateDetails,
    document: Upload | None,
) -> int:
    """A signed-in user applies to sell: the producer (pending), the user as its
    owner, a draft product and its OCOP certificate (pending) with the decision
    document. Returns the producer's id; an operator reviews the application."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("Không tìm thấy tài khoản."))
    if db.session.scalar(select(func.count()).select_from(ProducerMember).where(ProducerMember.user_id == user_id)):
        raise PortalError(_("Tài khoản này đã thuộc một cơ sở sản xuất."), code="already_member")

    name = _text(details.name, "name", 200, _("Nhập tên HTX, doanh nghiệp hoặc hộ kinh doanh."))
    if details.owner_type not in OWNER_TYPES:
        raise PortalError(_("Chọn loại hình cơ sở."), code="invalid_owner_type", field="owner_type")
    tax_code = normalise_tax_code(details.tax_code)
    if tax_code is None:
        raise PortalError(
            _("Mã số thuế gồm 10 chữ số, hoặc 13 chữ số cho chi nhánh (ví dụ 0101234567-001)."),
            code="invalid_tax_code",
            field="tax_code",
        )
    province = _province(details.province_id)
    ward = _ward(details.ward_id, province)
    bank_bin, bank_name, account_name, account_number = _bank(bank)
    product_name = _text(product_name, "product_name", 200, _("Nhập tên sản phẩm được công nhận OCOP."))
    category = _category(category_id)
    cert_values = _certificate_values(certificate, province)
    ext = _document_ext(document)

    producer = Producer(
        slug=_unique_slug(Producer, name),
        name=name,
        owner_type=details.owner_type,
        tax_code=tax_code,
        province=province,
        ward=ward.name,
        address=_text(details.address, "address", 300, _("Nhập địa chỉ cơ sở.")),
        phone=_phone(details.phone),
        email=_email(details.email),
        story=_long_text(details.story, "story", 5000),
        bank_bin=bank_bin,
        bank_name=bank_name,
        bank_account_name=account_name,
        bank_account_number=account_number,
        status="pending",
    )
    product = Product(
        slug=_unique_slug(Product, product_name),
        name=product_name,
        status="draft",
        producer=producer,
        category=category,
        province=province,
    )
    cert = Certificate(producer=producer, product=product, state="pending", **cert_values)
    db.session.add_all([producer, ProducerMember(user=user, producer=producer, role="owner"), product, cert])
    if user.role == "shopper":
        user.role = "producer"
    with _new_files() as written:
        db.session.flush()
        cert.document_path = _store_document(producer.id, ext, document.data, written)
        commit_catalog_change([product.id])
    return producer.id


# --- catalog ------------------------------------------------------------------------------


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


# --- certificates ------------------------------------------------------------------------


def add_certificate(
    producer_id: int, product_id: int | None, details: CertificateDetails, document: Upload | None
) -> int:
    """Submit an OCOP decision for one of the producer's products; an operator
    verifies it before the product shows its stars."""
    producer = get_producer(producer_id)
    if not product_id:
        raise PortalError(_("Chọn sản phẩm."), code="product_required", field="product_id")
    product = get_product(producer_id, product_id)
    values = _certificate_values(details, producer.province)
    ext = _document_ext(document)
    cert = Certificate(producer=producer, product=product, state="pending", **values)
    db.session.add(cert)
    with _new_files() as written:
        cert.document_path = _store_document(producer.id, ext, document.data, written)
        commit_catalog_change([product.id])
    return cert.id


# --- members ---------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_staff(producer_id: int, inviter_id: int, email: str) -> InviteCreated:
    """Invite someone by e-mail to work on the shop as staff. The token goes into
    the e-mailed link; a new invitation to the same address replaces the old one."""
    producer = get_producer(producer_id)
    address = _email(email)
    already = db.session.scalar(
        select(func.count())
        .select_from(ProducerMember)
        .join(User)
        .where(ProducerMember.producer_id == producer.id, User.email == address)
    )
    if already:
        raise PortalError(
            _("%(email)s đã là thành viên của cơ sở.", email=address), code="already_member", field="email"
        )
    db.session.execute(
        delete(ProducerInvite).where(
            ProducerInvite.producer_id == producer.id,
            ProducerInvite.email == address,
            ProducerInvite.accepted_at.is_(None),
        )
    )
    token = secrets.token_urlsafe(32)
    invite = ProducerInvite(producer=producer, email=address, token_hash=_token_hash(token), invited_by_id=inviter_id)
    db.session.add(invite)
    db.session.flush()
    notify_invite(invite.id, token)  # the e-mail goes into the outbox in this transaction
    db.session.commit()
    return InviteCreated(invite_id=invite.id, token=token)


def invite_for_token(token: str) -> ProducerInvite:
    """The invitation a link is for, if it can still be used (no change)."""
    invite = db.session.scalars(
        select(ProducerInvite).where(ProducerInvite.token_hash == _token_hash(token or ""))
    ).one_or_none()
    if invite is None:
        raise PortalError(_("Lời mời không hợp lệ hoặc đã bị hủy."), code="invite_invalid")
    if invite.accepted_at is not None:
        raise PortalError(_("Lời mời này đã được dùng."), code="invite_used")
    created = invite.created_at if invite.created_at.tzinfo else invite.created_at.replace(tzinfo=UTC)  # SQLite
    if created < utcnow() - INVITE_MAX_AGE:
        raise PortalError(
            _("Lời mời đã hết hạn (sau 7 ngày). Hãy nhờ chủ cơ sở gửi lời mời mới."), code="invite_expired"
        )
    return invite


def accept_invite(token: str, user_id: int) -> int:
    """The signed-in user whose e-mail the invitation was sent to joins the producer
    as staff. Returns the producer's id."""
    invite = invite_for_token(token)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("Không tìm thấy tài khoản."))
    if user.email != invite.email:
        raise PortalError(
            _(
                "Lời mời này dành cho %(invited)s, nhưng bạn đang đăng nhập bằng %(email)s. "
                "Hãy đăng xuất rồi đăng nhập đúng tài khoản.",
                invited=invite.email,
                email=user.email,
            ),
            code="invite_wrong_user",
        )
    member = db.session.scalars(
        select(ProducerMember).where(
            ProducerMember.user_id == user.id, ProducerMember.producer_id == invite.producer_id
        )
    ).one_or_none()
    if member is None:
        db.session.add(ProducerMember(user=user, producer_id=invite.producer_id, role="staff"))
    if user.role == "shopper":
        user.role = "producer"
    invite.accepted_at = utcnow()
    try:
        db.session.commit()
    except IntegrityError:  # the same link opened twice at once: the first one counts
        db.session.rollback()
    return invite.producer_id


def revoke_invite(producer_id: int, invite_id: int) -> None:
    invite = db.session.scalars(
        select(ProducerInvite).where(ProducerInvite.id == invite_id, ProducerInvite.producer_id == producer_id)
    ).one_or_none()
    if invite is None:
        raise NotFound(_("Không tìm thấy lời mời."))
    db.session.delete(invite)
    db.session.commit()


def remove_member(producer_id: int, member_id: int) -> None:
    """Take a staff member off the shop (the owner stays)."""
    member = db.session.scalars(
        select(ProducerMember).where(ProducerMember.id == member_id, ProducerMember.producer_id == producer_id)
    ).one_or_none()
    if member is None:
        raise NotFound(_("Không tìm thấy thành viên."))
    if member.role == "owner":
        raise PortalError(_("Không thể xóa chủ cơ sở."), code="owner")
    db.session.delete(member)
    db.session.commit()


# --- settings --------------------------------------------------------------------------------


def update_bank(producer_id: int, bank: BankDetails) -> None:
    """The account payouts go to (the owner's page)."""
    producer = get_producer(producer_id)
    producer.bank_bin, producer.bank_name, producer.bank_account_name, producer.bank_account_number = _bank(bank)
    db.session.commit()


def update_free_shipping(producer_id: int, threshold: int | None) -> None:
    """Orders of at least `threshold` đồng from this shop ship free (0: every
    order); None: never."""
    if threshold is not None and threshold < 0:
        raise PortalError(_("Số tiền không được âm."), code="invalid_amount", field="free_shipping_threshold")
    producer = get_producer(producer_id)
    producer.free_shipping_threshold = threshold
    db.session.commit()  # product pages mention the shop's free-shipping offer: purged as pr:<id>

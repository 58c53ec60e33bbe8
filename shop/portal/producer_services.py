"""Producer portal use cases about the producer itself: applying to sell, bank
details and the shop's settings.
"""

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select

from shop.accounts.models import ProducerMember, User
from shop.bank import directory
from shop.catalog.models import Product
from shop.catalog.services import commit_catalog_change
from shop.errors import NotFound
from shop.extensions import db
from shop.portal.certificate_services import CertificateDetails, _certificate_values
from shop.portal.files import _checked_document, _new_files, _store_document
from shop.portal.forms import normalise_tax_code
from shop.portal.inputs import (
    PortalError,
    Upload,
    _category,
    _email,
    _long_text,
    _phone,
    _province,
    _text,
    _unique_slug,
    _ward,
    get_producer,
)
from shop.producers.models import OWNER_TYPES, Certificate, Producer


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
    ext, data = _checked_document(document)

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
        cert.document_path = _store_document(producer.id, ext, data, written)
        commit_catalog_change([product.id])
    return producer.id


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

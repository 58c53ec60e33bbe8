"""The demo marketplace: real OCOP products from public news, with illustrative
prices, stock, descriptions and locally drawn images (see shop/data/demo_catalog.json)."""

import io
import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from PIL import Image, ImageDraw
from sqlalchemy import select

from shop.accounts.models import User
from shop.accounts.services import DEMO_PASSWORD, create_user, seed_demo_users
from shop.bank.directory import banks, by_bin, normalise_holder
from shop.bank.services import configure
from shop.cache import purge_everything
from shop.catalog.models import Category, Product, ProductImage, Variant
from shop.catalog.services import refresh_products
from shop.catalog.sold import recount_sold
from shop.demo.images import draw_product_image, save_product_images
from shop.demo.orders import seed_demo_orders
from shop.extensions import db
from shop.formatting import VN_TZ, today_vn, utcnow
from shop.places.models import Province, Ward
from shop.portal import certificate_services, inputs, producer_services
from shop.producers.models import Certificate, Producer
from shop.producers.rules import certificate_expiry
from shop.promotions.models import Promotion, PromotionEnrolment, Voucher
from shop.reference import load_reference_data
from shop.settings import legal
from shop.settings.legal import operator_details
from shop.settings.services import get_int, get_text
from shop.storage import MEDIA, storage

DEMO_DATA = Path(__file__).resolve().parent.parent / "data" / "demo_catalog.json"


def seed_demo(data_path: Path = DEMO_DATA, with_images: bool = True, with_orders: bool = True) -> dict[str, int]:
    """Load the demo producers and products that are not there yet, and the demo
    orders when there are none (unless `with_orders` is false); returns counts added."""
    load_reference_data()
    data = json.loads(data_path.read_text(encoding="utf-8"))
    provinces = {p.name: p for p in db.session.scalars(select(Province))}
    categories = {c.slug: c for c in db.session.scalars(select(Category))}
    producers = {p.slug: p for p in db.session.scalars(select(Producer))}
    existing_products = set(db.session.scalars(select(Product.slug)))
    added = {"producers": 0, "products": 0, "variants": 0, "certificates": 0}

    for row in data["producers"]:
        if row["slug"] in producers:
            continue
        producer = Producer(
            slug=row["slug"],
            name=row["name"],
            owner_type=row["owner_type"],
            province=provinces[row["province"]],
            ward=row["ward"],
            address=row["address"],
            story=row["story"],
            phone=row["phone"],
            email=row["email"],
            status="approved",
        )
        db.session.add(producer)
        producers[row["slug"]] = producer
        added["producers"] += 1

    new_products = []
    for index, row in enumerate(data["products"]):
        if row["slug"] in existing_products:
            continue
        producer = producers[row["producer"]]
        product = Product(
            slug=row["slug"],
            name=row["name"],
            name_en=row.get("name_en", ""),
            description=row["description"],
            status="published",
            producer=producer,
            category=categories[row["category"]],
            province=provinces[row["province"]],
            # Spread creation times so "newest" has an order worth showing.
            created_at=utcnow().replace(microsecond=0) - timedelta(days=len(data["products"]) - index),
        )
        db.session.add(product)
        for position, v in enumerate(row["variants"]):
            product.variants.append(
                Variant(
                    sku=v["sku"],
                    label=v["label"],
                    price=int(v["price"]),
                    weight_grams=int(v["weight_grams"]),
                    stock=int(v["stock"]),
                    barcode=v.get("barcode"),
                    position=position,
                )
            )
            added["variants"] += 1
        cert = row.get("certificate")
        if cert:
            decided = date.fromisoformat(cert["decision_date"])
            db.session.add(
                Certificate(
                    producer=producer,
                    product=product,
                    stars=cert["stars"],
                    decision_number=cert["decision_number"],
                    decision_date=decided,
                    issuing_level=cert["issuing_level"],
                    issuing_province=provinces.get(cert.get("issuing_province") or ""),
                    expires_on=certificate_expiry(decided),
                    state=cert["state"],
                    verified_at=utcnow() if cert["state"] == "verified" else None,
                )
            )
            added["certificates"] += 1
        if with_images:
            for n in range(2):
                image = draw_product_image(row["motif"], (row["hue"] + 25 * n) % 360, seed=index * 7 + n)
                saved = save_product_images(image, "demo", f"{row['slug']}-{n + 1}")
                product.images.append(
                    ProductImage(
                        path=f"demo/{saved['path']}",
                        alt=row["name"],
                        width=saved["width"],
                        height=saved["height"],
                        position=n,
                    )
                )
        new_products.append(product)
        added["products"] += 1

    db.session.flush()
    refresh_products(p.id for p in new_products)
    db.session.commit()
    if data.get("operator") and not operator_details().legal_name:
        # Clearly fictitious details, so the footer and policies read as they will.
        details = dict(data["operator"])
        for name in legal.DATE_FIELDS:
            details[name] = date.fromisoformat(details[name])
        legal.update_operator_details(None, details)
    purge_everything()
    added.update(seed_demo_bank())
    added["demo logins"] = seed_demo_users()
    added["pending applications"] = seed_demo_application()
    added.update(seed_demo_promotions(with_images=with_images))
    if with_orders:  # after the promotions: the latest orders get their prices
        added["orders"] = seed_demo_orders()
    added["products with sales"] = recount_sold()  # "Đã bán N" now, not at the beat's first run
    return added


# A clearly fictitious receiving account: the demo is paid by `flask bank simulate-transfer`.
DEMO_BANK = {"bank_bin": "970436", "number": "0011001234567", "holder": "CONG TY CHO OCOP DEMO"}
# Demo producers' payout accounts (fictitious), so their statements show a VietQR.
DEMO_PRODUCER_BANKS = ("970405", "970418", "970415", "970422", "970407")


def seed_demo_bank() -> dict[str, int]:
    """Switch VietQR on with the demo receiving account (only if none is set), and
    give demo producers without one a payout account. Returns counts added."""
    added = {"bank accounts": 0}
    if not get_text("vietqr_bank_bin"):
        configure(None, enabled=True, minutes=get_int("vietqr_reservation_minutes"), **DEMO_BANK)
        added["bank accounts"] += 1
    for n, producer in enumerate(db.session.scalars(select(Producer).order_by(Producer.id))):
        if producer.bank_account_number:
            if not producer.bank_bin:
                bank = next((b for b in banks() if b.short_name.lower() in producer.bank_name.lower()), None)
                producer.bank_bin = bank.bin if bank else ""
            continue
        bin_code = DEMO_PRODUCER_BANKS[n % len(DEMO_PRODUCER_BANKS)]
        bank = by_bin(bin_code)
        if bank is None:
            raise RuntimeError(f"demo payout bank {bin_code} is not in shop/bank's NAPAS directory")
        producer.bank_bin, producer.bank_name = bank.bin, bank.short_name
        producer.bank_account_name = normalise_holder(producer.name)[:70]
        producer.bank_account_number = f"{1020304050 + producer.id * 7919}"
        added["bank accounts"] += 1
    db.session.commit()
    return added


def _draw_banner(hue: int, motifs: tuple[str, ...], seed: int):
    """A text-free 1600 × 530 banner: a warm gradient with a row of product drawings."""
    from PIL import Image

    width, height = 1600, 530
    banner = Image.new("RGB", (width, height))
    left, right = _hsl_rgb(hue, 0.75, 0.42), _hsl_rgb((hue + 30) % 360, 0.85, 0.58)
    for x in range(width):
        t = x / (width - 1)
        banner.paste(tuple(round(a + (b - a) * t) for a, b in zip(left, right, strict=True)), (x, 0, x + 1, height))
    size = 400
    for n, motif in enumerate(motifs):
        tile = draw_product_image(motif, (hue + 40 * n) % 360, seed=seed + n, size=size)
        x = width - (len(motifs) - n) * (size + 24)
        banner.paste(tile.convert("RGB"), (x, (height - size) // 2))
    return banner


def _hsl_rgb(hue: int, saturation: float, lightness: float) -> tuple[int, int, int]:
    import colorsys

    r, g, b = colorsys.hls_to_rgb(hue / 360, lightness, saturation)
    return round(r * 255), round(g * 255), round(b * 255)


def _save_banner(image, name: str) -> str:
    relative = f"promotions/demo-{name}.jpg"
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85, optimize=True, progressive=True)
    storage().put(MEDIA, relative, out.getvalue())
    return relative


def seed_demo_promotions(now: datetime | None = None, with_images: bool = True) -> dict[str, int]:
    """The demo promotion weeks (only when there are none yet) and the demo voucher
    (only when its code is free); times are relative to `now`. Returns counts added."""
    now = (now or utcnow()).replace(microsecond=0)
    added = {"promotions": 0, "enrolments": 0, "vouchers": 0}
    if db.session.scalar(select(Promotion.id).limit(1)) is None:
        provinces = {p.name: p.id for p in db.session.scalars(select(Province))}
        start_of = lambda day: datetime.combine(day, time(0, 0), tzinfo=VN_TZ).astimezone(UTC)  # noqa: E731
        today = today_vn(now)
        running = Promotion(
            slug="tuan-le-ocop-ha-noi-bac-ninh",
            name="Tuần lễ OCOP Hà Nội – Bắc Ninh",
            description=(
                "Đặc sản OCOP của Hà Nội, Bắc Ninh, Hưng Yên và Ninh Bình giảm 15%, tối đa 50.000 ₫ mỗi sản phẩm.\n"
                "Giá khuyến mãi áp dụng tự động, không cần mã."
            ),
            starts_at=start_of(today - timedelta(days=1)),
            ends_at=start_of(today + timedelta(days=6)),
            kind="percent",
            value=15,
            max_discount=50_000,
            scope={"provinces": sorted(provinces[n] for n in ("Hà Nội", "Bắc Ninh", "Hưng Yên", "Ninh Bình"))},
            invitation_only=False,
            operator_share=100,
            state="published",
        )
        upcoming = Promotion(
            slug="tuan-le-mat-ong-dac-san-vung-cao",
            name="Tuần lễ mật ong và đặc sản vùng cao",
            description=(
                "Các hợp tác xã vùng cao được mời đăng ký sản phẩm với giá ưu đãi và số suất có hạn.\n"
                "Sàn và nhà sản xuất mỗi bên chịu một nửa phần giảm giá."
            ),
            starts_at=start_of(today + timedelta(days=3)),
            ends_at=start_of(today + timedelta(days=10)),
            kind="percent",
            value=20,
            max_discount=60_000,
            scope={
                "provinces": sorted(
                    provinces[n] for n in ("Tuyên Quang", "Lào Cai", "Lạng Sơn", "Sơn La", "Thái Nguyên")
                )
            },
            invitation_only=True,
            operator_share=50,
            state="published",
        )
        if with_images:
            running.banner_path = _save_banner(_draw_banner(4, ("rice", "cake", "basket"), 11), "ha-noi-bac-ninh")
            upcoming.banner_path = _save_banner(_draw_banner(38, ("jar", "flower", "leaf"), 23), "vung-cao")
        db.session.add_all([running, upcoming])
        added["promotions"] = 2
        db.session.flush()
        variants = {
            v.sku: v for v in db.session.scalars(select(Variant).where(Variant.sku.in_(("MOHR-250", "PHOR-200"))))
        }
        honey, pollen = variants.get("MOHR-250"), variants.get("PHOR-200")
        for variant, price, quota, state in ((honey, 79_000, 20, "approved"), (pollen, 99_000, 10, "pending")):
            if variant is None:
                continue
            db.session.add(
                PromotionEnrolment(
                    promotion_id=upcoming.id,
                    producer_id=variant.product.producer_id,
                    variant_id=variant.id,
                    promo_price=price,
                    quota=min(quota, variant.stock),
                    state=state,
                    decided_at=now if state == "approved" else None,
                )
            )
            added["enrolments"] += 1
    if db.session.scalar(select(Voucher.id).where(Voucher.code == "OCOP50K")) is None:
        db.session.add(
            Voucher(
                code="OCOP50K",
                description="Giảm 50.000 ₫ cho đơn từ 300.000 ₫",
                kind="fixed",
                value=50_000,
                min_order=300_000,
                usage_limit=1_000,
                per_customer_limit=1,
                starts_at=now,
                ends_at=now + timedelta(days=30),
                scope={},
                active=True,
            )
        )
        added["vouchers"] = 1
    db.session.commit()
    purge_everything()
    return added


DEMO_APPLICANT = "ungvien@demo.ocop.vn"


def seed_demo_application() -> int:
    """One application waiting for an operator (made once, through the same
    service as the portal's form): a fictitious cooperative with a draft product
    and a pending 3-star certificate whose decision document is a drawn PDF."""
    if db.session.scalars(select(User).where(User.email == DEMO_APPLICANT)).first() is not None:
        return 0
    province = db.session.scalars(select(Province).where(Province.name == "Quảng Ninh")).one()
    ward = db.session.scalars(select(Ward).where(Ward.province_id == province.id).order_by(Ward.code).limit(1)).one()
    category = db.session.scalars(select(Category).where(Category.slug == "che-bien-tu-gao-ngu-coc")).one()
    user = create_user(DEMO_APPLICANT, "shopper", DEMO_PASSWORD, name="Ứng viên Demo")
    producer_services.apply_to_sell(
        user.id,
        producer_services.ProducerDetails(
            name="HTX Miến dong Bình Liêu (hồ sơ minh hoạ)",
            owner_type="cooperative",
            tax_code="5701234567",
            province_id=province.id,
            ward_id=ward.id,
            address="Thôn Khe Và (địa chỉ minh hoạ)",
            phone="0912 000 111",
            email=DEMO_APPLICANT,
            story="Hồ sơ minh hoạ để thử duyệt: miến dong làm từ củ dong riềng trồng tại địa phương.",
        ),
        producer_services.BankDetails("970436", "HTX MIEN DONG BINH LIEU", "0011000000001"),  # Vietcombank
        "Miến dong Bình Liêu",
        category.id,
        certificate_services.CertificateDetails(
            stars=3,
            decision_number="123/QĐ-UBND (minh hoạ)",
            decision_date=today_vn() - timedelta(days=40),
            issuing_level="province",
        ),
        inputs.Upload("quyet-dinh-ocop.pdf", _decision_pdf()),
    )
    return 1


def _decision_pdf() -> bytes:
    """A one-page PDF that reads as a sample decision (drawn, not a real document)."""
    page = Image.new("RGB", (620, 877), "white")
    draw = ImageDraw.Draw(page)
    draw.rectangle((30, 30, 590, 847), outline=(179, 38, 30), width=4)
    for y, line in enumerate(
        ("QUYET DINH CONG NHAN SAN PHAM OCOP", "(ban minh hoa cho ban demo)", "Mien dong Binh Lieu - 3 sao")
    ):
        draw.text((70, 120 + 40 * y), line, fill=(30, 30, 30))
    out = io.BytesIO()
    page.save(out, "PDF", resolution=72)
    return out.getvalue()

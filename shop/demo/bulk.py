"""A large synthetic catalog for benchmarks (`flask seed-bulk --products N`).

Rows go in with Core executemany in batches, ids assigned here so variants and
certificates can refer to their product without a round trip per row. Names,
prices, stars and provinces follow the shape of the real programme (about three
quarters 3-star, a fifth 4-star, a few 5-star)."""

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select, text

from shop.cache import purge_everything
from shop.catalog.models import Category, Product, Variant
from shop.catalog.services import search_text
from shop.demo.images import draw_product_image, save_product_images
from shop.extensions import db
from shop.formatting import today_vn, utcnow
from shop.places.models import Province
from shop.producers.models import OWNER_TYPES, Certificate, Producer
from shop.producers.rules import certificate_expiry
from shop.reference import load_reference_data
from shop.storage import MEDIA, storage
from shop.text import slugify

KINDS = [  # (Vietnamese, English, image motif, hue)
    ("Mật ong", "honey", "jar", 40),
    ("Trà", "tea", "cup", 100),
    ("Gạo", "rice", "rice", 50),
    ("Bánh", "cake", "cake", 30),
    ("Nước mắm", "fish sauce", "bottle", 200),
    ("Rượu", "rice wine", "bottle", 15),
    ("Miến", "glass noodles", "bag", 50),
    ("Cà phê", "coffee", "bag", 25),
    ("Tinh dầu", "essential oil", "bottle", 270),
    ("Giỏ mây", "rattan basket", "basket", 35),
    ("Lụa", "silk", "fabric", 300),
    ("Hoa lan", "orchid", "flower", 320),
    ("Chả cá", "fish cake", "fish", 190),
    ("Mứt", "candied fruit", "box", 10),
    ("Nấm", "mushrooms", "leaf", 90),
    ("Bưởi", "pomelo", "fruit", 60),
]
QUALIFIERS = [  # (Vietnamese, English)
    ("truyền thống", "Traditional"),
    ("hữu cơ", "Organic"),
    ("đặc sản", "Specialty"),
    ("thượng hạng", "Premium"),
    ("loại 1", "Grade 1"),
    ("gia truyền", "Heritage"),
    ("sạch", "Clean"),
    ("rừng", "Wild"),
    ("cao cấp", "Fine"),
    ("nguyên chất", "Pure"),
    ("thủ công", "Handmade"),
    ("vùng cao", "Highland"),
]
LABELS = [("Gói 250 g", 250, 1.0), ("Gói 500 g", 500, 1.8), ("Hộp 1 kg", 1000, 3.3)]
OWNER_PREFIX = {
    "cooperative": "HTX",
    "enterprise": "Công ty TNHH",
    "household": "Cơ sở",
    "cooperative_group": "Tổ hợp tác",
}
BATCH = 5000


def _image_pool(rng: random.Random) -> list[str]:
    pool = []
    for i, (_vi, _en, motif, hue) in enumerate(KINDS):
        stem = f"bulk-{i}"
        if not storage().exists(MEDIA, f"bulk/{stem}.jpg"):
            save_product_images(draw_product_image(motif, hue, seed=i), "bulk", stem)
        pool.append(f"bulk/{stem}.jpg")
    return pool


def seed_bulk(count: int, seed: int = 2025, progress: Callable[[int], None] | None = None) -> int:
    """Insert `count` synthetic published products with variants and certificates."""
    load_reference_data()
    rng = random.Random(seed)
    session = db.session
    provinces = list(session.scalars(select(Province).order_by(Province.position)))
    categories = list(session.scalars(select(Category).where(Category.level > 1)))
    images = _image_pool(rng)
    next_producer = (session.scalar(select(func.max(Producer.id))) or 0) + 1
    next_product = (session.scalar(select(func.max(Product.id))) or 0) + 1
    next_variant = (session.scalar(select(func.max(Variant.id))) or 0) + 1
    today = today_vn()
    now = utcnow()

    producers: list[dict[str, Any]] = []  # rows for insert(Producer)
    for i in range(max(1, count // 20)):
        province = provinces[i % len(provinces)]
        owner = OWNER_TYPES[i % len(OWNER_TYPES)]
        name = f"{OWNER_PREFIX[owner]} {rng.choice(QUALIFIERS)[0]} {province.name} {next_producer + i}"
        producers.append(
            {
                "id": next_producer + i,
                "slug": f"{slugify(name)}",
                "name": name,
                "owner_type": owner,
                "province_id": province.id,
                "ward": f"xã số {i % 40 + 1}",
                "address": f"thôn {i % 9 + 1}, {province.name}",
                "story": "",
                "phone": f"09{rng.randrange(10**7, 10**8)}",
                "email": "",
                "status": "approved",
                "created_at": now,
            }
        )
    for start in range(0, len(producers), BATCH):
        session.execute(insert(Producer), producers[start : start + BATCH])

    done = 0
    while done < count:
        n = min(BATCH, count - done)
        products, variants, certs = [], [], []
        for k in range(n):
            pid = next_product + done + k
            producer = producers[(done + k) % len(producers)]
            kind, kind_en, _motif, _hue = KINDS[pid % len(KINDS)]
            province = provinces[(pid * 7) % len(provinces)]
            qualifier, qualifier_en = rng.choice(QUALIFIERS)
            name = f"{kind} {qualifier} {province.name}"
            name_en = f"{qualifier_en} {kind_en} from {province.name}"
            category = categories[pid % len(categories)]
            base_price = rng.randrange(20, 600) * 1000
            stocks = [rng.choice((0, 0, 3, 12, 40, 120)) for _ in range(2)]
            stars = None
            valid_until = None
            if rng.random() < 0.7:
                stars = rng.choices((3, 4, 5), weights=(76, 23, 1))[0]
                decided = today - timedelta(days=rng.randrange(10, 1400))
                valid_until = certificate_expiry(decided)
                certs.append(
                    {
                        "producer_id": producer["id"],
                        "product_id": pid,
                        "stars": stars,
                        "decision_number": f"{rng.randrange(100, 9999)}/QĐ-UBND",
                        "decision_date": decided,
                        "issuing_level": "central" if stars == 5 else "province",
                        "issuing_province_id": None if stars == 5 else province.id,
                        "expires_on": valid_until,
                        "state": "verified",
                        "verified_at": now,
                        "rejection_reason": "",
                        "created_at": now,
                    }
                )
            skus = []
            for vi, (label, grams, factor) in enumerate(LABELS[:2]):
                sku = f"BK{pid}-{vi + 1}"
                skus.append(sku)
                variants.append(
                    {
                        "id": next_variant + (done + k) * 2 + vi,
                        "product_id": pid,
                        "sku": sku,
                        "label": label,
                        "price": int(base_price * factor) // 1000 * 1000,
                        "weight_grams": grams + 50,
                        "stock": stocks[vi],
                        "barcode": None,
                        "position": vi,
                    }
                )
            description = f"{name} do {producer['name']} sản xuất tại {province.name}."
            search_name, search_body = search_text(name, name_en, producer["name"], province.name, description, skus)
            products.append(
                {
                    "id": pid,
                    "producer_id": producer["id"],
                    "category_id": category.id,
                    "province_id": province.id,
                    "slug": f"{slugify(name)}-{pid}",
                    "name": name,
                    "name_en": name_en,
                    "description": description,
                    "status": "published",
                    "created_at": now - timedelta(minutes=count - done - k),
                    "updated_at": now,
                    # OCOP-only: on sale with a certificate valid today (the section is off).
                    "listed": valid_until is not None and valid_until >= today,
                    "owner_type": producer["owner_type"],
                    "min_price": base_price // 1000 * 1000,
                    "in_stock": any(stocks),
                    "cert_stars": stars,
                    "cert_valid_until": valid_until if stars else None,
                    "cover_image": images[pid % len(images)],
                    "search_name": search_name,
                    "search_body": search_body,
                }
            )
        session.execute(insert(Product), products)
        session.execute(insert(Variant), variants)
        if certs:
            session.execute(insert(Certificate), certs)
        session.commit()
        done += n
        if progress:
            progress(done)

    if db.engine.dialect.name == "postgresql":
        for table in ("producer", "product", "variant"):
            session.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )
        session.execute(text("ANALYZE"))
        session.commit()
    else:
        session.execute(text("ANALYZE"))
        session.commit()
    purge_everything()
    return count

"""The demo marketplace: real OCOP products from public news, with illustrative
prices, stock, descriptions and locally drawn images (see shop/data/demo_catalog.json)."""

import json
from datetime import date, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from shop.accounts.services import seed_demo_users
from shop.cache import bump_catalog_version
from shop.catalog.models import Category, Product, ProductImage, Variant
from shop.catalog.services import refresh_products
from shop.demo.images import draw_product_image, save_product_images
from shop.extensions import db
from shop.formatting import utcnow
from shop.places.models import Province
from shop.producers.models import Certificate, Producer
from shop.producers.rules import certificate_expiry
from shop.reference import load_reference_data

DEMO_DATA = Path(__file__).resolve().parent.parent / "data" / "demo_catalog.json"


def seed_demo(data_path: Path = DEMO_DATA, with_images: bool = True) -> dict[str, int]:
    """Load the demo producers and products that are not there yet; returns counts added."""
    load_reference_data()
    data = json.loads(data_path.read_text(encoding="utf-8"))
    provinces = {p.name: p for p in db.session.scalars(select(Province))}
    categories = {c.slug: c for c in db.session.scalars(select(Category))}
    producers = {p.slug: p for p in db.session.scalars(select(Producer))}
    existing_products = set(db.session.scalars(select(Product.slug)))
    media_dir = Path(current_app.config["MEDIA_DIR"]) / "demo"
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
                saved = save_product_images(image, media_dir, f"{row['slug']}-{n + 1}")
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
    bump_catalog_version()
    added["demo logins"] = seed_demo_users()
    return added

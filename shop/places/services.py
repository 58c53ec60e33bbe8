"""Loading the province list (idempotent)."""

import json
from pathlib import Path

from sqlalchemy import select

from shop.extensions import db
from shop.places.models import Province
from shop.text import slugify

DATA = Path(__file__).resolve().parent.parent / "data" / "provinces_2025.json"


def upsert_provinces() -> int:
    """Insert or update the 34 province-level units; returns how many are new (no commit)."""
    existing = {p.name: p for p in db.session.scalars(select(Province))}
    added = 0
    for position, row in enumerate(json.loads(DATA.read_text(encoding="utf-8"))["provinces"]):
        province = existing.get(row["name"])
        if province is None:
            province = Province(name=row["name"])
            db.session.add(province)
            added += 1
        province.slug = slugify(row["name"])
        province.kind = row["kind"]
        province.merged_from = ",".join(row["merged_from"])
        province.position = position
    return added

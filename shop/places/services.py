"""Loading the province and ward lists (idempotent)."""

import json
from pathlib import Path

from sqlalchemy import select

from shop.extensions import db
from shop.places.models import Province, Ward
from shop.text import slugify

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DATA = DATA_DIR / "provinces_2025.json"
REGIONS = DATA_DIR / "regions_2025.json"
WARDS = DATA_DIR / "wards_2025.json"


def upsert_provinces() -> int:
    """Insert or update the 34 province-level units and their shipping region;
    returns how many are new (no commit)."""
    existing = {p.name: p for p in db.session.scalars(select(Province))}
    regions = {
        name: region
        for region, names in json.loads(REGIONS.read_text(encoding="utf-8"))["regions"].items()
        for name in names
    }
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
        province.region = regions[row["name"]]
    return added


def wards_dataset() -> tuple[str, str]:
    """(package, version) the ward list was taken from, e.g. ("vietnamadminunits", "1.0.4")."""
    data = json.loads(WARDS.read_text(encoding="utf-8"))
    return data["package"], data["version"]


def upsert_wards() -> int:
    """Insert or update the 3,321 commune-level units, matched by their official
    code; returns how many are new (no commit; the provinces must be flushed)."""
    provinces = dict(db.session.execute(select(Province.name, Province.id)).tuples().all())
    existing = {w.code: w for w in db.session.scalars(select(Ward))}
    added = 0
    for row in json.loads(WARDS.read_text(encoding="utf-8"))["wards"]:
        province_id = provinces[row["province"]]
        ward = existing.get(row["code"])
        if ward is None:
            db.session.add(Ward(code=row["code"], name=row["name"], province_id=province_id))
            added += 1
        elif (ward.name, ward.province_id) != (row["name"], province_id):
            ward.name, ward.province_id = row["name"], province_id
    return added

import json
from pathlib import Path

from shop.catalog.services import category_rows

DATA = Path(__file__).resolve().parents[2] / "shop" / "data" / "product_groups.json"


def test_the_ocop_classification_becomes_six_groups_with_unique_slugs():
    rows = category_rows(json.loads(DATA.read_text(encoding="utf-8")))
    assert [r["slug"] for r in rows if r["level"] == 1][:2] == ["thuc-pham", "do-uong"]
    assert sum(r["level"] == 1 for r in rows) == 6
    assert len({r["slug"] for r in rows}) == len(rows)


def test_a_set_named_like_its_subgroup_gets_a_distinct_slug():
    rows = category_rows(json.loads(DATA.read_text(encoding="utf-8")))
    coffee = [r for r in rows if r["name_vi"] == "Cà phê, ca cao"]
    assert {r["slug"] for r in coffee} == {"ca-phe-ca-cao", "ca-phe-ca-cao-1-6-1"}

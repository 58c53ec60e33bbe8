"""A product page's related products: the same producer first, then the same product
group, then the same province; listed products only, at most eight."""

from flask import g

from shop.catalog.models import Product
from shop.catalog.reference import reference
from shop.catalog.related import related_products
from shop.extensions import db
from tests.support.factories import make_producer, make_product


def other_group_slug(category_id: int) -> str:
    ref = reference()
    mine = ref.group_of(category_id)
    group = next(g for g in ref.groups if g.id != mine.id)
    return ref.by_id[ref.descendant_ids(group)[-1]].slug


def test_related_products_come_from_the_producer_then_the_group_then_the_province(app, client):
    bees = make_producer("HTX ong", province_name="Hà Nội")
    honey = make_product("Mật ong", producer=bees)
    pollen = make_product("Phấn hoa", producer=bees, category_slug=other_group_slug(honey.category_id))
    hidden = make_product("Nháp", producer=bees, status="draft")
    cake = make_product("Bánh đa", producer=make_producer("HTX bánh", province_name="Bắc Ninh"))
    far = make_producer("HTX xa", province_name="Cà Mau")
    unrelated = make_product("Khô cá", producer=far, category_slug=other_group_slug(honey.category_id))
    same_province = make_product(
        "Chè", producer=make_producer("HTX chè", province_name="Hà Nội"), category_slug=pollen.category.slug
    )
    names = [p.name for p in related_products(db.session.get(Product, honey.id))]
    assert names == ["Phấn hoa", "Bánh đa", "Chè"]
    assert hidden.name not in names and unrelated.name not in names
    page = client.get(f"/san-pham/{honey.slug}").get_data(as_text=True)
    assert (
        "Sản phẩm liên quan" in page and f"/san-pham/{cake.slug}" in page and f"/san-pham/{same_province.slug}" in page
    )
    for i in range(10):
        make_product(f"Mật {i}", producer=bees)
    g.pop("catalog_index_synced", None)  # the next request: the index reads the new products
    assert len(related_products(db.session.get(Product, honey.id))) == 8


def test_related_products_in_stock_first_then_the_most_reviewed(app):
    bees = make_producer("HTX ong", province_name="Hà Nội")
    honey = make_product("Mật ong", producer=bees)
    sold_out = make_product("Sáp ong", producer=bees, stock=0)
    plain = make_product("Phấn hoa", producer=bees)
    liked = make_product("Mật ong rừng", producer=bees)
    loved = make_product("Mật ong bạc hà", producer=bees)
    db.session.flush()
    liked.rating_count, liked.rating_sum = 2, 9
    loved.rating_count, loved.rating_sum = 7, 33
    sold_out.rating_count, sold_out.rating_sum = 50, 240
    db.session.commit()
    names = [p.name for p in related_products(db.session.get(Product, honey.id))]
    assert names == [loved.name, liked.name, plain.name, sold_out.name]

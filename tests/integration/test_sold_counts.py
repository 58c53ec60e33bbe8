"""Sold counts ("Đã bán N") and the "Bán chạy" sort: units of delivered shipments, recounted by a
periodic task that only writes what moved and purges only what a shopper would see change."""

import dataclasses
import secrets

from sqlalchemy import update

from shop.cancellations.services import cancel_lines
from shop.catalog.filters import CatalogFilter
from shop.catalog.models import Product, Variant
from shop.catalog.queries import list_products
from shop.catalog.sold import recount_sold
from shop.checkout.services import place_order
from shop.extensions import db
from shop.orders import services as orders
from shop.orders.models import OrderLine
from tests.support.cache import from_cache, warm
from tests.support.factories import cart_with, delivery_to, make_producer, make_product


def buy(variant_id: int, quantity: int, *, deliver: bool = True, cancel: int = 0) -> int:
    """A cash-on-delivery order of `quantity` units; `cancel` of them cancelled by the
    producer before shipping; delivered unless told otherwise. Returns the line id."""
    cart_id = cart_with((db.session.get(Variant, variant_id), quantity))
    order = place_order(
        cart_id=cart_id,
        user_id=None,
        delivery=dataclasses.replace(delivery_to(), email="khach@example.vn"),
        payment_method="cod",
        checkout_key=secrets.token_urlsafe(16),
    )
    sub_id, line_id = order.sub_orders[0].id, order.sub_orders[0].lines[0].id
    if cancel:
        cancel_lines(sub_id, {line_id: cancel}, "Hết hàng loại này")
    if deliver:
        orders.confirm_sub_order(sub_id)
        orders.ship_sub_order(sub_id, "GHN", "GHN123")
        orders.deliver_sub_order(sub_id)
    return line_id


def sold(product_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Product, product_id).sold_count


def test_only_delivered_units_count_less_those_cancelled_and_a_second_run_writes_nothing(app):
    shop = make_producer("HTX Ong Phong Thổ")
    honey = make_product("Mật ong hoa rừng", producer=shop, stock=50)
    tea = make_product("Trà shan tuyết", producer=shop, stock=50)
    unsold = make_product("Miến dong", producer=shop, stock=50)
    buy(honey.variants[0].id, 3)
    buy(honey.variants[0].id, 4, cancel=1)  # 3 of 4 delivered
    buy(honey.variants[0].id, 5, deliver=False)  # placed, not delivered: not sold yet
    cancelled = buy(tea.variants[0].id, 2, deliver=False)
    sub_id = db.session.get(OrderLine, cancelled).sub_order_id
    orders.cancel_sub_order(sub_id, "Khách đổi ý")
    before = db.session.get(Product, unsold.id).updated_at

    assert recount_sold() == 1
    assert (sold(honey.id), sold(tea.id), sold(unsold.id)) == (6, 0, 0)
    assert db.session.get(Product, unsold.id).updated_at == before  # untouched rows are not written
    assert recount_sold() == 0  # idempotent: nothing moved, nothing written

    # A count that is wrong (a restored backup, an edited line) is brought back.
    db.session.execute(update(Product).where(Product.id == tea.id).values(sold_count=9))
    db.session.commit()
    assert recount_sold() == 1 and sold(tea.id) == 0


def test_the_recount_never_runs_inside_checkout(app):
    honey = make_product("Mật ong hoa rừng", stock=50)
    buy(honey.variants[0].id, 2)
    assert sold(honey.id) == 0  # delivered, but only the recount writes the product row
    recount_sold()
    assert sold(honey.id) == 2


def test_best_selling_puts_the_most_units_first_then_the_newest_unsold(app):
    shop = make_producer("HTX Làng nghề")
    ages = [("Cũ bán ít", 9), ("Bán nhiều", 8), ("Bán ít mới", 3), ("Chưa bán cũ", 7), ("Chưa bán mới", 1)]
    made = {name: make_product(name, producer=shop, stock=99, created_days_ago=days) for name, days in ages}
    buy(made["Bán nhiều"].variants[0].id, 5)
    buy(made["Cũ bán ít"].variants[0].id, 2)
    buy(made["Bán ít mới"].variants[0].id, 2)
    recount_sold()

    def names(**kw):
        return [p.name for p in list_products(CatalogFilter(sort="best_selling", **kw)).items]

    expected = ["Bán nhiều", "Bán ít mới", "Cũ bán ít", "Chưa bán mới", "Chưa bán cũ"]
    assert names() == expected
    assert names(per_page=2, page=2) == expected[2:4]  # a page spanning sold and unsold products
    assert names(per_page=2, page=3) == expected[4:]
    assert names(q="ít") == ["Bán ít mới", "Cũ bán ít"]  # searched: the same order, not relevance


def test_cards_product_pages_and_the_api_show_the_count(app, client):
    honey = make_product("Mật ong hoa rừng", stock=99, prices=(20_000,))
    buy(honey.variants[0].id, 35)
    recount_sold()
    assert "Đã bán 35" in client.get(f"/san-pham/{honey.slug}").get_data(as_text=True)
    assert "Đã bán 35" in client.get("/san-pham?sort=best_selling").get_data(as_text=True)
    item = client.get("/api/v1/products?sort=best_selling").get_json()["items"][0]
    assert item["sold_count"] == 35
    client.post("/ngon-ngu", data={"lang": "en", "next": "/"})
    assert "35 sold" in client.get(f"/san-pham/{honey.slug}").get_data(as_text=True)
    assert client.get("/api/v1/products?sort=selling").status_code == 400


def test_only_a_change_of_the_number_shown_purges_the_product_page_and_card(cached):
    client = cached.test_client()
    honey = make_product("Mật ong hoa rừng", stock=99)
    south = make_producer("HTX Dừa Vĩnh Long", province_name="Vĩnh Long")
    other = make_product("Nước dừa", producer=south, category_slug="do-uong-khong-con-khac")  # not related
    line = buy(honey.variants[0].id, 1)
    recount_sold()
    page, best, newest = f"/san-pham/{honey.slug}", "/san-pham?sort=best_selling", "/san-pham?sort=newest"
    other_page = f"/san-pham/{other.slug}"

    def sell(units: int) -> None:  # as if many more parcels had arrived
        db.session.execute(update(OrderLine).where(OrderLine.id == line).values(quantity=units))
        db.session.commit()
        recount_sold()

    for url in (page, best, newest, other_page):
        warm(client, url)
    sell(1200)  # "1" -> "1,2k": the page and every listing showing the card
    assert not from_cache(client, page) and not from_cache(client, best) and not from_cache(client, newest)
    assert from_cache(client, other_page)
    assert "Đã bán 1,2k" in client.get(page).get_data(as_text=True)

    for url in (page, best, newest):
        warm(client, url)
    sell(1201)  # still "1,2k": only the listings sorted by sales may have moved
    assert from_cache(client, page) and from_cache(client, newest)
    assert not from_cache(client, best)

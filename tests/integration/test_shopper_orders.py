"""A shopper's "Đơn hàng của tôi": each order's real stage, tabs per stage, paging."""

import dataclasses
import re
import secrets

import pytest

from shop.accounts.services import create_user
from shop.catalog.models import Variant
from shop.checkout.services import place_order
from shop.extensions import db
from shop.orders import services as orders
from shop.orders.models import Order
from tests.support.auth import PASSWORD
from tests.support.factories import cart_with, delivery_to, make_producer, make_product


@pytest.fixture
def shopper(app, auth):
    user = create_user("lan@example.vn", "shopper", PASSWORD, name="Lan")
    auth.login("lan@example.vn")
    return user.id


@pytest.fixture
def two_shops(app):
    bees = make_producer("HTX ong Phong Thổ")
    teas = make_producer("HTX chè Tân Cương")
    honey = make_product("Mật ong hoa rừng", producer=bees, prices=(95_000,), stock=50)
    tea = make_product("Trà Tân Cương", producer=teas, prices=(120_000,), stock=50)
    return honey.variants[0].id, tea.variants[0].id


def place(user_id: int, *variant_ids: int) -> Order:
    cart_id = cart_with(*[(db.session.get(Variant, v), 1) for v in variant_ids], user_id=user_id)
    return place_order(
        cart_id=cart_id,
        user_id=user_id,
        delivery=dataclasses.replace(delivery_to(), email="lan@example.vn"),
        payment_method="cod",
        checkout_key=secrets.token_urlsafe(16),
    )


def rows(client, query: str = "") -> dict[str, str]:
    """Order number → the text of its row on the list."""
    page = client.get("/don-hang" + query)
    assert page.status_code == 200 and page.headers["Cache-Control"].startswith("private")
    html = page.get_data(as_text=True)
    found = {}
    for row in re.findall(r'<a class="order-row".*?</a>', html, re.S):
        number = re.search(r'class="order-number">([^<]+)<', row).group(1)
        found[number] = " ".join(re.sub(r"<[^>]+>", " ", row).split())
    return found


def tab_counts(client) -> dict[str, str]:
    html = client.get("/don-hang").get_data(as_text=True)
    nav = html[html.index('<nav class="tabs"') : html.index("</nav>", html.index('<nav class="tabs"'))]
    links = re.findall(r'href="([^"]+)"[^>]*>(.*?)</a>', nav, re.S)
    return {href: " ".join(re.sub(r"<[^>]+>", " ", label).split()) for href, label in links}


def test_each_order_says_where_it_stands_and_a_mixed_one_says_so(client, shopper, two_shops):
    honey, tea = two_shops
    waiting = place(shopper, honey)
    packing = place(shopper, honey)
    orders.confirm_sub_order(packing.sub_orders[0].id)
    travelling = place(shopper, tea)
    orders.confirm_sub_order(travelling.sub_orders[0].id)
    orders.ship_sub_order(travelling.sub_orders[0].id, "GHN", "GHN123")
    arrived = place(shopper, tea)
    sub = arrived.sub_orders[0].id
    orders.confirm_sub_order(sub)
    orders.ship_sub_order(sub, "GHN", "GHN124")
    orders.deliver_sub_order(sub)
    mixed = place(shopper, honey, tea)
    tea_part = next(s for s in mixed.sub_orders if s.producer.name == "HTX chè Tân Cương")
    orders.confirm_sub_order(tea_part.id)
    orders.ship_sub_order(tea_part.id, "GHN", "GHN125")
    orders.deliver_sub_order(tea_part.id)
    partly_cancelled = place(shopper, honey, tea)
    a, b = partly_cancelled.sub_orders
    orders.cancel_sub_order(a.id, "Hết hàng")
    orders.confirm_sub_order(b.id)
    gone = place(shopper, honey)
    orders.cancel_by_shopper(gone.id, shopper, "Đặt nhầm")

    listed = rows(client)
    assert "Chờ xác nhận" in listed[waiting.number] and "mỗi shop" not in listed[waiting.number]
    assert "Chờ lấy hàng" in listed[packing.number]
    assert "Đang giao" in listed[travelling.number]
    assert "Đã giao" in listed[arrived.number]
    assert "Đã huỷ" in listed[gone.number]
    # the least advanced shop decides, and the row tells each shop's state
    assert listed[mixed.number].count("Chờ xác nhận") == 2 and "mỗi shop một khác" in listed[mixed.number]
    assert "HTX chè Tân Cương: Đã giao" in listed[mixed.number]
    # a cancelled shop part does not hold the order back
    assert "Chờ lấy hàng" in listed[partly_cancelled.number]
    assert "Đã đặt" not in " ".join(listed.values())

    by_tab = {
        "to_confirm": {waiting.number, mixed.number},
        "to_ship": {packing.number, partly_cancelled.number},
        "shipping": {travelling.number},
        "delivered": {arrived.number},
        "cancelled": {gone.number},
    }
    for stage, numbers in by_tab.items():
        assert set(rows(client, f"?trang-thai={stage}")) == numbers, stage
    counts = tab_counts(client)
    assert counts["/don-hang?trang-thai=to_confirm"] == "Chờ xác nhận 2"
    assert counts["/don-hang?trang-thai=to_ship"] == "Chờ lấy hàng 2"
    assert counts["/don-hang?trang-thai=delivered"] == "Đã giao"  # done tabs carry no count
    assert "/don-hang?trang-thai=awaiting_payment" not in counts  # only shown when something waits


def test_tabs_page_and_odd_values_fall_back_to_all(client, shopper, two_shops):
    honey, _tea = two_shops
    numbers = [place(shopper, honey).number for _ in range(23)]
    first, second = rows(client), rows(client, "?page=2")
    assert list(first) == numbers[::-1][:20] and list(second) == numbers[::-1][20:]
    html = client.get("/don-hang").get_data(as_text=True)
    assert 'href="/don-hang?page=2"' in html
    for odd in ("?trang-thai=x", "?page=0", "?page=-1", "?page=99999999999999999999", "?page=abc"):
        response = client.get("/don-hang" + odd)
        assert response.status_code == 200, odd
    assert client.get("/don-hang?trang-thai=%00").status_code == 400  # shop.inputs refuses a NUL anywhere


def test_someone_elses_orders_never_show(client, shopper, two_shops, app):
    honey, _tea = two_shops
    other = create_user("hoa@example.vn", "shopper", PASSWORD, name="Hoa")
    theirs = place(other.id, honey)
    mine = place(shopper, honey)
    assert set(rows(client)) == {mine.number}
    assert theirs.number not in client.get("/don-hang?trang-thai=to_confirm").get_data(as_text=True)


def test_an_order_the_shop_cancelled_gives_its_reason_in_the_shoppers_language(client, shopper, two_shops):
    from shop.orders.models import LAPSED_REASON

    honey, _tea = two_shops
    order = place(shopper, honey)
    orders._cancel(db.session.get(Order, order.id), LAPSED_REASON, orders.utcnow())
    db.session.commit()
    page = client.get(f"/don-hang/{order.number}").get_data(as_text=True)
    assert "Đã huỷ: hết thời gian thanh toán" in page and "payment not completed" not in page
    client.set_cookie("lang", "en")
    assert "payment not completed in time" in client.get(f"/don-hang/{order.number}").get_data(as_text=True)


def test_an_order_cancelled_without_a_reason_says_so_in_the_shoppers_language(client, shopper, two_shops):
    honey, _tea = two_shops
    order = place(shopper, honey)
    assert client.post(f"/don-hang/{order.number}/huy", data={"reason": ""}).status_code == 303
    page = client.get(f"/don-hang/{order.number}").get_data(as_text=True)
    assert "Đã huỷ: người mua đã huỷ đơn" in page and "cancelled by the shopper" not in page
    client.set_cookie("lang", "en")
    assert "cancelled by the shopper" in client.get(f"/don-hang/{order.number}").get_data(as_text=True)

import re
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shop.cart.models import Cart, CartLine
from shop.cart.services import OutOfStock, view_cart
from shop.catalog.models import Product, Variant
from shop.checkout.services import CheckoutError, place_order
from shop.extensions import db
from shop.formatting import utcnow
from shop.orders import services as orders
from shop.orders.models import Order
from shop.places.models import Province, Ward
from shop.settings.services import set_int
from tests.support.factories import HUE_DUONG, TEAS, cart_with, delivery_to, two_producer_shop


def checkout(cart_id, method="cod", key=None, **kw):
    return place_order(
        cart_id=cart_id,
        user_id=None,
        delivery=delivery_to(**kw),
        payment_method=method,
        checkout_key=key or secrets.token_urlsafe(16),
    )


@pytest.fixture
def two_shops(app):
    """The tea (5 in stock) and the fish cake (3) of two producers, tea's first."""
    shop = two_producer_shop(TEAS.stocked(5), HUE_DUONG, owners=False)
    return db.session.get(Variant, shop.mine_variants[0]), db.session.get(Variant, shop.other_variants[0])


def stock(variant_id):
    db.session.expire_all()
    return db.session.get(Variant, variant_id).stock


def test_one_checkout_makes_one_order_split_by_producer(two_shops):
    tea, fish = two_shops
    order = checkout(cart_with((tea, 2), (fish, 1)))
    assert order.status == "placed" and len(order.sub_orders) == 2
    by_shop = {s.producer.name: s for s in order.sub_orders}
    assert by_shop["HTX chè Tân Cương"].subtotal == 240_000
    assert by_shop["Cơ sở Huệ Dương"].subtotal == 180_000
    # Hà Nội to Hà Nội is the same province; Thái Nguyên to Hà Nội the same region.
    assert by_shop["Cơ sở Huệ Dương"].shipping_fee == 18_000
    assert by_shop["HTX chè Tân Cương"].shipping_fee == 25_000
    assert order.total == 240_000 + 180_000 + 18_000 + 25_000
    assert (stock(tea.id), stock(fish.id)) == (3, 2)
    assert db.session.scalar(select(func.count(CartLine.id))) == 0


def test_order_lines_keep_what_was_bought_when_the_catalog_changes(two_shops):
    tea, _ = two_shops
    order = checkout(cart_with((tea, 1)))
    variant = db.session.get(Variant, tea.id)
    variant.price, variant.label, variant.product.name = 999_000, "Hộp mới", "Tên mới"
    db.session.commit()
    db.session.expire_all()
    line = db.session.get(Order, order.id).sub_orders[0].lines[0]
    assert (line.product_name, line.variant_label, line.unit_price, line.sku) == (
        "Trà Tân Cương",
        "Gói 1",
        120_000,
        tea.sku,
    )


def test_the_second_buyer_cannot_take_the_last_jar(two_shops):
    _, fish = two_shops
    first, second = cart_with((fish, 3)), cart_with((fish, 3))
    checkout(first)
    with pytest.raises(OutOfStock):
        checkout(second)
    assert stock(fish.id) == 0
    assert db.session.scalar(select(func.count(Order.id))) == 1


def test_a_refused_checkout_writes_nothing(two_shops):
    tea, fish = two_shops
    cart = cart_with((tea, 2), (fish, 3))
    db.session.get(Variant, fish.id).stock = 1  # someone else bought two meanwhile
    db.session.commit()
    with pytest.raises(OutOfStock):
        checkout(cart)
    assert (stock(tea.id), stock(fish.id)) == (5, 1)
    assert db.session.scalar(select(func.count(Order.id))) == 0
    assert db.session.scalar(select(func.count(CartLine.id))) == 2


def test_submitting_the_same_review_twice_places_one_order(two_shops):
    tea, _ = two_shops
    cart = cart_with((tea, 1))
    first = checkout(cart, key="same-key-1234567890")
    again = checkout(cart, key="same-key-1234567890")
    assert first.id == again.id and stock(tea.id) == 4


def test_cash_on_delivery_has_an_operator_set_ceiling(two_shops):
    tea, _ = two_shops
    set_int("cod_max_amount", 200_000)
    db.session.commit()
    with pytest.raises(CheckoutError) as err:
        checkout(cart_with((tea, 2)))
    assert err.value.code == "cod_limit"
    assert checkout(cart_with((tea, 2)), method="card").status == "awaiting_payment"


def test_a_card_order_holds_stock_for_15_minutes_and_keeps_the_cart(two_shops):
    tea, _ = two_shops
    cart = cart_with((tea, 2))
    order = checkout(cart, method="card")
    assert order.status == "awaiting_payment" and stock(tea.id) == 3
    assert order.reserved_until - order.created_at == timedelta(minutes=15)
    assert db.session.scalar(select(func.count(CartLine.id))) == 1
    assert orders.release_if_expired(order.id) is False  # not yet
    assert orders.release_if_expired(order.id, now=utcnow() + timedelta(minutes=16)) is True
    assert orders.release_if_expired(order.id, now=utcnow() + timedelta(minutes=17)) is False  # already done
    assert stock(tea.id) == 5
    assert db.session.get(Order, order.id).status == "cancelled"


def test_checking_out_the_same_cart_again_replaces_the_unpaid_order(two_shops):
    tea, _ = two_shops
    cart = cart_with((tea, 2))
    first = checkout(cart, method="card")
    second = checkout(cart, method="card")
    assert db.session.get(Order, first.id).status == "cancelled"
    assert second.status == "awaiting_payment" and stock(tea.id) == 3


def test_payment_marks_the_order_paid_only_for_the_right_amount(two_shops):
    tea, _ = two_shops
    order = checkout(cart_with((tea, 1)), method="card")
    assert orders.mark_paid(order.id, order.total - 1, "vnd") == "mismatch"
    assert orders.mark_paid(order.id, order.total, "usd") == "mismatch"
    assert db.session.get(Order, order.id).status == "awaiting_payment"
    assert orders.mark_paid(order.id, order.total, "vnd") == "paid"
    assert orders.mark_paid(order.id, order.total, "vnd") == "already_paid"
    assert db.session.scalar(select(func.count(CartLine.id))) == 0


def test_sub_orders_move_through_their_states_and_no_further(two_shops):
    tea, fish = two_shops
    order = checkout(cart_with((tea, 1), (fish, 1)))
    sub = order.sub_orders[0]
    with pytest.raises(orders.OrderStateError):
        orders.ship_sub_order(sub.id, "GHN", "GHN123")
    orders.confirm_sub_order(sub.id)
    orders.ship_sub_order(sub.id, "GHN", "GHN123")
    orders.deliver_sub_order(sub.id)
    with pytest.raises(orders.OrderStateError):
        orders.cancel_sub_order(sub.id, "đổi ý")
    assert [e.kind for e in db.session.get(Order, order.id).events] == ["placed", "confirmed", "shipped", "delivered"]


def test_another_producer_cannot_touch_a_sub_order(two_shops):
    tea, _ = two_shops
    order = checkout(cart_with((tea, 1)))
    with pytest.raises(orders.NotFound):
        orders.confirm_sub_order(order.sub_orders[0].id, producer_ids=[order.sub_orders[0].producer_id + 999])


def test_cancelling_a_sub_order_returns_its_stock(two_shops):
    tea, fish = two_shops
    order = checkout(cart_with((tea, 2), (fish, 1)))
    tea_sub = next(s for s in order.sub_orders if s.lines[0].variant_id == tea.id)
    orders.cancel_sub_order(tea_sub.id, "hết hàng trong kho")
    assert stock(tea.id) == 5 and stock(fish.id) == 2
    assert db.session.get(Order, order.id).status == "placed"


def test_a_shopper_may_cancel_before_any_producer_confirms(two_shops):
    tea, _ = two_shops
    order = checkout(cart_with((tea, 2)))
    orders.cancel_by_shopper(order.id, None, "đặt nhầm")
    assert stock(tea.id) == 5
    with pytest.raises(orders.OrderStateError):
        orders.cancel_by_shopper(order.id, None, "again")


def test_free_shipping_from_the_producers_threshold(two_shops):
    tea, _ = two_shops
    db.session.get(Variant, tea.id).product.producer.free_shipping_threshold = 200_000
    db.session.commit()
    view = view_cart(db.session.get(Cart, cart_with((tea, 2))), dest_province_id=delivery_to().province_id)
    assert view.groups[0].shipping_fee == 0


def test_selling_out_takes_the_product_out_of_in_stock_listings(two_shops):
    _, fish = two_shops
    checkout(cart_with((fish, 3)))
    db.session.expire_all()
    assert db.session.get(Product, fish.product_id).in_stock is False


def test_the_delivery_form_lists_provinces_in_the_official_order_and_wards_by_name(client, two_shops):
    tea, _fish = two_shops
    client.post("/gio-hang/them", data={"variant_id": tea.id, "quantity": 1})
    page = client.get("/thanh-toan").get_data(as_text=True)
    select_html = page[page.index('name="province_id"') : page.index("</select>", page.index('name="province_id"'))]
    shown = re.findall(r'<option[^>]*value="(\d+)"[^>]*>([^<]+)</option>', select_html)
    official = db.session.execute(select(Province.id, Province.name).order_by(Province.position)).all()
    assert [(int(i), n) for i, n in shown if i != "0"] == [tuple(row) for row in official]
    assert shown[1][1] == "Hà Nội"  # the capital first, as the official list has it

    hanoi = next(i for i, n in official if n == "Hà Nội")
    data = {"email": "lan@example.vn", "recipient": "Lan", "phone": "0912345678", "province_id": hanoi, "ward_id": 0}
    page = client.post("/thanh-toan", data=data).get_data(as_text=True)
    wards = page[page.index('name="ward_id"') : page.index("</select>", page.index('name="ward_id"'))]
    listed = [n for _i, n in re.findall(r'<option[^>]*value="(\d+)"[^>]*>([^<]+)</option>', wards)][1:]
    assert len(listed) == db.session.scalar(select(func.count()).select_from(Ward).where(Ward.province_id == hanoi))
    assert listed.index("Phường Ba Đình") < listed.index("Xã Bát Tràng")  # by name, not by "Phường"/"Xã"

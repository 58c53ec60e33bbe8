"""Each shop's estimated delivery window, by the zone its shipping fee is priced for."""

from shop.cart.models import Cart
from shop.cart.services import view_cart
from shop.extensions import db
from tests.support.factories import cart_with, delivery_to, make_producer, make_product


def test_each_shop_in_the_cart_shows_the_window_of_its_zone(app, client):
    near = make_product("Bánh cuốn", producer=make_producer("HTX Hà Nội", province_name="Hà Nội"), stock=5)
    far = make_product("Cà phê", producer=make_producer("HTX Đắk Lắk", province_name="Đắk Lắk"), stock=5)
    cart = db.session.get(Cart, cart_with((near.variants[0], 1), (far.variants[0], 1)))
    assert [g.delivery_days for g in view_cart(cart).groups] == [None, None]  # no address yet
    windows = {
        g.producer_name: g.delivery_days for g in view_cart(cart, dest_province_id=delivery_to().province_id).groups
    }
    assert windows == {"HTX Hà Nội": (1, 2), "HTX Đắk Lắk": (3, 6)}

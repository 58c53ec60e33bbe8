"""Twenty buyers in separate processes race for the last five units on PostgreSQL."""

import multiprocessing as mp
import secrets

import pytest
from sqlalchemy import func, select

from shop.catalog.models import Variant
from shop.extensions import db
from shop.orders.models import Order
from tests.support.factories import make_product

BUYERS = 20
UNITS = 5


@pytest.fixture
def backend():
    return "postgresql"


def buyer(url: str, variant_id: int, delivery: dict, start, results) -> None:
    from shop import create_app
    from shop.cart.services import OutOfStock, add_item, get_cart
    from shop.checkout.services import Delivery, place_order

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        token, _ = add_item(None, None, variant_id, 1)
        cart_id = get_cart(None, token).id
        start.wait(timeout=60)
        try:
            order = place_order(
                cart_id=cart_id,
                user_id=None,
                delivery=Delivery(**delivery),
                payment_method="cod",
                checkout_key=secrets.token_urlsafe(16),
            )
            results.put(("ordered", order.number))
        except OutOfStock as err:
            results.put(("sold_out", err.message))


@pytest.mark.postgres
def test_twenty_buyers_race_for_the_last_five_jars(app):
    from tests.support.factories import delivery_to

    product = make_product("Mật ong Hoa Rừng", prices=(180_000,), stock=UNITS)
    variant_id = product.variants[0].id
    delivery = delivery_to().__dict__
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()

    ctx = mp.get_context("spawn")
    start, results = ctx.Barrier(BUYERS), ctx.Queue()
    procs = [ctx.Process(target=buyer, args=(url, variant_id, delivery, start, results)) for _ in range(BUYERS)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)

    assert sorted(kind for kind, _ in outcomes).count("ordered") == UNITS
    sold_out = [message for kind, message in outcomes if kind == "sold_out"]
    assert len(sold_out) == BUYERS - UNITS and all("hết hàng" in m for m in sold_out)
    assert db.session.get(Variant, variant_id).stock == 0
    assert db.session.scalar(select(func.count(Order.id))) == UNITS

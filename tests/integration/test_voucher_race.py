"""Fifty shoppers redeem a ten-use voucher at the same moment on PostgreSQL:
exactly ten orders get it, the others are told it has run out and nothing of
theirs is placed."""

import secrets
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shop import create_app
from shop.extensions import db
from shop.formatting import utcnow
from shop.orders.models import Order
from shop.promotions.models import Voucher, VoucherRedemption
from tests.support.factories import make_product

SHOPPERS = 50
USES = 10


@pytest.fixture
def backend():
    return "postgresql"


@pytest.mark.postgres
def test_fifty_shoppers_race_for_a_ten_use_voucher(app):
    from shop.cart.services import add_item, apply_voucher, get_cart
    from shop.checkout.services import place_order
    from shop.promotions.vouchers import InvalidVoucher
    from tests.support.factories import delivery_to

    product = make_product("Bánh đa Kế", prices=(120_000,), stock=SHOPPERS)
    now = utcnow()
    db.session.add(
        Voucher(
            code="MUOILUOT",
            kind="fixed",
            value=20_000,
            usage_limit=USES,
            per_customer_limit=1,
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=1),
        )
    )
    db.session.commit()
    carts = []
    for _ in range(SHOPPERS):
        token, _added = add_item(None, None, product.variants[0].id, 1)
        apply_voucher(None, token, "MUOILUOT")
        carts.append(get_cart(None, token).id)
    delivery = delivery_to()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()

    # One app with a connection for every shopper, so that all fifty really are at the database at once.
    racing = create_app(
        "testing", SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": SHOPPERS, "max_overflow": 0}
    )
    start = threading.Barrier(SHOPPERS)
    outcomes: list[tuple[str, str]] = []
    lock = threading.Lock()

    def shopper(n: int, cart_id: int) -> None:
        with racing.app_context():
            start.wait(timeout=60)
            try:
                order = place_order(
                    cart_id=cart_id,
                    user_id=None,
                    delivery=delivery.__class__(**{**delivery.__dict__, "email": f"khach{n}@example.vn"}),
                    payment_method="cod",
                    checkout_key=secrets.token_urlsafe(16),
                )
                result = ("ordered", str(order.voucher_discount))
            except InvalidVoucher as err:
                result = ("refused", err.message)
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=shopper, args=(n, cart_id)) for n, cart_id in enumerate(carts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    with racing.app_context():
        db.engine.dispose()

    assert len(outcomes) == SHOPPERS
    ordered = [detail for kind, detail in outcomes if kind == "ordered"]
    refused = [detail for kind, detail in outcomes if kind == "refused"]
    assert ordered == ["20000"] * USES
    assert len(refused) == SHOPPERS - USES and all("hết lượt" in m for m in refused)
    assert db.session.scalar(select(Voucher.used_count)) == USES
    assert db.session.scalar(select(func.count(VoucherRedemption.id))) == USES
    assert db.session.scalar(select(func.count(Order.id))) == USES

"""Stock and promotional quotas are taken and given back in one fixed order
(shop.orders.stock): on PostgreSQL, two cancellations and two checkouts of the
same SKUs, whose carts list them in opposite orders, run at once without a
deadlock and leave every count right."""

import secrets
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from shop.catalog.models import Variant
from shop.checkout.services import place_order
from shop.extensions import db
from shop.formatting import utcnow
from shop.orders import services as orders
from shop.orders.models import Order
from shop.promotions.models import Promotion, PromotionEnrolment
from tests.support.factories import cart_with, delivery_to, make_product

STOCK = 50
ROW_UPDATES = ("UPDATE variant ", "UPDATE promotion_enrolment ")


@pytest.fixture
def backend():
    return "postgresql"


def _week_with_quota(product, variant) -> PromotionEnrolment:
    now = utcnow()
    week = Promotion(
        slug=f"tuan-le-{secrets.token_hex(3)}",
        name="Tuần lễ mật ong",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
        kind="percent",
        value=20,
        scope={},
        state="published",
        invitation_only=True,
    )
    db.session.add(week)
    db.session.flush()
    enrolment = PromotionEnrolment(
        promotion_id=week.id,
        producer_id=product.producer_id,
        variant_id=variant.id,
        promo_price=150_000,
        quota=100,
        state="approved",
    )
    db.session.add(enrolment)
    db.session.commit()
    return enrolment


def _order(cart_id: int, method: str = "card") -> Order:
    return place_order(
        cart_id=cart_id,
        user_id=None,
        delivery=delivery_to(),
        payment_method=method,
        checkout_key=secrets.token_urlsafe(16),
    )


@pytest.mark.postgres
def test_two_releases_and_two_takes_of_the_same_rows_at_once_do_not_deadlock(app):
    product = make_product("Mật ong bạc hà", prices=(200_000, 380_000), stock=STOCK)
    first, second = product.variants
    enrolment = _week_with_quota(product, first)
    # Carts list the two SKUs in opposite orders, so their lines do too.
    placed_a = _order(cart_with((second, 2), (first, 3)))
    placed_b = _order(cart_with((first, 1), (second, 4)))
    cart_c = cart_with((second, 1), (first, 2))
    cart_d = cart_with((first, 2), (second, 1))
    assert [line.variant_id for line in placed_a.sub_orders[0].lines] == [second.id, first.id]
    assert [line.variant_id for line in placed_b.sub_orders[0].lines] == [first.id, second.id]
    assert db.session.get(PromotionEnrolment, enrolment.id).sold == 4
    a_id, b_id, first_id, second_id = placed_a.id, placed_b.id, first.id, second.id
    db.session.remove()

    # Widen the window between two row updates of one transaction, so that two
    # transactions locking the rows in opposite orders would meet in a deadlock.
    racing = threading.local()

    def pause_after_row_update(_conn, _cursor, statement, *_args):
        if getattr(racing, "on", False) and statement.lstrip().startswith(ROW_UPDATES):
            time.sleep(0.3)

    engine = db.engine
    event.listen(engine, "after_cursor_execute", pause_after_row_update)
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def run(work):
        with app.app_context():
            racing.on = True
            start.wait(30)
            try:
                work()
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)
            finally:
                db.session.remove()

    jobs = [
        lambda: orders.cancel_by_shopper(a_id, None, "đổi ý"),
        lambda: orders.cancel_by_shopper(b_id, None, "đổi ý"),
        lambda: _order(cart_c, "cod"),
        lambda: _order(cart_d, "cod"),
    ]
    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        event.remove(engine, "after_cursor_execute", pause_after_row_update)

    assert errors == []
    db.session.expire_all()
    assert db.session.get(Variant, first_id).stock == STOCK - 2 - 2
    assert db.session.get(Variant, second_id).stock == STOCK - 1 - 1
    assert db.session.get(PromotionEnrolment, enrolment.id).sold == 4  # C's 2 and D's 2 at the promotional price
    statuses = sorted(db.session.scalars(select(Order.status)))
    assert statuses == ["cancelled", "cancelled", "placed", "placed"]

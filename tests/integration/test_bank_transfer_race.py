"""Bank notifications for one order arriving at the same moment on PostgreSQL,
from separate processes: parts that add up to the total pay it exactly once,
and the same transaction delivered twice at once counts once."""

import multiprocessing as mp
import secrets

import pytest
from sqlalchemy import select

from shop.bank import services as bank
from shop.bank.models import BankTransfer
from shop.catalog.models import Variant
from shop.checkout.services import place_order
from shop.extensions import db
from shop.orders.models import Order, OrderEvent
from tests.support.factories import cart_with, delivery_to, make_product

PARTS = 6


@pytest.fixture
def backend():
    return "postgresql"


def sender(url: str, body: dict, start, results) -> None:
    from shop import create_app
    from shop.bank import services

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        start.wait(timeout=60)
        results.put(services.receive(body))


def _notice(order: Order, transaction_id: int, amount: int) -> dict:
    return {
        "id": transaction_id,
        "gateway": "Vietcombank",
        "transactionDate": "2026-12-02 18:00:00",
        "accountNumber": "0011001234567",
        "content": f"{order.payment_code} chuyen khoan",
        "transferType": "in",
        "transferAmount": amount,
        "referenceCode": f"FT{transaction_id}",
    }


@pytest.mark.postgres
def test_parts_arriving_at_once_pay_the_order_once_and_a_replay_counts_once(app):
    from shop.accounts.services import create_user

    operator = create_user("vanhanh@example.vn", "operator", "mat-khau-an-toan-1", name="Vận Hành").id
    bank.configure(operator, enabled=True, bank_bin="970436", number="0011001234567", holder="CHO OCOP", minutes=30)
    variant = make_product("Mật ong bạc hà", prices=(120_000,), stock=5).variants[0]
    order = place_order(
        cart_id=cart_with((db.session.get(Variant, variant.id), 1)),
        user_id=None,
        delivery=delivery_to(),
        payment_method="vietqr",
        checkout_key=secrets.token_urlsafe(16),
    )
    share, rest = divmod(order.total, PARTS)
    bodies = [_notice(order, 8_000_000 + n, share + (rest if n == 0 else 0)) for n in range(PARTS)]
    bodies.append(dict(bodies[1]))  # the same transaction twice at once
    order_id, url = order.id, app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()

    ctx = mp.get_context("spawn")
    start, results = ctx.Barrier(len(bodies)), ctx.Queue()
    procs = [ctx.Process(target=sender, args=(url, body, start, results)) for body in bodies]
    for p in procs:
        p.start()
    answers = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)

    assert all(a["success"] for a in answers), answers
    assert sum(1 for a in answers if a.get("duplicate")) == 1, answers
    assert sum(1 for a in answers if a.get("state") == "paid") == 1, answers
    order = db.session.get(Order, order_id)
    assert order.status == "paid" and order.amount_received == order.total
    rows = list(db.session.scalars(select(BankTransfer)))
    assert len(rows) == PARTS and sum(r.applied_amount for r in rows) == order.total
    assert all(r.refund_amount == 0 for r in rows)
    paid_events = db.session.scalars(
        select(OrderEvent).where(OrderEvent.order_id == order_id, OrderEvent.kind == "paid")
    )
    assert len(list(paid_events)) == 1

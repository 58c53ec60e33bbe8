"""The demo marketplace's orders: seeded once for the module (it takes a few
seconds), then read by each test; the last one seeds again."""

import json
import shutil
from collections import Counter

import pytest
from sqlalchemy import func, select

from shop import create_app
from shop.catalog.models import Variant
from shop.demo.orders import HONEY
from shop.demo.seed import DEMO_DATA
from shop.extensions import db
from shop.formatting import as_utc, to_vn
from shop.ledger.models import LedgerEntry, Payout
from shop.ledger.services import balance
from shop.notifications.models import OutboxEmail
from shop.operator.queries import dashboard, waiting_sub_orders
from shop.orders.models import Order, OrderLine, SubOrder
from shop.portal.order_queries import new_order_count
from shop.producers.models import Producer


@pytest.fixture(scope="module")
def seeded(sqlite_template, tmp_path_factory):
    base = tmp_path_factory.mktemp("demo-orders")
    shutil.copy(sqlite_template, base / "shop.db")
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{base / 'shop.db'}", MEDIA_DIR=str(base / "media"))
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["seed-demo", "--no-images"])
        assert result.exit_code == 0, result.output
        yield app, result.output
        db.session.remove()
        db.engine.dispose()


def test_the_demo_has_orders_over_several_weeks_in_every_state(seeded):
    _app, output = seeded
    orders = db.session.scalars(select(Order)).all()
    assert len(orders) >= 50
    assert f"{len(orders)} orders" in output
    days = {to_vn(o.created_at).date() for o in orders}
    assert len(days) >= 20 and (max(days) - min(days)).days >= 28
    states = Counter(db.session.scalars(select(SubOrder.status)))
    assert states["delivered"] >= 30
    assert states["pending"] and states["shipped"] and states["cancelled"]
    assert {o.payment_method for o in orders} == {"cod"}
    assert len({o.email for o in orders}) >= 8
    figures = dashboard(days=30)
    assert figures.gmv > 0 and sum(1 for d in figures.by_day if d.orders) >= 15


def test_delivered_parts_earned_their_producer_when_they_were_delivered(seeded):
    for sub in db.session.scalars(select(SubOrder)):
        entries = db.session.scalars(select(LedgerEntry).where(LedgerEntry.sub_order_id == sub.id)).all()
        if sub.status != "delivered":
            assert entries == []
            continue
        placed = as_utc(sub.order.created_at)
        assert placed < as_utc(sub.confirmed_at) < as_utc(sub.shipped_at) < as_utc(sub.delivered_at)
        assert {e.kind for e in entries} >= {"earning"}
        assert all(e.created_at == sub.delivered_at for e in entries)


def test_ended_weeks_are_closed_older_ones_paid_and_balances_add_up(seeded):
    payouts = db.session.scalars(select(Payout).order_by(Payout.period_start)).all()
    assert len(payouts) >= 10
    latest = payouts[-1].period_start
    assert {p.status for p in payouts if p.period_start == latest} == {"due"}
    assert {p.status for p in payouts if p.period_start < latest} == {"paid"}
    for payout in payouts:
        settled = [e for e in payout.entries if e.kind != "payout"]
        assert payout.amount == sum(e.amount for e in settled) > 0
        paid = [e.amount for e in payout.entries if e.kind == "payout"]
        assert paid == ([-payout.amount] if payout.status == "paid" else [])
    for producer_id in db.session.scalars(select(Producer.id)):
        due = db.session.scalar(
            select(func.coalesce(func.sum(Payout.amount), 0)).where(
                Payout.producer_id == producer_id, Payout.status == "due"
            )
        )
        unsettled = db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.producer_id == producer_id, LedgerEntry.payout_id.is_(None)
            )
        )
        assert balance(producer_id) == due + unsettled


def test_the_demo_producer_has_new_orders_and_some_orders_wait_too_long(seeded):
    honey = db.session.scalar(select(Producer.id).where(Producer.slug == HONEY))
    parts = Counter(db.session.scalars(select(SubOrder.producer_id)))
    assert parts[honey] == max(parts.values())
    assert new_order_count([honey]) >= 2
    _waiting, count = waiting_sub_orders()
    assert count >= 1


def test_stock_is_what_the_catalog_had_less_what_was_sold(seeded):
    catalog = json.loads(DEMO_DATA.read_text(encoding="utf-8"))
    initial = {v["sku"]: int(v["stock"]) for p in catalog["products"] for v in p["variants"]}
    sold = Counter()
    for sku, quantity in db.session.execute(
        select(OrderLine.sku, OrderLine.quantity)
        .join(SubOrder, SubOrder.id == OrderLine.sub_order_id)
        .where(SubOrder.status != "cancelled")
    ):
        sold[sku] += quantity
    for sku, stock in db.session.execute(select(Variant.sku, Variant.stock)):
        assert stock == initial[sku] - sold[sku] >= 0, sku


def test_the_demo_orders_mail_nobody(seeded):
    rows = db.session.scalars(select(OutboxEmail)).all()
    assert rows and all(row.sent_at is not None for row in rows)


def test_seeding_again_adds_no_orders(seeded):
    app, _output = seeded
    before = db.session.scalar(select(func.count(Order.id)))
    again = app.test_cli_runner().invoke(args=["seed-demo", "--no-images"])
    assert again.exit_code == 0, again.output
    assert "0 orders" in again.output
    assert db.session.scalar(select(func.count(Order.id))) == before


@pytest.fixture
def backend():
    return "sqlite"


def test_seed_demo_can_leave_the_orders_out(app, runner):
    result = runner.invoke(args=["seed-demo", "--no-images", "--no-orders"])
    assert result.exit_code == 0, result.output
    assert "orders" not in result.output
    assert db.session.scalar(select(func.count(Order.id))) == 0
    assert db.session.scalar(select(func.count(Payout.id))) == 0

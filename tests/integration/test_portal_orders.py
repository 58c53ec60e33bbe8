"""The producer portal's orders: a producer sees and moves on only its own part of
each order, cancels lines (stock returns, card payments are refunded through a
real localstripe), prints a packing slip, exports a CSV, and reads its dashboard.
Orders are placed by the real checkout service."""

import csv
import dataclasses
import io
import re
import secrets
from datetime import UTC, date, datetime

import pytest
from flask import template_rendered
from sqlalchemy import func, select

from shop.cancellations import services as cancellations
from shop.catalog.models import Variant
from shop.checkout.services import place_order
from shop.extensions import db
from shop.orders import services as orders
from shop.orders.models import Order, OrderEvent, OrderLine, SubOrder
from shop.payments import card_services
from shop.payments.models import Refund
from shop.portal import order_queries
from tests.support.auth import sign_in
from tests.support.factories import TwoProducerShop, cart_with, delivery_to, two_producer_shop
from tests.support.servers import free_port
from tests.support.stripe import refunded_at_stripe


@pytest.fixture
def shop(app) -> TwoProducerShop:
    """HTX ong Phong Thổ ("mine": honey, pollen) and HTX chè Tân Cương ("other": tea), with owners."""
    return two_producer_shop()


@pytest.fixture
def producer(client, shop):
    """A test client signed in as the owner of the producer "mine"."""
    return sign_in(client, "ong@example.vn")


def place(items: list[tuple[int, int]], method: str = "cod", **delivery) -> Order:
    cart_id = cart_with(*[(db.session.get(Variant, vid), qty) for vid, qty in items])
    return place_order(
        cart_id=cart_id,
        user_id=None,
        delivery=dataclasses.replace(delivery_to(), **delivery),
        payment_method=method,
        checkout_key=secrets.token_urlsafe(16),
    )


def fresh(model, id_):
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(model, id_)


def stock(variant_id: int) -> int:
    return fresh(Variant, variant_id).stock


def part_of(order: Order, producer_id: int) -> SubOrder:
    return next(s for s in fresh(Order, order.id).sub_orders if s.producer_id == producer_id)


def flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _, message in session.get("_flashes", [])]


# --- seeing orders ------------------------------------------------------------------------


def test_a_producer_sees_only_its_own_part_of_each_order(producer, shop):
    both = place([(shop.honey, 2), (shop.tea, 1)])
    theirs = place([(shop.tea, 3)])

    page = producer.get("/producer/don-hang").get_data(as_text=True)

    assert both.number in page and "Mật ong hoa rừng" in page
    assert theirs.number not in page and "Trà Tân Cương" not in page
    detail = producer.get(f"/producer/don-hang/{part_of(both, shop.mine).id}").get_data(as_text=True)
    assert "Mật ong hoa rừng" in detail and "Trà Tân Cương" not in detail
    assert 'href="tel:0912345678"' in detail


def test_the_portal_asks_a_visitor_to_sign_in(client, shop):
    response = client.get("/producer/don-hang")
    assert response.status_code == 302 and "/tai-khoan/dang-nhap" in response.headers["Location"]


def test_each_tab_lists_the_parts_in_that_state(producer, shop):
    new = place([(shop.honey, 1)])
    confirmed = place([(shop.honey, 1)])
    orders.confirm_sub_order(part_of(confirmed, shop.mine).id)

    pending_tab = producer.get("/producer/don-hang?status=pending").get_data(as_text=True)
    confirmed_tab = producer.get("/producer/don-hang?status=confirmed").get_data(as_text=True)

    assert new.number in pending_tab and confirmed.number not in pending_tab
    assert confirmed.number in confirmed_tab and new.number not in confirmed_tab


# --- moving an order on ---------------------------------------------------------------------


def test_a_new_order_is_confirmed_then_shipped_with_its_tracking_number_then_delivered(producer, shop):
    sub_id = part_of(place([(shop.honey, 2)]), shop.mine).id
    url = f"/producer/don-hang/{sub_id}"

    assert producer.post(url + "/xac-nhan").status_code == 303
    assert fresh(SubOrder, sub_id).status == "confirmed"

    producer.post(url + "/giao-hang", data={"carrier": "GHN", "tracking_number": " "})
    assert fresh(SubOrder, sub_id).status == "confirmed"
    assert "Nhập đơn vị vận chuyển và mã vận đơn." in flashes(producer)

    producer.post(url + "/giao-hang", data={"carrier": "GHN", "tracking_number": "GHN123456"})
    sub = fresh(SubOrder, sub_id)
    assert (sub.status, sub.carrier, sub.tracking_number) == ("shipped", "GHN", "GHN123456")

    producer.post(url + "/da-giao")  # one tap without ticking "received" is not enough
    assert fresh(SubOrder, sub_id).status == "shipped"
    assert "Đánh dấu ô “Khách đã nhận được hàng” rồi bấm “Đã giao”." in flashes(producer)
    page = producer.get(url).get_data(as_text=True)
    assert 'name="received" value="1" required' in page
    producer.post(url + "/da-giao", data={"received": "1"})
    assert fresh(SubOrder, sub_id).status == "delivered"
    history = producer.get(url).get_data(as_text=True)
    assert "GHN123456" in history and "Đã giao tới khách" in history


def test_confirming_from_the_list_returns_to_the_list(producer, shop):
    sub_id = part_of(place([(shop.honey, 1)]), shop.mine).id
    response = producer.post(f"/producer/don-hang/{sub_id}/xac-nhan", data={"next": "list", "status": "pending"})
    assert response.headers["Location"].endswith("/producer/don-hang?status=pending")
    assert fresh(SubOrder, sub_id).status == "confirmed"


def test_an_order_awaiting_card_payment_is_shown_greyed_and_cannot_be_confirmed(producer, shop):
    order = place([(shop.honey, 1)], method="card")
    sub_id = part_of(order, shop.mine).id

    page = producer.get("/producer/don-hang").get_data(as_text=True)
    assert order.number in page and "is-unpaid" in page and "Chưa thanh toán" in page
    assert f"/producer/don-hang/{sub_id}/xac-nhan" not in page

    producer.post(f"/producer/don-hang/{sub_id}/xac-nhan")
    assert fresh(SubOrder, sub_id).status == "pending"
    assert "Đơn hàng chưa được thanh toán." in flashes(producer)
    producer.post(f"/producer/don-hang/{sub_id}/huy", data={"reason": "hết hàng"})
    assert fresh(SubOrder, sub_id).status == "pending"
    assert order_queries.new_order_count([shop.mine]) == 0


# --- cancelling ---------------------------------------------------------------------------------


def test_cancelling_some_units_of_a_line_returns_them_to_stock(producer, shop):
    order = place([(shop.honey, 3), (shop.pollen, 1)])
    sub = part_of(order, shop.mine)
    honey_line = next(line for line in sub.lines if line.variant_id == shop.honey)
    assert stock(shop.honey) == 7

    producer.post(
        f"/producer/don-hang/{sub.id}/huy-dong",
        data={f"qty-{honey_line.id}": "2", "reason": "hũ bị nứt"},
    )

    line = fresh(OrderLine, honey_line.id)
    assert line.cancelled_quantity == 2 and stock(shop.honey) == 9
    sub = fresh(SubOrder, sub.id)
    assert sub.status == "pending" and sub.total == sub.subtotal + sub.shipping_fee  # totals stay as placed
    assert order_queries.cod_to_collect(sub) == sub.total - 2 * 95_000
    assert db.session.scalar(select(OrderEvent.note).where(OrderEvent.kind == "lines_cancelled")).endswith("hũ bị nứt")


def test_cancelling_lines_needs_a_reason_and_no_more_than_is_left(producer, shop):
    sub = part_of(place([(shop.honey, 2), (shop.pollen, 1)]), shop.mine)
    line = next(line for line in sub.lines if line.variant_id == shop.honey)
    url = f"/producer/don-hang/{sub.id}/huy-dong"

    producer.post(url, data={f"qty-{line.id}": "1", "reason": " "})
    producer.post(url, data={f"qty-{line.id}": "3", "reason": "hết hàng"})
    producer.post(url, data={f"qty-{line.id}": "-1", "reason": "hết hàng"})

    assert fresh(OrderLine, line.id).cancelled_quantity == 0 and stock(shop.honey) == 8
    messages = flashes(producer)
    assert "Cho biết lý do huỷ." in messages and any("chỉ còn 2 để huỷ" in m for m in messages)


def test_cancelling_every_unit_left_cancels_the_whole_part(producer, shop):
    order = place([(shop.honey, 2), (shop.tea, 1)])
    sub = part_of(order, shop.mine)
    line = sub.lines[0]
    cancellations.cancel_lines(sub.id, {line.id: 1}, "thiếu hàng", [shop.mine])

    producer.post(f"/producer/don-hang/{sub.id}/huy-dong", data={f"qty-{line.id}": "1", "reason": "hết hẳn"})

    assert fresh(SubOrder, sub.id).status == "cancelled"
    assert stock(shop.honey) == 10
    assert part_of(order, shop.other).status == "pending"


def test_cancelling_the_whole_part_of_a_cod_order_returns_its_stock(producer, shop):
    sub = part_of(place([(shop.honey, 2), (shop.pollen, 1)]), shop.mine)
    producer.post(f"/producer/don-hang/{sub.id}/huy", data={"reason": "nghỉ Tết"})
    sub = fresh(SubOrder, sub.id)
    assert (sub.status, sub.cancel_reason) == ("cancelled", "nghỉ Tết")
    assert (stock(shop.honey), stock(shop.pollen)) == (10, 4)


# --- cancelling paid lines: refunds through localstripe --------------------------------------------


@pytest.fixture
def paid_order(card_payments, shop) -> Order:
    order = place([(shop.honey, 2), (shop.pollen, 2), (shop.tea, 1)], method="card")
    assert card_services.pay_with_payment_method(order.id, "pm_card_visa").status == "succeeded"
    return fresh(Order, order.id)


def test_cancelling_paid_lines_refunds_what_they_cost(producer, shop, paid_order, card_payments):
    sub = part_of(paid_order, shop.mine)
    honey = next(line for line in sub.lines if line.variant_id == shop.honey)
    pollen = next(line for line in sub.lines if line.variant_id == shop.pollen)
    url = f"/producer/don-hang/{sub.id}/huy-dong"

    producer.post(url, data={f"qty-{honey.id}": "2", f"qty-{pollen.id}": "0", "reason": "hết mật"})
    assert fresh(OrderLine, honey.id).refunded_amount == 190_000  # refunded by line
    producer.post(url, data={f"qty-{pollen.id}": "1", "reason": "chỉ còn một hộp"})

    sub = fresh(SubOrder, sub.id)
    assert sub.status == "pending" and sub.refunded_amount == 190_000 + 150_000
    assert [line.cancelled_quantity for line in sub.lines] == [2, 1]
    assert (stock(shop.honey), stock(shop.pollen)) == (10, 3)
    assert refunded_at_stripe(card_payments, paid_order.id) == 340_000
    assert db.session.scalar(select(func.count(Refund.id))) == 2


def test_when_stripe_refuses_the_refund_no_line_is_cancelled(app, producer, shop, paid_order):
    sub = part_of(paid_order, shop.mine)
    honey = next(line for line in sub.lines if line.variant_id == shop.honey)
    app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    producer.post(f"/producer/don-hang/{sub.id}/huy-dong", data={f"qty-{honey.id}": "1", "reason": "hết mật"})

    assert fresh(OrderLine, honey.id).cancelled_quantity == 0 and stock(shop.honey) == 8
    assert fresh(SubOrder, sub.id).refunded_amount == 0
    assert db.session.scalar(select(func.count(Refund.id))) == 0


def test_cancelling_a_paid_part_refunds_it_in_full(producer, shop, paid_order, card_payments):
    sub = part_of(paid_order, shop.mine)
    producer.post(f"/producer/don-hang/{sub.id}/huy", data={"reason": "lũ, không giao được"})
    sub = fresh(SubOrder, sub.id)
    assert (sub.status, sub.refunded_amount) == ("cancelled", sub.total)
    assert refunded_at_stripe(card_payments, paid_order.id) == sub.total
    assert part_of(paid_order, shop.other).status == "pending"


# --- another producer's order -----------------------------------------------------------------------


def test_another_producers_part_is_a_404_on_every_route(producer, shop):
    theirs = part_of(place([(shop.tea, 2)]), shop.other)
    base = f"/producer/don-hang/{theirs.id}"
    for url in (base, base + "/phieu"):
        assert producer.get(url).status_code == 404, url
    for action, data in (
        ("/xac-nhan", {}),
        ("/giao-hang", {"carrier": "GHN", "tracking_number": "X1"}),
        ("/da-giao", {}),
        ("/huy-dong", {f"qty-{theirs.lines[0].id}": "1", "reason": "x"}),
        ("/huy", {"reason": "x"}),
    ):
        assert producer.post(base + action, data=data).status_code == 404, action
    assert fresh(SubOrder, theirs.id).status == "pending" and stock(shop.tea) == 8
    csv_text = producer.get("/producer/don-hang.csv").get_data(as_text=True)
    assert theirs.order.number not in csv_text and "Trà Tân Cương" not in csv_text


# --- packing slip and CSV ----------------------------------------------------------------------------


def test_the_packing_slip_shows_what_to_pack_and_the_cod_amount(producer, shop):
    order = place([(shop.honey, 3), (shop.tea, 1)])
    sub = part_of(order, shop.mine)
    cancellations.cancel_lines(sub.id, {sub.lines[0].id: 1}, "hũ vỡ", [shop.mine])

    page = producer.get(f"/producer/don-hang/{sub.id}/phieu").get_data(as_text=True)

    assert order.number in page and "0912345678" in page and "12 Hàng Bạc" in page
    assert re.search(r"<td>T\d+-0</td><td>Mật ong hoa rừng — Gói 1</td><td class=\"num\">2</td>", page)
    assert "<svg" in page and "data-print" in page and "/static/js/portal.js" in page  # the print button
    to_collect = fresh(SubOrder, sub.id).total - 95_000
    assert f"{to_collect:,}".replace(",", ".") + "\xa0₫" in page.split("Thu hộ (COD)")[1][:200]
    assert "Trà Tân Cương" not in page


def read_csv(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_csv_has_a_bom_one_row_per_line_and_neutralised_formulas(producer, shop):
    order = place(
        [(shop.honey, 2), (shop.pollen, 1)],
        recipient='=HYPERLINK("http://x.example","bấm")',
        street="@SUM(1+1) thôn Nà Thôm",
    )

    response = producer.get("/producer/don-hang.csv")

    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    header, *rows = read_csv(response)
    assert header[0] == "Mã đơn" and header[15] == "Phí vận chuyển" and len(header) == 20
    assert header[16:] == ["Hóa đơn: công ty", "Hóa đơn: mã số thuế", "Hóa đơn: địa chỉ", "Hóa đơn: email"]
    assert len(rows) == 2
    first, second = rows
    assert first[0] == order.number and first[2] == "Mới" and first[3] == "COD – thu tiền khi giao"
    assert first[4].startswith("'=HYPERLINK") and first[6].startswith("'@SUM")
    assert (first[8], first[10], first[11], first[12], first[13], first[14]) == (
        "Mật ong hoa rừng",
        "95000",
        "2",
        "0",
        "0",
        "190000",
    )
    sub = part_of(order, shop.mine)
    assert first[15] == str(sub.shipping_fee) and second[15] == ""  # the fee once per part
    assert first[16:] == ["", "", "", ""]  # no company invoice asked for
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", first[1])


def test_the_csv_filters_by_status_and_vietnam_dates(producer, shop):
    old = place([(shop.honey, 1)])
    new = place([(shop.pollen, 1)])
    # 00:30 on 1 March in Vietnam, still 28 February in UTC.
    fresh(Order, old.id).created_at = datetime(2026, 2, 28, 17, 30, tzinfo=UTC)
    db.session.commit()
    orders.confirm_sub_order(part_of(new, shop.mine).id)

    def numbers(query: str) -> set[str]:
        return {row[0] for row in read_csv(producer.get("/producer/don-hang.csv" + query))[1:]}

    assert numbers("?from=01/03/2026&to=01/03/2026") == {old.number}
    assert numbers("?to=2026-02-28") == set()
    assert numbers("?status=confirmed") == {new.number}
    assert numbers("") == {old.number, new.number}
    assert producer.get("/producer/don-hang.csv?from=31/02/2026").status_code == 400
    assert producer.get("/producer/don-hang.csv?status=lost").status_code == 400


# --- dashboard ----------------------------------------------------------------------------------------


def test_the_dashboard_counts_new_orders_and_orders_to_ship_and_lists_low_stock(producer, shop):
    for _ in range(2):
        place([(shop.honey, 1)])
    to_ship = place([(shop.pollen, 1)])
    orders.confirm_sub_order(part_of(to_ship, shop.mine).id)
    place([(shop.tea, 1)])  # another producer's

    data = order_queries.dashboard([shop.mine])
    assert (data.new_orders, data.to_ship) == (2, 1)
    assert [(item.product_name, item.stock) for item in data.low_stock] == [("Phấn hoa", 3)]

    page = producer.get("/producer").get_data(as_text=True)
    assert "Đơn mới" in page and "po-card-new is-hot" in page
    assert "Sắp hết hàng" in page and "Phấn hoa" in page
    pollen = db.session.get(Variant, shop.pollen)
    assert f'href="/producer/san-pham/{pollen.product_id}#v-{pollen.id}"' in page  # stock is edited there
    assert page.count('class="po-bar') == 30 and 'role="img"' in page


def test_the_nav_badge_is_the_number_of_new_orders(app, producer, shop):
    place([(shop.honey, 1)])
    place([(shop.honey, 1)], method="card")  # awaiting payment: not new yet
    seen = []

    def record(sender, template, context, **extra):
        seen.append(context.get("portal_new_orders"))

    template_rendered.connect(record, app)
    try:
        producer.get("/producer/don-hang?status=delivered")
    finally:
        template_rendered.disconnect(record, app)
    assert seen and seen[0] == 1


def test_daily_sales_are_summed_by_vietnam_day_without_cancelled_or_unpaid_orders(shop):
    today = date(2026, 3, 10)

    def placed_at(order, moment):
        fresh(Order, order.id).created_at = moment
        db.session.commit()

    late_evening = place([(shop.honey, 2)])  # 23:30 on 9 March in Vietnam
    placed_at(late_evening, datetime(2026, 3, 9, 16, 30, tzinfo=UTC))
    next_morning = place([(shop.pollen, 1)])  # 00:30 on 10 March in Vietnam
    placed_at(next_morning, datetime(2026, 3, 9, 17, 30, tzinfo=UTC))
    partly_cancelled = place([(shop.honey, 3)])
    placed_at(partly_cancelled, datetime(2026, 3, 10, 1, 0, tzinfo=UTC))
    cancellations.cancel_lines(
        part_of(partly_cancelled, shop.mine).id, {part_of(partly_cancelled, shop.mine).lines[0].id: 1}, "vỡ"
    )
    cancelled = place([(shop.honey, 1)])
    placed_at(cancelled, datetime(2026, 3, 10, 2, 0, tzinfo=UTC))
    orders.cancel_sub_order(part_of(cancelled, shop.mine).id, "khách đổi ý")
    unpaid = place([(shop.honey, 1)], method="card")
    placed_at(unpaid, datetime(2026, 3, 10, 3, 0, tzinfo=UTC))
    too_old = place([(shop.honey, 1)])
    placed_at(too_old, datetime(2026, 2, 8, 3, 0, tzinfo=UTC))
    place([(shop.tea, 1)])  # another producer's

    series = order_queries.daily_sales([shop.mine], today=today)

    assert len(series.days) == 30 and series.days[0].day == date(2026, 2, 9) and series.days[-1].day == today
    by_day = {d.day: (d.amount, d.orders) for d in series.days if d.orders}

    def fee(order):
        return part_of(order, shop.mine).shipping_fee

    assert by_day == {
        date(2026, 3, 9): (2 * 95_000 + fee(late_evening), 1),
        date(2026, 3, 10): (150_000 + fee(next_morning) + 2 * 95_000 + fee(partly_cancelled), 2),
    }
    assert series.best.day == date(2026, 3, 10)


# --- two cancellations at once ------------------------------------------------------------------------

CANCELLERS = 6


def canceller(url: str, sub_id: int, line_id: int, producer_id: int, start, results) -> None:
    from shop import create_app
    from shop.cancellations.services import cancel_lines
    from shop.errors import ShopError

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        start.wait(timeout=60)
        try:
            cancel_lines(sub_id, {line_id: 1}, "hết hàng", [producer_id])
            results.put("cancelled")
        except ShopError as err:
            results.put(err.code)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_producers_cancelling_the_same_line_at_once_never_cancel_more_than_was_bought(app, shop):
    import multiprocessing as mp

    sub = part_of(place([(shop.honey, 3), (shop.pollen, 1)]), shop.mine)
    line = next(line for line in sub.lines if line.variant_id == shop.honey)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    args = (url, sub.id, line.id, shop.mine)
    db.session.remove()

    ctx = mp.get_context("spawn")
    start, results = ctx.Barrier(CANCELLERS), ctx.Queue()
    procs = [ctx.Process(target=canceller, args=(*args, start, results)) for _ in range(CANCELLERS)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)

    assert outcomes.count("cancelled") == 3
    assert fresh(OrderLine, line.id).cancelled_quantity == 3
    assert stock(shop.honey) == 10 and fresh(SubOrder, sub.id).status == "pending"

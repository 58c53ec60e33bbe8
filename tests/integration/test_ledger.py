"""The producer ledger and payouts: a delivered part earns its lines (less
commission and the producer's own share of discounts) and its shipping fee;
card refunds through a real localstripe reverse those earnings exactly;
operators adjust with a reason; weeks close into payouts that are paid once,
with statements in HTML and CSV in the console and the owner's portal. A
balance is always the sum of its entries. Orders are placed by the real checkout."""

import csv
import io
import re
import secrets
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from shop.accounts.models import ProducerMember
from shop.accounts.services import create_user
from shop.audit.models import AuditEntry
from shop.cancellations import services as cancellations
from shop.catalog.models import Category, Variant
from shop.checkout.services import place_order
from shop.errors import NotFound
from shop.extensions import db
from shop.formatting import today_vn
from shop.ledger import services as ledger
from shop.ledger import statements
from shop.ledger.models import CommissionOverride, LedgerEntry, Payout
from shop.ledger.services import LedgerError
from shop.orders import services as orders
from shop.orders.models import Order, OrderLine, SubOrder
from shop.payments import card_services, refund_services
from shop.producers.models import Producer
from shop.settings.services import set_int
from tests.support.auth import PASSWORD, sign_in
from tests.support.factories import BEES, TEAS, TwoProducerShop, cart_with, category, delivery_to, two_producer_shop


@pytest.fixture
def shop(app) -> TwoProducerShop:
    """HTX ong Phong Thổ ("mine": honey, pollen; with bank details) and HTX chè Tân Cương
    ("other": tea), with owners and an operator; plenty in stock."""
    shop = two_producer_shop(BEES.stocked(50), TEAS.stocked(50), operator=True)
    mine = db.session.get(Producer, shop.mine)
    mine.bank_name, mine.bank_account_name, mine.bank_account_number = "Agribank", "HTX ONG PHONG THO", "0123456789"
    mine.bank_bin = "970405"
    db.session.commit()
    return shop


def place(items: list[tuple[int, int]], method: str = "cod") -> Order:
    cart_id = cart_with(*[(db.session.get(Variant, vid), qty) for vid, qty in items])
    return place_order(
        cart_id=cart_id,
        user_id=None,
        delivery=delivery_to(),
        payment_method=method,
        checkout_key=secrets.token_urlsafe(16),
    )


def fresh(model, id_):
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(model, id_)


def part_of(order: Order, producer_id: int) -> SubOrder:
    return next(s for s in fresh(Order, order.id).sub_orders if s.producer_id == producer_id)


def deliver(sub_id: int) -> SubOrder:
    orders.confirm_sub_order(sub_id)
    orders.ship_sub_order(sub_id, "GHN", "GHN123")
    orders.deliver_sub_order(sub_id)
    return fresh(SubOrder, sub_id)


def entries(producer_id: int, kind: str | None = None) -> list[LedgerEntry]:
    stmt = select(LedgerEntry).where(LedgerEntry.producer_id == producer_id).order_by(LedgerEntry.id)
    if kind:
        stmt = stmt.where(LedgerEntry.kind == kind)
    return list(db.session.scalars(stmt))


def assert_balance_is_the_sum(producer_id: int) -> int:
    total = sum(e.amount for e in entries(producer_id))
    assert ledger.balance(producer_id) == total
    return total


def set_line(line_id: int, **values) -> None:
    db.session.execute(update(OrderLine).where(OrderLine.id == line_id).values(**values))
    db.session.commit()


def last_week() -> date:
    start, _end = ledger.period_of(today_vn() - timedelta(days=7))
    return start


def backdate(producer_id: int, day: date) -> None:
    """Move a producer's unsettled entries to noon (Vietnam) of `day`."""
    moment = ledger.vn_midnight(day) + timedelta(hours=12)
    db.session.execute(
        update(LedgerEntry)
        .where(LedgerEntry.producer_id == producer_id, LedgerEntry.payout_id.is_(None))
        .values(created_at=moment)
    )
    db.session.commit()


# --- commission rates ---------------------------------------------------------------------------


def test_the_commission_rate_is_the_category_override_then_the_producer_rate_then_the_default(shop):
    leaf = category()  # a level-3 product set
    parent = db.session.get(Category, leaf.parent_id)
    set_int("default_commission_bp", 750)
    db.session.commit()
    assert ledger.commission_rate_bp(shop.mine, leaf.id) == 750

    ledger.set_producer_rate(shop.mine, 600, shop.operator)
    assert ledger.commission_rate_bp(shop.mine, leaf.id) == 600

    ledger.set_category_rate(shop.mine, parent.id, 450, shop.operator)
    assert ledger.commission_rate_bp(shop.mine, leaf.id) == 450  # from the nearest ancestor
    assert ledger.commission_rate_bp(shop.other, leaf.id) == 750  # another producer is not affected

    ledger.set_category_rate(shop.mine, leaf.id, 300, shop.operator)
    assert ledger.commission_rate_bp(shop.mine, leaf.id) == 300

    ledger.set_producer_rate(shop.mine, None, shop.operator)
    override = db.session.scalars(select(CommissionOverride).where(CommissionOverride.category_id == leaf.id)).one()
    ledger.remove_category_rate(override.id, shop.operator)
    assert ledger.commission_rate_bp(shop.mine, leaf.id) == 450
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == [
        "commission.set",
        "commission.category_set",
        "commission.category_set",
        "commission.clear",
        "commission.category_remove",
    ]


def test_checkout_freezes_the_rate_on_each_line(shop):
    ledger.set_producer_rate(shop.mine, 1_000, shop.operator)
    order = place([(shop.honey, 1)])
    ledger.set_producer_rate(shop.mine, 2_000, shop.operator)
    assert part_of(order, shop.mine).lines[0].commission_bp == 1_000


def test_rates_on_a_producer_that_no_longer_exists_or_out_of_range_are_refused(shop):
    with pytest.raises(NotFound):
        ledger.set_producer_rate(999_999, 500, shop.operator)
    with pytest.raises(LedgerError):
        ledger.set_producer_rate(shop.mine, 12_000, shop.operator)
    with pytest.raises(LedgerError):
        ledger.set_category_rate(shop.mine, 999_999, 500, shop.operator)
    assert fresh(Producer, shop.mine).commission_bp is None
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 0


# --- earnings at delivery ---------------------------------------------------------------------------


def test_a_delivered_part_earns_each_line_less_commission_and_its_shipping_fee(shop):
    order = place([(shop.honey, 2), (shop.pollen, 1), (shop.tea, 1)])
    sub = part_of(order, shop.mine)
    for line in sub.lines:
        set_line(line.id, commission_bp=1_000)

    sub = deliver(sub.id)

    earnings = entries(shop.mine, "earning")
    assert [(e.gross, e.commission, e.amount) for e in earnings] == [
        (190_000, 19_000, 171_000),
        (150_000, 15_000, 135_000),
    ]
    shipping = entries(shop.mine, "shipping")
    assert [e.amount for e in shipping] == ([sub.shipping_fee] if sub.shipping_fee else [])
    assert assert_balance_is_the_sum(shop.mine) == 171_000 + 135_000 + sub.shipping_fee
    assert entries(shop.other) == []  # the other part is not delivered


def test_promotion_discounts_are_shared_as_funded_and_the_voucher_is_the_marketplaces(shop):
    order = place([(shop.pollen, 2)])
    line = part_of(order, shop.mine).lines[0]
    # 300.000 of goods; a 60.000 promotion funded half by each side, then a 40.000 voucher.
    set_line(
        line.id,
        promo_discount=60_000,
        voucher_discount=40_000,
        discount=100_000,
        operator_funded=30_000 + 40_000,
        line_total=200_000,
        commission_bp=1_000,
    )

    deliver(line.sub_order_id)

    (earning,) = entries(shop.mine, "earning")
    assert (earning.gross, earning.producer_funded, earning.operator_funded) == (300_000, 30_000, 70_000)
    assert earning.commission == 27_000  # 10% of the producer's revenue: 300.000 - its own 30.000
    assert earning.amount == 200_000 + 70_000 - 27_000  # paid + marketplace-funded - commission


def test_delivering_again_or_recording_twice_writes_nothing_more(shop):
    sub = deliver(part_of(place([(shop.honey, 1)]), shop.mine).id)
    before = [(e.kind, e.amount) for e in entries(shop.mine)]

    ledger.record_delivery(sub.id)
    db.session.commit()
    with pytest.raises(orders.OrderStateError):
        orders.deliver_sub_order(sub.id)

    assert [(e.kind, e.amount) for e in entries(shop.mine)] == before


def test_cancelled_units_earn_nothing(shop):
    order = place([(shop.honey, 3)])
    sub = part_of(order, shop.mine)
    cancellations.cancel_lines(sub.id, {sub.lines[0].id: 1}, "chỉ còn 2 hũ")
    set_line(sub.lines[0].id, commission_bp=0)

    deliver(sub.id)

    (earning,) = entries(shop.mine, "earning")
    assert (earning.gross, earning.amount) == (190_000, 190_000)


# --- reversals on card refunds (localstripe) --------------------------------------------------------


def paid(items) -> Order:
    order = place(items, method="card")
    assert card_services.pay_with_payment_method(order.id, "pm_card_visa").status == "succeeded"
    return fresh(Order, order.id)


def earned(sub_id: int) -> int:
    return sum(e.amount for e in db.session.scalars(select(LedgerEntry).where(LedgerEntry.sub_order_id == sub_id)))


def test_a_full_refund_after_delivery_brings_the_part_back_to_zero(shop, card_payments):
    sub = deliver(part_of(paid([(shop.honey, 2), (shop.tea, 1)]), shop.mine).id)
    assert earned(sub.id) > 0

    refund_services.refund(sub.id, reason="hàng vỡ")

    assert earned(sub.id) == 0
    (reversal,) = entries(shop.mine, "reversal")
    assert reversal.sub_order_id == sub.id
    statement = statements.unsettled(fresh(Producer, shop.mine))
    assert [r.note for r in statement.reversals] == [f"Hoàn tiền cho khách đơn {sub.order.number}"]
    assert_balance_is_the_sum(shop.mine)


def test_partial_refunds_reverse_their_share_and_all_of_them_bring_it_to_zero(shop, card_payments):
    sub = deliver(part_of(paid([(shop.honey, 2), (shop.pollen, 1)]), shop.mine).id)
    total_earned, paid_for = earned(sub.id), sub.total

    refund_services.refund(sub.id, amount=paid_for // 4, reason="một hũ bị móp")
    first = entries(shop.mine, "reversal")
    assert len(first) == 1
    assert abs(first[0].amount + total_earned // 4) <= 1

    refund_services.refund(sub.id, amount=paid_for // 3, reason="giao trễ")
    refund_services.refund(sub.id, reason="khách trả hàng")  # the rest

    assert len(entries(shop.mine, "reversal")) == 3
    assert earned(sub.id) == 0
    assert_balance_is_the_sum(shop.mine)


def test_refunds_of_units_cancelled_before_shipping_do_not_reverse_what_was_delivered(shop, card_payments):
    sub = part_of(paid([(shop.honey, 2), (shop.pollen, 2)]), shop.mine)
    pollen = next(line for line in sub.lines if line.variant_id == shop.pollen)
    cancellations.cancel_lines(sub.id, {pollen.id: 1}, "chỉ còn một hộp")  # refunds 150.000 by card
    assert fresh(SubOrder, sub.id).refunded_amount == 150_000

    sub = deliver(sub.id)
    assert entries(shop.mine, "reversal") == []
    assert earned(sub.id) > 0

    refund_services.refund(sub.id, reason="khách trả cả đơn")
    assert earned(sub.id) == 0


def test_a_refund_before_the_part_is_delivered_is_reversed_when_it_is(shop, card_payments):
    order = paid([(shop.honey, 2)])
    sub = part_of(order, shop.mine)
    orders.confirm_sub_order(sub.id)
    orders.ship_sub_order(sub.id, "GHN", "1")
    refund_services.refund(sub.id, amount=sub.total, reason="thất lạc")  # refunded in full while shipping
    assert entries(shop.mine) == []

    orders.deliver_sub_order(sub.id)  # found after all

    assert earned(sub.id) == 0 and len(entries(shop.mine, "reversal")) == 1


# --- adjustments -----------------------------------------------------------------------------------


def test_an_operator_adjusts_a_balance_with_a_reason_and_it_is_audited(shop):
    ledger.adjust(shop.mine, 50_000, "bù phí vận chuyển tháng 6", shop.operator)
    ledger.adjust(shop.mine, -20_000, "thu lại tiền tem", shop.operator)

    assert [(e.kind, e.amount, e.note) for e in entries(shop.mine)] == [
        ("adjustment", 50_000, "bù phí vận chuyển tháng 6"),
        ("adjustment", -20_000, "thu lại tiền tem"),
    ]
    assert assert_balance_is_the_sum(shop.mine) == 30_000
    audit = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(a.action, a.actor_id, a.target_id, a.reason) for a in audit] == [
        ("ledger.adjust", shop.operator, shop.mine, "bù phí vận chuyển tháng 6"),
        ("ledger.adjust", shop.operator, shop.mine, "thu lại tiền tem"),
    ]


def test_adjustments_without_a_reason_an_amount_or_a_producer_are_refused(shop):
    cases = [
        (shop.mine, 50_000, "  ", LedgerError),  # no reason
        (shop.mine, 0, "không có gì", LedgerError),
        (shop.mine, 1.5, "nửa đồng", LedgerError),
        (shop.mine, 10**10, "gõ nhầm", LedgerError),
        (999_999, 50_000, "không còn nhà sản xuất này", NotFound),
    ]
    for producer_id, amount, reason, error in cases:
        with pytest.raises(error):
            ledger.adjust(producer_id, amount, reason, shop.operator)
    assert entries(shop.mine) == [] and db.session.scalar(select(func.count(AuditEntry.id))) == 0


# --- payout weeks -----------------------------------------------------------------------------------


def test_closing_a_week_makes_one_payout_per_producer_owed_money_and_settles_its_entries(shop):
    deliver(part_of(place([(shop.honey, 2)]), shop.mine).id)
    ledger.adjust(shop.other, -10_000, "phạt giao trễ", shop.operator)  # owes: nothing to pay
    week = last_week()
    backdate(shop.mine, week + timedelta(days=2))
    backdate(shop.other, week + timedelta(days=2))
    ledger.adjust(shop.mine, 5_000, "thưởng tuần này", shop.operator)  # after the week: carried over

    made = ledger.close_period(week, shop.operator)

    (payout,) = [fresh(Payout, i) for i in made]
    assert (payout.producer_id, payout.period_start, payout.period_end) == (shop.mine, week, week + timedelta(7))
    settled = [e for e in entries(shop.mine) if e.payout_id == payout.id]
    assert payout.amount == sum(e.amount for e in settled) > 0
    assert [e.note for e in entries(shop.mine) if e.payout_id is None] == ["thưởng tuần này"]
    assert [e.payout_id for e in entries(shop.other)] == [None]
    assert ledger.close_period(week, shop.operator) == []  # idempotent
    assert db.session.scalar(select(func.count(Payout.id))) == 1
    assert_balance_is_the_sum(shop.mine)


def test_a_week_still_running_or_not_starting_on_a_monday_cannot_be_closed(shop):
    this_monday, _end = ledger.period_of(today_vn())
    with pytest.raises(LedgerError, match="chưa kết thúc"):
        ledger.close_period(this_monday, shop.operator)
    with pytest.raises(LedgerError, match="thứ Hai"):
        ledger.close_period(last_week() + timedelta(days=1), shop.operator)


def test_the_monday_task_closes_the_week_that_just_ended(shop):
    ledger.adjust(shop.mine, 80_000, "bù", shop.operator)
    week = last_week()
    backdate(shop.mine, week)
    monday_night = ledger.vn_midnight(week + timedelta(days=7)) + timedelta(minutes=10)

    (payout_id,) = ledger.close_last_week(monday_night)

    assert fresh(Payout, payout_id).period_start == week
    assert ledger.close_last_week(monday_night) == []


def test_a_payout_is_marked_paid_once_with_its_reference_and_the_balance_drops(shop):
    ledger.adjust(shop.mine, 120_000, "bù", shop.operator)
    backdate(shop.mine, last_week())
    (payout_id,) = ledger.close_period(last_week())
    assert ledger.balance(shop.mine) == 120_000

    with pytest.raises(LedgerError, match="mã giao dịch"):
        ledger.mark_paid(payout_id, "   ", shop.operator)
    ledger.mark_paid(payout_id, "FT2406123456", shop.operator)
    with pytest.raises(LedgerError, match="đã được đánh dấu"):
        ledger.mark_paid(payout_id, "FT-AGAIN", shop.operator)

    payout = fresh(Payout, payout_id)
    assert (payout.status, payout.reference, payout.paid_by_id) == ("paid", "FT2406123456", shop.operator)
    assert payout.paid_at is not None
    assert ledger.balance(shop.mine) == 0 == assert_balance_is_the_sum(shop.mine)
    assert [e.amount for e in entries(shop.mine, "payout")] == [-120_000]
    assert "payout.mark_paid" in db.session.scalars(select(AuditEntry.action)).all()
    with pytest.raises(NotFound):
        ledger.mark_paid(999_999, "FT1", shop.operator)


# --- statements ---------------------------------------------------------------------------------------


def weekly_payout(shop) -> Payout:
    """A closed week for "mine": two delivered lines (one with a shared promotion),
    shipping, a refund reversal and an adjustment."""
    order = place([(shop.honey, 2), (shop.pollen, 2)])
    sub = part_of(order, shop.mine)
    pollen = next(line for line in sub.lines if line.variant_id == shop.pollen)
    set_line(pollen.id, promo_discount=60_000, discount=60_000, operator_funded=20_000, line_total=240_000)
    db.session.execute(update(OrderLine).where(OrderLine.id == pollen.id).values(product_name="=HYPERLINK(1)"))
    db.session.commit()
    deliver(sub.id)
    ledger.adjust(shop.mine, -15_000, "-thu phí bao bì", shop.operator)
    backdate(shop.mine, last_week() + timedelta(days=3))
    (payout_id,) = ledger.close_period(last_week())
    return fresh(Payout, payout_id)


def read_csv(response) -> list[list[str]]:
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_the_statement_csv_lists_every_entry_and_its_total_is_the_payout(client, shop):
    payout = weekly_payout(shop)
    sign_in(client, "ong@example.vn")

    response = client.get(f"/producer/doi-soat/{payout.id}.csv")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = read_csv(response)
    assert rows[0] == ["Nhà sản xuất", "HTX ong Phong Thổ"]
    assert any(row[:1] == ["Tài khoản nhận"] and "0123456789" in row[1] for row in rows)
    header = rows.index(next(r for r in rows if r[:2] == ["Loại", "Mã đơn"]))
    body, total = rows[header + 1 : -1], rows[-1]
    assert [r[0] for r in body] == ["Doanh thu", "Doanh thu"] + (["Phí vận chuyển"] if len(body) == 4 else []) + [
        "Điều chỉnh"
    ]
    assert sum(int(r[9]) for r in body) == int(total[9]) == payout.amount
    assert total[0] == "Tổng cộng"
    pollen = next(r for r in body if "HYPERLINK" in r[3])
    assert pollen[3].startswith("'=")  # a spreadsheet will not run it
    assert (pollen[4], pollen[5], pollen[6], pollen[7]) == ("2", "300000", "40000", "20000")
    assert body[-1][10] == "'-thu phí bao bì"


def test_the_statement_page_shows_the_lines_the_totals_and_the_bank_account(client, shop):
    payout = weekly_payout(shop)
    sign_in(client, "ong@example.vn")

    page = client.get(f"/producer/doi-soat/{payout.id}").get_data(as_text=True)
    listing = client.get("/producer/doi-soat").get_data(as_text=True)

    assert "Mật ong hoa rừng" in page and "Agribank" in page and "-thu phí bao bì" in page
    assert f"{payout.amount:,}".replace(",", ".") in page
    assert f"/producer/doi-soat/{payout.id}" in listing and "Chờ chuyển" in listing


def test_another_producers_statement_is_a_404(client, shop):
    payout = weekly_payout(shop)
    sign_in(client, "che@example.vn")
    assert client.get(f"/producer/doi-soat/{payout.id}").status_code == 404
    assert client.get(f"/producer/doi-soat/{payout.id}.csv").status_code == 404
    assert client.get("/producer/doi-soat").status_code == 200  # its own page


def test_a_staff_member_gets_a_404_and_no_link(app, shop):
    payout = weekly_payout(shop)
    staff = create_user("nhanvien@example.vn", "shopper", PASSWORD, name="Nhân viên")
    staff.role = "producer"  # as an accepted invitation leaves it
    db.session.add(ProducerMember(user_id=staff.id, producer_id=shop.mine, role="staff"))
    db.session.commit()
    helper = sign_in(app.test_client(), "nhanvien@example.vn")
    assert helper.get("/producer/doi-soat").status_code == 404
    assert helper.get(f"/producer/doi-soat/{payout.id}").status_code == 404
    assert "/producer/doi-soat" not in helper.get("/producer/don-hang").get_data(as_text=True)


def test_the_portal_shows_the_balance_and_what_is_not_yet_settled(client, shop):
    deliver(part_of(place([(shop.honey, 1)]), shop.mine).id)
    sign_in(client, "ong@example.vn")

    page = client.get("/producer/doi-soat").get_data(as_text=True)

    assert "Mật ong hoa rừng" in page
    assert vnd_text(ledger.balance(shop.mine)) in page


def vnd_text(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


# --- the console ---------------------------------------------------------------------------------------


@pytest.fixture
def operator(client, shop):
    return sign_in(client, "vanhanh@example.vn")


def test_the_console_pages_are_for_operators_only(app, client, shop):
    sign_in(client, "ong@example.vn")
    for url in ("/ops/doi-soat", "/ops/doi-soat/hoa-hong", f"/ops/doi-soat/nha-san-xuat/{shop.mine}"):
        assert client.get(url).status_code == 404
    assert client.post("/ops/doi-soat/chot-ky", data={"period_start": last_week().isoformat()}).status_code == 404


def test_the_operator_closes_a_week_reads_the_statement_and_marks_it_paid(operator, shop):
    payout = weekly_payout(shop)
    ledger.adjust(shop.other, 70_000, "bù", shop.operator)
    backdate(shop.other, last_week())

    closed = operator.post("/ops/doi-soat/chot-ky", data={"period_start": last_week().isoformat()})
    assert closed.status_code == 303
    listing = operator.get("/ops/doi-soat").get_data(as_text=True)
    assert "HTX chè Tân Cương" in listing and "HTX ong Phong Thổ" in listing

    page = operator.get(f"/ops/doi-soat/{payout.id}").get_data(as_text=True)
    assert "Mật ong hoa rừng" in page and "0123456789" in page
    csv_rows = read_csv(operator.get(f"/ops/doi-soat/{payout.id}.csv"))
    assert int(csv_rows[-1][9]) == payout.amount

    refused = operator.post(f"/ops/doi-soat/{payout.id}/da-chuyen", data={"reference": ""})
    assert refused.status_code == 400 and "mã giao dịch" in refused.get_data(as_text=True)
    assert fresh(Payout, payout.id).status == "due"
    too_long = operator.post(f"/ops/doi-soat/{payout.id}/da-chuyen", data={"reference": "FT" + "9" * 119})
    page = too_long.get_data(as_text=True)  # shown again as typed, the message tied to the input
    assert too_long.status_code == 400 and fresh(Payout, payout.id).status == "due"
    reference = re.search(r'<input ([^>]*id="reference"[^>]*)>', page)
    assert reference and f'value="FT{"9" * 119}"' in reference[1]
    assert 'aria-describedby="reference-error"' in reference[1]
    assert '<p class="field-error" id="reference-error">Mã giao dịch quá dài' in page
    done = operator.post(f"/ops/doi-soat/{payout.id}/da-chuyen", data={"reference": "FT24061234"})
    assert done.status_code == 303 and fresh(Payout, payout.id).status == "paid"
    again = operator.post(f"/ops/doi-soat/{payout.id}/da-chuyen", data={"reference": "FT-2"})
    assert again.status_code == 400 and fresh(Payout, payout.id).reference == "FT24061234"


def test_the_console_says_which_weeks_are_closed_and_how_much_is_paid(operator, shop):
    def week_rows() -> dict[str, str]:
        html = operator.get("/ops/doi-soat").get_data(as_text=True)
        table = html[html.index('<table class="ops-table ops-weeks">') : html.index("</table>")]
        rows = [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]
        return {row[:10]: row for row in rows[1:]}  # "23/11/2026 – 29/11/2026 Đã chốt 0/1 đã chuyển …"

    week = last_week()
    label = f"{week:%d/%m/%Y}"
    before = operator.get("/ops/doi-soat").get_data(as_text=True)
    assert f'value="{week.isoformat()}">{label} – {week + timedelta(days=6):%d/%m/%Y} · chưa chốt<' in before
    assert "Chưa chốt" in week_rows()[label]
    payout = weekly_payout(shop)
    operator.post("/ops/doi-soat/chot-ky", data={"period_start": week.isoformat()})
    after = operator.get("/ops/doi-soat").get_data(as_text=True)
    assert f"{week + timedelta(days=6):%d/%m/%Y} · đã chốt<" in after
    assert "Đã chốt 0/1 đã chuyển" in week_rows()[label]
    operator.post(f"/ops/doi-soat/{payout.id}/da-chuyen", data={"reference": "FT24061234"})
    assert "Đã chốt 1/1 đã chuyển" in week_rows()[label]
    # a week with nothing due, closed by hand, still reads as closed
    older = week - timedelta(days=7)
    operator.post("/ops/doi-soat/chot-ky", data={"period_start": older.isoformat()})
    assert "Đã chốt — —" in week_rows()[f"{older:%d/%m/%Y}"]


def test_closing_a_week_from_the_console_refuses_a_week_still_running(operator, shop):
    this_monday, _end = ledger.period_of(today_vn())
    response = operator.post("/ops/doi-soat/chot-ky", data={"period_start": this_monday.isoformat()})
    assert response.status_code == 400 and "chưa kết thúc" in response.get_data(as_text=True)
    assert '<select aria-describedby="period_start-error" aria-invalid="true"' in response.get_data(as_text=True)
    for week in ("hôm qua", "9" * 40, "2026-02-30", ""):
        bad = operator.post("/ops/doi-soat/chot-ky", data={"period_start": week})
        assert bad.status_code == 400, week
        page = bad.get_data(as_text=True)
        assert '<p class="field-error" id="period_start-error">Chọn tuần cần chốt.</p>' in page, week
    missing = operator.post("/ops/doi-soat/chot-ky", data={})
    assert missing.status_code == 400 and "Chọn tuần cần chốt." in missing.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Payout.id))) == 0


def test_a_bad_adjustment_form_is_shown_again_with_its_message_and_changes_nothing(operator, shop):
    cases = [
        ({"direction": "credit", "amount": "50.000", "reason": ""}, "lý do"),
        ({"direction": "credit", "amount": "-5", "reason": "x"}, "số đồng nguyên"),
        ({"direction": "credit", "amount": "1,5", "reason": "x"}, "số đồng nguyên"),
        ({"direction": "credit", "amount": "0", "reason": "x"}, "lớn hơn 0"),
        ({"direction": "sideways", "amount": "5000", "reason": "x"}, "cộng tiền hay trừ tiền"),
        ({"amount": "5000", "reason": "x"}, "cộng tiền hay trừ tiền"),  # no direction is never a credit
        ({"direction": "debit", "amount": "9" * 40, "reason": "x"}, "tối đa là 2.000.000.000"),
    ]
    for form, message in cases:
        response = operator.post(f"/ops/doi-soat/nha-san-xuat/{shop.mine}/dieu-chinh", data=form)
        assert response.status_code == 400
        assert message in response.get_data(as_text=True), form
    page = response.get_data(as_text=True)  # the last one: shown again as typed, the message under the amount
    assert re.search(r'<input checked id="direction-1" name="direction" type="radio" value="debit">', page)
    assert 'aria-describedby="amount-error"' in page and 'value="' + "9" * 40 + '"' in page
    assert entries(shop.mine) == []


def test_the_operator_adjusts_from_the_producers_ledger_page(operator, shop):
    response = operator.post(
        f"/ops/doi-soat/nha-san-xuat/{shop.mine}/dieu-chinh",
        data={"direction": "debit", "amount": "25.000", "reason": "thu lại phí in tem"},
    )
    assert response.status_code == 303
    assert [(e.amount, e.actor_id) for e in entries(shop.mine)] == [(-25_000, shop.operator)]
    page = operator.get(f"/ops/doi-soat/nha-san-xuat/{shop.mine}").get_data(as_text=True)
    assert "thu lại phí in tem" in page
    missing = operator.post(
        "/ops/doi-soat/nha-san-xuat/999999/dieu-chinh", data={"direction": "credit", "amount": "1", "reason": "x"}
    )
    assert missing.status_code == 404


def test_the_operator_sets_and_clears_commission_rates_in_the_console(operator, shop):
    assert operator.post(f"/ops/doi-soat/hoa-hong/{shop.mine}", data={"rate": "8,5"}).status_code == 303
    assert fresh(Producer, shop.mine).commission_bp == 850
    leaf = category()
    added = operator.post(
        f"/ops/doi-soat/hoa-hong/{shop.mine}/danh-muc", data={"category_id": str(leaf.id), "category_rate": "5"}
    )
    assert added.status_code == 303
    assert ledger.commission_rate_bp(shop.mine, leaf.id) == 500
    page = operator.get("/ops/doi-soat/hoa-hong").get_data(as_text=True)
    assert "HTX ong Phong Thổ" in page and "8,5%" in page

    override = db.session.scalars(select(CommissionOverride)).one()
    assert operator.post(f"/ops/doi-soat/hoa-hong/muc/{override.id}/xoa").status_code == 303
    assert operator.post(f"/ops/doi-soat/hoa-hong/{shop.mine}", data={"rate": "8,5", "clear": "1"}).status_code == 303
    assert fresh(Producer, shop.mine).commission_bp is None


def test_a_bad_commission_rate_is_refused_and_nothing_changes(operator, shop):
    for rate in ("120", "8,555", "tám", "-3"):
        response = operator.post(f"/ops/doi-soat/hoa-hong/{shop.mine}", data={"rate": rate})
        assert response.status_code == 400
        assert "phần trăm" in response.get_data(as_text=True), rate
        bad_category = operator.post(
            f"/ops/doi-soat/hoa-hong/{shop.mine}/danh-muc", data={"category_id": "", "category_rate": rate}
        )
        assert bad_category.status_code == 400 and "Chọn một danh mục" in bad_category.get_data(as_text=True)
    for category_id in ("²", "9" * 40, "0", "\x00"):  # "²".isdigit() once took it to int(): a 500
        bad_category = operator.post(
            f"/ops/doi-soat/hoa-hong/{shop.mine}/danh-muc", data={"category_id": category_id, "category_rate": "5"}
        )
        assert bad_category.status_code == 400, category_id
    # The last refused rate comes back as typed in its producer's card, its message tied to it.
    page = response.get_data(as_text=True)
    rate = re.search(rf'<input ([^>]*id="nsx-{shop.mine}-rate"[^>]*)>', page)
    assert rate and 'value="-3"' in rate[1] and f'aria-describedby="nsx-{shop.mine}-rate-error"' in rate[1]
    group = db.session.scalars(select(Category).where(Category.level == 2).order_by(Category.id)).first()
    kept = operator.post(
        f"/ops/doi-soat/hoa-hong/{shop.mine}/danh-muc", data={"category_id": str(group.id), "category_rate": "8,555"}
    ).get_data(as_text=True)
    assert re.search(rf'<option selected value="{group.id}">', kept)
    assert re.search(rf'<input [^>]*id="nsx-{shop.mine}-cat-rate"[^>]*value="8,555"', kept)
    assert '<details class="ops-data" open>' in kept
    assert fresh(Producer, shop.mine).commission_bp is None
    assert db.session.scalar(select(func.count(CommissionOverride.id))) == 0


def test_rates_for_a_producer_that_no_longer_exists_are_a_404(operator, shop):
    assert operator.post("/ops/doi-soat/hoa-hong/999999", data={"rate": "5"}).status_code == 404
    assert operator.post("/ops/doi-soat/hoa-hong/muc/999999/xoa").status_code == 303
    assert operator.get("/ops/doi-soat/nha-san-xuat/999999").status_code == 404
    assert operator.get("/ops/doi-soat/999999").status_code == 404


def test_balances_always_equal_the_sum_of_entries_after_a_busy_week(shop):
    for _ in range(3):
        deliver(part_of(place([(shop.honey, 1), (shop.tea, 2)]), shop.mine).id)
    ledger.adjust(shop.mine, -7_000, "phí", shop.operator)
    backdate(shop.mine, last_week())
    (payout_id,) = ledger.close_period(last_week())
    ledger.adjust(shop.mine, 3_000, "bù", shop.operator)
    ledger.mark_paid(payout_id, "FT1", shop.operator)
    assert ledger.balance(shop.mine) == sum(e.amount for e in entries(shop.mine)) == 3_000


def test_a_due_statement_shows_a_vietqr_for_exactly_its_amount_to_the_producer(client, shop, tmp_path):
    import re
    import subprocess

    import segno

    from shop.bank.vietqr import checksum_ok, parse_tlv

    payout = weekly_payout(shop)
    sign_in(client, "vanhanh@example.vn")
    page = client.get(f"/ops/doi-soat/{payout.id}").get_data(as_text=True)
    assert "payout-qr" in page and f"DS{payout.id:06d}" in page
    # Render the same payload the page's SVG carries and read it back with zbar.
    from shop.bank import services as bank

    request = bank.payout_transfer(db.session.get(Payout, payout.id))
    path = tmp_path / "payout.png"
    segno.make(request.payload(), error="m").save(path, kind="png", scale=6, border=4)
    decoded = subprocess.run(["zbarimg", "-q", "--raw", str(path)], capture_output=True, text=True, check=True)
    payload = decoded.stdout.strip()
    fields = parse_tlv(payload)
    assert checksum_ok(payload) and fields["54"] == str(payout.amount)
    assert parse_tlv(parse_tlv(fields["38"])["01"]) == {"00": "970405", "01": "0123456789"}
    assert re.fullmatch(r"CHO OCOP DOI SOAT DS\d{6}", parse_tlv(fields["62"])["08"])


def test_mark_paid_needs_a_bank_account_on_file(client, shop):
    ledger.adjust(shop.other, 80_000, "bù", shop.operator)
    backdate(shop.other, last_week())
    (payout_id,) = ledger.close_period(last_week())
    with pytest.raises(LedgerError, match="chưa khai báo tài khoản"):
        ledger.mark_paid(payout_id, "FT123", shop.operator)
    sign_in(client, "vanhanh@example.vn")
    page = client.get(f"/ops/doi-soat/{payout_id}").get_data(as_text=True)
    assert "chưa khai báo tài khoản ngân hàng" in page and "payout-qr" not in page
    refused = client.post(f"/ops/doi-soat/{payout_id}/da-chuyen", data={"reference": "FT123"})
    assert refused.status_code == 400
    assert fresh(Payout, payout_id).status == "due"

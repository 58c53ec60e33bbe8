"""The stock rule (shop.inventory.stock) and the checks on one incoming line."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.inventory import stock
from shop.inventory.import_files import ImportRefused, parse_file
from shop.partners.signing import signature, verify


def decide(on_hand, held=0, held_paid=0, available=10, price=100_000, current_price=100_000):
    return stock.decide(
        on_hand=on_hand, price=price, held=held, held_paid=held_paid, available=available, current_price=current_price
    )


def test_available_stock_is_what_is_on_hand_less_what_orders_hold():
    d = decide(on_hand=12, held=3, held_paid=2, available=4)
    assert (d.status, d.available, d.code) == ("applied", 9, None)


def test_on_hand_below_what_is_sold_but_not_shipped_is_refused_with_the_count():
    d = decide(on_hand=1, held=5, held_paid=3, available=4)
    assert (d.status, d.available, d.code, d.n) == ("rejected", 4, "sold_not_shipped", 3)
    assert stock.reason_text(d.code, d.n) == "đang có 3 sản phẩm đã bán chưa giao"


def test_a_refused_line_changes_no_price_either():
    d = decide(on_hand=0, held=2, held_paid=2, available=0, price=150_000)
    assert (d.status, d.price) == ("rejected", 100_000)


def test_on_hand_exactly_what_is_sold_leaves_nothing_to_sell():
    d = decide(on_hand=3, held=3, held_paid=3, available=4)
    assert (d.status, d.available, d.code) == ("applied", 0, None)


def test_awaiting_payment_reservations_keep_their_hold_and_the_shortfall_is_reported():
    d = decide(on_hand=4, held=6, held_paid=2, available=3)
    assert (d.status, d.available, d.code, d.n) == ("applied", 0, "short_reserved", 2)


def test_the_same_stock_and_price_is_unchanged():
    assert decide(on_hand=10, held=2, available=8).status == "unchanged"


def test_a_new_price_alone_is_applied_and_leaves_stock():
    d = decide(on_hand=None, price=120_000, available=7)
    assert (d.status, d.available, d.price) == ("applied", 7, 120_000)


@given(
    on_hand=st.integers(0, 1000),
    held_paid=st.integers(0, 200),
    reserved=st.integers(0, 200),
    available=st.integers(0, 1000),
)
def test_available_stock_is_never_negative_and_sold_units_are_always_covered(on_hand, held_paid, reserved, available):
    d = decide(on_hand=on_hand, held=held_paid + reserved, held_paid=held_paid, available=available)
    assert d.available >= 0
    if d.status == "rejected":
        assert on_hand < held_paid and d.available == available
    else:
        assert on_hand >= held_paid
        assert d.available == max(0, on_hand - held_paid - reserved)


def test_inconsistent_holds_are_a_programming_error():
    with pytest.raises(ValueError):
        decide(on_hand=5, held=1, held_paid=2)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("12", 12), (" 7 ", 7), ("0", 0), ("1.000", 1000), ("1,000", 1000), ("2.500.000", 2_500_000), (3, 3), (4.0, 4)],
)
def test_quantities_are_whole_numbers_with_optional_thousands_grouping(cell, expected):
    assert stock.parse_quantity(cell) == expected


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        ("-3", "negative_quantity"),
        (-3, "negative_quantity"),
        ("1.5", "bad_quantity"),
        (2.5, "bad_quantity"),
        ("mười", "bad_quantity"),
        (True, "bad_quantity"),
        ("=1+2", "formula"),
        ("@SUM(A1)", "formula"),
        ("+5", "formula"),
        ("99999999999", "quantity_too_large"),
    ],
)
def test_bad_quantities_are_refused_with_a_reason(cell, code):
    with pytest.raises(stock.CellError) as caught:
        stock.parse_quantity(cell)
    assert caught.value.code == code


@pytest.mark.parametrize(("cell", "code"), [("0", "bad_price"), ("-1", "bad_price"), ("9" * 12, "price_too_large")])
def test_prices_are_positive_whole_dong(cell, code):
    with pytest.raises(stock.CellError) as caught:
        stock.parse_price(cell)
    assert caught.value.code == code
    assert stock.parse_price("120.000") == 120_000


def test_formula_like_skus_are_refused_and_echoed_harmlessly():
    line = stock.check_line(4, '=HYPERLINK("http://x","y")', "3")
    assert isinstance(line, stock.LineRefused) and line.code == "formula"
    assert line.sku.startswith("'=")


def test_a_line_needs_a_quantity_or_a_price():
    line = stock.check_line(2, "MO-1", "", "")
    assert isinstance(line, stock.LineRefused) and line.code == "nothing_to_change"
    assert stock.check_line(2, "MO-1", "", "90000") == stock.StockLine(2, "MO-1", None, 90_000)


def test_only_the_first_line_of_a_sku_counts_later_ones_are_duplicates():
    lines = [stock.StockLine(2, "A", 1, None), stock.StockLine(3, "B", 1, None), stock.StockLine(4, "A", 5, None)]
    keep, duplicates = stock.first_occurrences(lines)
    assert [x.ref for x in keep] == [2, 3]
    assert duplicates == [stock.LineRefused(4, "A", "duplicate_sku", 2)]


def test_a_csv_with_a_bom_and_semicolons_is_read():
    parsed = parse_file("\ufeffSKU;Quantity;Price\r\nMO-1;5;120.000\r\n\r\nMO-2;0\r\n".encode())
    assert parsed.fmt == "csv"
    assert [(r.ref, r.sku, r.quantity, r.price) for r in parsed.rows] == [
        (2, "MO-1", "5", "120.000"),
        (4, "MO-2", "0", None),
    ]


def test_columns_may_come_in_any_order():
    parsed = parse_file(b"quantity,sku\n3,MO-1\n")
    assert (parsed.rows[0].sku, parsed.rows[0].quantity) == ("MO-1", "3")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"ma,so_luong\nA,1\n", "sku,quantity,price"),
        ("sku,quantity\nÁ,1\n".encode("cp1258"), "UTF-8"),
        (b"<!doctype html><html><body>Login</body></html>", "HTML"),
        (b"", "trống"),
        (b'{"products": []}', '"items"'),
    ],
)
def test_files_that_cannot_be_used_are_refused_whole_with_what_to_do(body, words):
    with pytest.raises(ImportRefused) as caught:
        parse_file(body)
    assert words in caught.value.message


def test_a_json_feed_lists_items():
    parsed = parse_file(b'{"items": [{"sku": "A", "quantity": 2, "price": 1000}, "oops"]}')
    assert parsed.fmt == "json"
    assert parsed.rows[0].quantity == 2 and parsed.rows[1].problem == "bad_item"


def test_a_webhook_signature_verifies_only_for_the_same_body_secret_and_a_recent_time():
    body = b'{"sku":"A","available":3}'
    header = signature("s3cret", body, 1_700_000_000)
    assert verify("s3cret", body, header, now=1_700_000_010)
    assert not verify("s3cret", body + b" ", header, now=1_700_000_010)
    assert not verify("other", body, header, now=1_700_000_010)
    assert not verify("s3cret", body, header, now=1_700_000_000 + 3600)

"""The pricing rules as properties: whatever the prices, promotions, quotas and
vouchers, discounts stay within their caps and prices, shares add up exactly,
and an order's total never goes below its shipping fee or zero."""

from hypothesis import given
from hypothesis import strategies as st

from shop.promotions import rules

prices = st.integers(min_value=0, max_value=50_000_000)
kinds = st.sampled_from(["percent", "fixed"])
caps = st.none() | st.integers(min_value=1, max_value=5_000_000)


@st.composite
def discounts(draw):
    kind = draw(kinds)
    value = draw(st.integers(1, 99)) if kind == "percent" else draw(st.integers(1, 10_000_000))
    return kind, value, draw(caps)


@given(prices, discounts())
def test_a_unit_discount_is_never_above_its_cap_nor_the_price(price, discount):
    kind, value, cap = discount
    off = rules.unit_discount(price, kind, value, cap)
    assert 0 <= off <= price
    if cap is not None:
        assert off <= cap
    if kind == "percent":
        assert off <= price * value // 100


def test_a_percent_discount_rounds_down_to_whole_dong():
    assert rules.unit_discount(99_999, "percent", 15) == 14_999
    assert rules.unit_discount(200_000, "percent", 20, cap=30_000) == 30_000
    assert rules.unit_discount(20_000, "fixed", 50_000) == 20_000


deals = st.builds(
    rules.Deal,
    promotion_id=st.integers(1, 50),
    unit_discount=st.integers(0, 1_000_000),
    units_left=st.none() | st.integers(0, 20),
)


@given(st.lists(deals, max_size=6))
def test_the_best_single_promotion_is_the_largest_usable_discount(candidates):
    best = rules.best_deal(candidates)
    usable = [d for d in candidates if d.unit_discount > 0 and (d.units_left is None or d.units_left > 0)]
    if not usable:
        assert best is None
    else:
        assert best in usable
        assert best.unit_discount == max(d.unit_discount for d in usable)


@given(st.integers(1, 99), deals)
def test_only_the_quota_left_gets_the_promotional_price(quantity, deal):
    units = rules.promo_units(quantity, deal)
    assert 0 <= units <= quantity
    if deal.units_left is not None:
        assert units <= deal.units_left
    assert rules.line_promo_discount(quantity, deal) == units * deal.unit_discount


@given(st.integers(0, 100_000_000), discounts())
def test_a_voucher_never_takes_more_than_the_eligible_amount_or_its_cap(eligible, discount):
    kind, value, cap = discount
    off = rules.voucher_discount(eligible, kind, value, cap)
    assert 0 <= off <= eligible
    if cap is not None:
        assert off <= cap


@given(st.integers(0, 10_000_000), st.lists(st.integers(0, 5_000_000), min_size=1, max_size=12))
def test_allocation_adds_up_exactly_and_stays_within_each_weight(amount, weights):
    amount = min(amount, sum(weights))
    parts = rules.allocate(amount, weights)
    assert len(parts) == len(weights)
    if sum(weights) == 0:
        assert parts == [0] * len(weights)
    else:
        assert sum(parts) == amount
        assert all(0 <= p <= w for p, w in zip(parts, weights, strict=True))


@given(
    st.integers(0, 2_000_000),
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 900)), min_size=1, max_size=10),
)
def test_a_voucher_leaves_each_shop_a_whole_thousand_to_collect_when_its_prices_are(amount, lines):
    """Lines (shop, price in thousands): each shop's discount is whole thousands, the
    discount is what was asked rounded down to thousands, and no line gets more than it costs."""
    weights = [thousands * 1_000 for _shop, thousands in lines]
    shops = [shop for shop, _thousands in lines]
    amount = min(amount, sum(weights))
    given_off, parts = rules.allocate_by_group(amount, weights, shops)
    assert given_off == sum(parts) == amount // 1_000 * 1_000
    assert all(0 <= p <= w for p, w in zip(parts, weights, strict=True))
    for shop in set(shops):
        assert sum(p for p, s in zip(parts, shops, strict=True) if s == shop) % 1_000 == 0


def test_the_ocop50k_case_splits_into_thousands_per_shop():
    # Two shops, 365.000 and 100.000 of goods (the review found 40.067 + 9.933).
    given_off, parts = rules.allocate_by_group(50_000, [245_000, 120_000, 100_000], ["a", "a", "b"])
    assert given_off == 50_000 and parts[0] + parts[1] == 39_000 and parts[2] == 11_000


@given(st.integers(0, 100_000), st.lists(st.integers(1, 99_999), min_size=1, max_size=6))
def test_odd_prices_keep_the_whole_discount_spread_in_dong(amount, weights):
    if all(w % 1_000 == 0 for w in weights):
        return
    amount = min(amount, sum(weights))
    given_off, parts = rules.allocate_by_group(amount, weights, list(range(len(weights))))
    assert given_off == sum(parts) == amount


@st.composite
def orders(draw):
    """Lines (price, quantity, best deal), one voucher and a shipping fee."""
    lines = draw(
        st.lists(st.tuples(st.integers(0, 5_000_000), st.integers(1, 20), st.none() | deals), min_size=1, max_size=8)
    )
    voucher = draw(st.none() | discounts())
    shipping = draw(st.integers(0, 200_000))
    return lines, voucher, shipping


@given(orders())
def test_an_order_total_never_goes_below_the_shipping_fee(order):
    """Promotion per line first (never above the line), then one voucher on what is left."""
    lines, voucher, shipping = order
    after_promo = []
    for price, quantity, deal in lines:
        if deal is not None:
            deal = rules.Deal(deal.promotion_id, min(deal.unit_discount, price), deal.units_left)
        promo = rules.line_promo_discount(quantity, deal)
        assert 0 <= promo <= price * quantity
        after_promo.append(price * quantity - promo)
    goods = sum(after_promo)
    off = rules.voucher_discount(goods, *voucher) if voucher else 0
    shares = rules.allocate(off, after_promo)
    assert all(share <= amount for share, amount in zip(shares, after_promo, strict=True))
    total = goods - off + shipping
    assert total >= shipping >= 0


@given(st.integers(0, 10_000_000), st.integers(0, 100))
def test_funding_shares_add_up_to_the_discount(discount, share):
    operator, producer = rules.split_funding(discount, share)
    assert operator + producer == discount
    assert operator >= 0 and producer >= 0

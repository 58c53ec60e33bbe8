"""The ledger's pure rules (shop.promotions.rules), checked on generated
lines and refunds: an earning never exceeds what the units were worth,
commission is never negative, a balance is the sum of its entries, and refunds
adding up to everything that was paid bring an earning back to exactly zero."""

from hypothesis import given
from hypothesis import strategies as st

from shop.promotions import rules

prices = st.integers(min_value=0, max_value=50_000_000)
quantities = st.integers(min_value=1, max_value=500)
rates = st.integers(min_value=0, max_value=10_000)
shares = st.integers(min_value=0, max_value=100)


@st.composite
def lines(draw):
    """A placed line as checkout writes it: a discount no larger than the line,
    of which the marketplace funds its share; a rate; the units kept."""
    price = draw(prices)
    quantity = draw(quantities)
    discount = draw(st.integers(min_value=0, max_value=price * quantity))
    operator_funded, _producer = rules.split_funding(discount, draw(shares))
    kept = draw(st.integers(min_value=0, max_value=quantity))
    return price, quantity, discount, operator_funded, draw(rates), kept


@given(lines())
def test_an_earning_is_never_above_the_units_gross_and_its_parts_are_never_negative(line):
    price, quantity, discount, operator_funded, rate, kept = line
    earning = rules.line_earning(price, quantity, discount, operator_funded, rate, kept)

    assert earning.gross == price * kept
    assert earning.net <= earning.gross
    assert earning.commission >= 0 and earning.producer_funded >= 0 and earning.operator_funded >= 0
    assert earning.producer_funded + earning.operator_funded <= discount


@given(lines())
def test_the_net_is_what_the_shopper_paid_plus_the_marketplace_share_less_commission(line):
    price, quantity, discount, operator_funded, rate, _kept = line
    earning = rules.line_earning(price, quantity, discount, operator_funded, rate)

    paid = price * quantity - discount
    assert earning.net == paid + operator_funded - earning.commission
    assert earning.commission == rules.commission(price * quantity - (discount - operator_funded), rate)


@given(st.integers(min_value=-(10**12), max_value=10**12), rates)
def test_commission_is_never_negative_nor_above_its_base(base, rate):
    value = rules.commission(base, rate)
    assert value >= 0
    assert value <= max(base, 0)


@given(st.integers(min_value=0, max_value=10**12))
def test_a_full_rate_takes_the_whole_base_and_a_zero_rate_nothing(base):
    assert rules.commission(base, 10_000) == base
    assert rules.commission(base, 0) == 0


@given(st.lists(st.integers(min_value=-(10**9), max_value=10**9), max_size=60))
def test_a_balance_is_the_sum_of_its_entries_in_any_order(entries):
    assert rules.balance(entries) == sum(entries)
    assert rules.balance(list(reversed(entries))) == rules.balance(entries)


@st.composite
def refunds(draw):
    """An earning, what was paid for it, and refunds that add up to all of it."""
    earned = draw(st.integers(min_value=-(10**8), max_value=10**9).filter(bool))
    paid = draw(st.integers(min_value=1, max_value=10**9))
    cuts = sorted(draw(st.lists(st.integers(min_value=1, max_value=paid), max_size=8, unique=True)))
    points = [c for c in cuts if c < paid] + [paid]
    return earned, paid, points  # cumulative refunded totals, ending at `paid`


def _reverse(earned: int, paid: int, points: list[int]) -> list[int]:
    reversed_so_far, entries = 0, []
    for refunded in points:
        entry = rules.reversal_due(earned, paid, refunded, reversed_so_far)
        entries.append(entry)
        reversed_so_far -= entry
    return entries


@given(refunds())
def test_partial_refunds_adding_up_to_everything_bring_the_earning_back_to_zero(case):
    earned, paid, points = case
    entries = _reverse(earned, paid, points)
    assert earned + sum(entries) == 0


@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=1, max_value=10**9))
def test_a_full_refund_at_once_reverses_the_whole_earning(earned, paid):
    assert rules.reversal_due(earned, paid, paid, 0) == -earned


@given(refunds())
def test_syncing_the_same_refund_twice_adds_nothing(case):
    earned, paid, points = case
    reversed_so_far = -sum(_reverse(earned, paid, points[:1]))
    assert rules.reversal_due(earned, paid, points[0], reversed_so_far) == 0


@given(refunds())
def test_a_positive_earning_is_reversed_step_by_step_never_beyond_it(case):
    earned, paid, points = case
    if earned < 0:
        return
    total = 0
    for entry in _reverse(earned, paid, points):
        assert entry <= 0
        total -= entry
        assert total <= earned


@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=1, max_value=10**9))
def test_refunds_beyond_what_was_paid_reverse_no_more_than_the_earning(earned, paid):
    assert rules.reversal_due(earned, paid, paid * 3, 0) == -earned

"""The console's number parsing refuses what the money columns cannot hold."""

import pytest

from shop.operator.inputs import MAX_DONG, InputError, parse_dong


@pytest.mark.parametrize("raw", ["2000000001", "2.147.483.648", "9" * 40])
def test_an_amount_past_the_largest_is_refused_on_its_field(raw):
    with pytest.raises(InputError) as refused:
        parse_dong(raw, "value")
    assert refused.value.field == "value"
    assert refused.value.message == "Số tiền tối đa là 2.000.000.000 đồng."


def test_the_largest_amount_is_taken():
    assert parse_dong("2.000.000.000", "value") == MAX_DONG

"""A shopper's way to the review page through the test client, shared by the tests
that then press "Đặt hàng" (several at once)."""

import re

from tests.support.factories import delivery_to


def review_form(client, variant_id: int, quantity: int = 2) -> dict:
    """Put `quantity` of a variant in the cart, fill in the delivery, and read the review
    page's form (its checkout key and expected total)."""
    added = client.post("/gio-hang/them", data={"variant_id": variant_id, "quantity": quantity})
    assert added.status_code == 303
    delivery = delivery_to()
    answer = client.post(
        "/thanh-toan",
        data={
            "email": delivery.email,
            "recipient": delivery.recipient,
            "phone": delivery.phone,
            "province_id": delivery.province_id,
            "ward_id": delivery.ward_id,
            "street": delivery.street,
        },
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    page = client.get("/thanh-toan/xac-nhan").get_data(as_text=True)
    key = re.search(r'name="checkout_key"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="checkout_key"', page
    )
    total = re.search(r'name="expected_total"[^>]*value="(\d+)"', page) or re.search(
        r'value="(\d+)"[^>]*name="expected_total"', page
    )
    assert key and total, "the review page carries its checkout key and total"
    return {"checkout_key": key.group(1), "expected_total": total.group(1)}

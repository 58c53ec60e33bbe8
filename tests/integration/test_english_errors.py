"""A shopper or producer who reads the shop in English reads its refusals in English
too: the services raise translatable messages that are rendered in the language of
the request that shows them (and in Vietnamese for everyone else)."""

import re

import pytest
from sqlalchemy import update

from shop.accounts.services import create_user
from shop.catalog.models import Variant
from shop.checkout.services import place_order
from shop.extensions import db
from tests.support.auth import PASSWORD, sign_in
from tests.support.factories import cart_with, delivery_to, make_product


def flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _, message in session.get("_flashes", [])]


def in_english(client):
    client.set_cookie("lang", "en")
    return client


@pytest.fixture
def honey(app) -> Variant:
    return make_product("Mật ong hoa rừng", prices=(95_000,), stock=5).variants[0]


def _to_review_page(client, variant_id: int) -> dict:
    assert client.post("/gio-hang/them", data={"variant_id": variant_id, "quantity": 2}).status_code == 303
    delivery = delivery_to()
    fields = ("email", "recipient", "phone", "province_id", "ward_id", "street")
    answer = client.post("/thanh-toan", data={name: getattr(delivery, name) for name in fields})
    assert answer.status_code == 303
    page = client.get("/thanh-toan/xac-nhan").get_data(as_text=True)
    key = re.search(r'name="checkout_key"[^>]*value="([^"]+)"', page)
    total = re.search(r'name="expected_total"[^>]*value="(\d+)"', page)
    assert key and total
    return {"checkout_key": key.group(1), "expected_total": total.group(1), "payment_method": "cod"}


def _sell_out(variant_id: int) -> None:
    db.session.execute(update(Variant).where(Variant.id == variant_id).values(stock=0))
    db.session.commit()


def test_a_product_sold_out_before_placing_is_explained_in_english(client, honey):
    form = _to_review_page(in_english(client), honey.id)
    _sell_out(honey.id)

    answer = client.post("/thanh-toan/dat-hang", data=form)

    assert answer.status_code == 303 and answer.headers["Location"].endswith("/gio-hang")
    assert flashes(client) == ["Sorry, Mật ong hoa rừng (Gói 1) is sold out."]


def test_the_same_refusal_stays_in_vietnamese_for_a_vietnamese_reader(client, honey):
    form = _to_review_page(client, honey.id)
    _sell_out(honey.id)

    client.post("/thanh-toan/dat-hang", data=form)

    assert flashes(client) == ["Rất tiếc, Mật ong hoa rừng (Gói 1) đã hết hàng."]


def test_an_unknown_voucher_and_a_sold_out_jar_are_refused_in_english(client, honey):
    in_english(client).post("/gio-hang/them", data={"variant_id": honey.id, "quantity": 1})
    client.post("/gio-hang/ma-giam-gia", data={"code": "KHONGCO"})
    _sell_out(honey.id)
    client.post("/gio-hang/them", data={"variant_id": honey.id, "quantity": 1})

    assert flashes(client)[-2:] == [
        "This voucher code does not exist.",
        "Mật ong hoa rừng (Gói 1) is sold out.",
    ]


def test_a_producer_reading_english_is_refused_in_english(client, honey):
    producer = honey.product.producer
    create_user("ong@example.vn", "producer", PASSWORD, producer_slug=producer.slug, name="Chị Hoa")
    order = place_order(
        cart_id=cart_with((honey, 2)),
        user_id=None,
        delivery=delivery_to(),
        payment_method="cod",
        checkout_key="english-errors",
    )
    sub = order.sub_orders[0]
    line = sub.lines[0]
    sign_in(in_english(client), "ong@example.vn")
    cancel = f"/producer/don-hang/{sub.id}/huy-dong"

    client.post(cancel, data={f"qty-{line.id}": "1", "reason": " "})
    client.post(cancel, data={f"qty-{line.id}": "3", "reason": "out of stock"})
    client.post(f"/producer/don-hang/{sub.id}/giao-hang", data={"carrier": "", "tracking_number": ""})
    client.post(f"/producer/don-hang/{sub.id}/da-giao", data={"received": "1"})

    assert flashes(client)[-4:] == [
        "Give a reason for cancelling.",
        "Mật ong hoa rừng (Gói 1): only 2 left to cancel.",
        "Enter the carrier and the tracking number.",
        "The order cannot go from “Waiting for confirmation” to “Delivered”.",
    ]


def test_an_order_that_is_not_there_is_a_404_in_english(client):
    answer = in_english(client).get("/don-hang/OC000000-XXXXX")
    assert answer.status_code == 404
    assert "Order not found." in answer.get_data(as_text=True)


def test_a_template_follows_force_locale_inside_a_request(app):
    """Templates look their strings up through shop.templating._translations, which
    keeps the request's translations: switching language for an e-mail in the middle
    of an English request, and back, must switch the strings too."""
    from flask import render_template_string
    from flask_babel import force_locale

    text = "{{ _('Giỏ hàng') }}"
    # Each request with its own application context (its own `g`), as under a server.
    with app.app_context(), app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert render_template_string(text) == "Cart"
        with force_locale("vi"):
            assert render_template_string(text) == "Giỏ hàng"
        assert render_template_string(text) == "Cart"
    with app.app_context(), app.test_request_context("/"):
        assert render_template_string(text) == "Giỏ hàng"
        with force_locale("en"):
            assert render_template_string(text) == "Cart"
        assert render_template_string(text) == "Giỏ hàng"

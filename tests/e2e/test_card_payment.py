"""A guest pays a card order on the payment page, in Chromium, through
localstripe's fake Stripe.js: a good card, a card asking for 3-D Secure, and a
declined card followed by a good one."""

import re
import secrets
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from shop import create_app
from shop.catalog.models import Product, Variant
from shop.checkout.services import place_order
from shop.extensions import db
from shop.orders.models import Order
from shop.payments.models import Payment
from tests.support.factories import cart_with, delivery_to

pytestmark = pytest.mark.e2e


def _app(server):
    media = Path(server.env["SHOP_INSTANCE_DIR"]) / "media"
    return create_app("testing", SQLALCHEMY_DATABASE_URI=server.env["DATABASE_URL"], MEDIA_DIR=str(media))


def new_card_order(server) -> tuple[str, str]:
    """A guest's card order awaiting payment, placed by the checkout service in the
    server's database: (number, access token)."""
    app = _app(server)
    with app.app_context():
        taken = db.session.scalars(
            select(Variant.id).join(Product).where(Product.listed.is_(True), Variant.stock >= 2)
        ).all()
        variant = db.session.get(Variant, secrets.choice(taken))
        order = place_order(
            cart_id=cart_with((variant, 1)),
            user_id=None,
            delivery=delivery_to(),
            payment_method="card",
            checkout_key=secrets.token_urlsafe(16),
        )
        result = order.number, order.access_token
        db.session.remove()
        db.engine.dispose()
    return result


def order_status(server, number: str) -> str:
    app = _app(server)
    with app.app_context():
        status = db.session.scalars(select(Order.status).where(Order.number == number)).one()
        db.session.remove()
        db.engine.dispose()
    return status


def failed_payments(server, number: str) -> int:
    app = _app(server)
    with app.app_context():
        count = db.session.scalar(
            select(func.count(Payment.id)).join(Order).where(Order.number == number, Payment.status == "failed")
        )
        db.session.remove()
        db.engine.dispose()
    return count


def enter_card(page, number: str) -> None:
    """localstripe's Card Element: five plain inputs."""
    card = page.locator("#card-element")
    card.locator("input[placeholder=number]").fill(number)
    card.locator("input[placeholder=exp_month]").fill("12")
    card.locator("input[placeholder=exp_year]").fill("30")
    card.locator("input[placeholder=cvc]").fill("123")
    card.locator("input[placeholder=postal_code]").fill("10000")


def open_payment_page(page, server, number: str, token: str) -> None:
    page.goto(f"{server.url}/don-hang/{number}/thanh-toan?t={token}")
    expect(page.get_by_role("heading", name="Thanh toán bằng thẻ")).to_be_visible()
    expect(page.locator("#card-element input")).to_have_count(5)


def test_a_guest_pays_with_a_good_card(phone, card_server, artifacts):
    number, token = new_card_order(card_server)
    open_payment_page(phone, card_server, number, token)
    expect(phone.get_by_text(re.compile(r"Giữ hàng đến \d\d:\d\d"))).to_be_visible()
    enter_card(phone, "4242424242424242")
    phone.screenshot(path=str(artifacts / "payment-page-390.png"), full_page=True)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    phone.get_by_role("button", name=re.compile("^Thanh toán")).click()

    expect(phone).to_have_url(re.compile(rf"/don-hang/{number}\?t="))
    expect(phone.get_by_role("status").filter(has_text="Thanh toán thành công")).to_be_visible()
    expect(phone.locator(".order-status").first).to_contain_text(re.compile("thanh toán", re.I))
    assert order_status(card_server, number) == "paid"


def test_a_guest_passes_3d_secure(page, card_server):
    number, token = new_card_order(card_server)
    open_payment_page(page, card_server, number, token)
    enter_card(page, "4000002500003155")
    page.get_by_role("button", name=re.compile("^Thanh toán")).click()

    # Once for setting up the card, once for the payment.
    page.get_by_role("button", name="Complete authentication").click()
    page.get_by_role("button", name="Complete authentication").click()

    expect(page).to_have_url(re.compile(rf"/don-hang/{number}\?t="))
    assert order_status(card_server, number) == "paid"


def test_a_declined_card_is_explained_and_another_card_pays(page, card_server, artifacts):
    number, token = new_card_order(card_server)
    open_payment_page(page, card_server, number, token)
    pay = page.get_by_role("button", name=re.compile("^Thanh toán"))
    alert = page.locator("#card-errors")
    enter_card(page, "4000000000000002")  # refused when the card is set up
    pay.click()
    expect(alert).to_contain_text("Thẻ bị từ chối")
    expect(pay).to_be_enabled()

    enter_card(page, "4000000000000341")  # accepted, then refused when charged
    pay.click()  # hides the last message at once; a new one comes with the answer
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("Thẻ bị từ chối")
    expect(alert).to_have_attribute("role", "alert")
    expect(pay).to_be_enabled()
    page.screenshot(path=str(artifacts / "payment-declined-1280.png"), full_page=True)
    assert order_status(card_server, number) == "awaiting_payment"
    assert failed_payments(card_server, number) == 1  # the set-up decline never reached a payment

    enter_card(page, "4242424242424242")
    pay.click()
    expect(page).to_have_url(re.compile(rf"/don-hang/{number}\?t="))
    deadline = time.monotonic() + 5
    while order_status(card_server, number) != "paid" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert order_status(card_server, number) == "paid"

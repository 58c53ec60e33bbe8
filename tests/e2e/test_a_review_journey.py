"""A shopper with a delivered order writes a review from the order page, with a photo,
and sees it (and the average) on the product's shared page."""

import os
import re
import subprocess
import sys

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.support.e2e import OPERATOR, SHOPPER, sign_in
from tests.support.servers import ROOT

pytestmark = pytest.mark.e2e

SLUG = "tra-tan-cuong"

# Set-up only: the demo shopper's COD order of one product, delivered through the services.
DELIVERED_ORDER = f"""
import dataclasses, secrets
from sqlalchemy import select
from shop import create_app
from shop.accounts.models import User
from shop.catalog.models import Product
from shop.checkout.services import place_order
from shop.extensions import db
from shop.orders import services as orders
from tests.support.factories import cart_with, delivery_to

with create_app().app_context():
    user = db.session.scalars(select(User).where(User.email == "{SHOPPER}")).one()
    product = db.session.scalars(select(Product).where(Product.slug == "{SLUG}")).one()
    cart_id = cart_with((product.variants[0], 1), user_id=user.id)
    order = place_order(cart_id=cart_id, user_id=user.id, delivery=dataclasses.replace(delivery_to(), email=user.email),
                        payment_method="cod", checkout_key=secrets.token_urlsafe(16))
    sub_id = order.sub_orders[0].id
    orders.confirm_sub_order(sub_id)
    orders.ship_sub_order(sub_id, "GHN", "E2E1")
    orders.deliver_sub_order(sub_id)
    print(order.number)
"""


def test_a_shopper_reviews_a_delivered_product_and_sees_it_on_its_page(
    phone, browser, live_server, artifacts, tmp_path
):
    done = subprocess.run(
        [sys.executable, "-c", DELIVERED_ORDER],
        cwd=ROOT,
        env={**os.environ, **live_server.env, "PYTHONPATH": str(ROOT)},
        check=True,
        capture_output=True,
        text=True,
    )
    number = done.stdout.strip().splitlines()[-1]
    photo = tmp_path / "tra.png"
    Image.new("RGB", (800, 600), (60, 140, 70)).save(photo)

    page = phone
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/don-hang/{number}")
    page.get_by_role("link", name="Viết đánh giá").click()
    expect(page.get_by_role("heading", name="Viết đánh giá")).to_be_visible()
    page.get_by_role("radio", name=re.compile("^5 sao")).check()
    page.get_by_label("Nhận xét của bạn").fill("Trà thơm cốm, nước xanh, đóng gói cẩn thận.")
    page.get_by_label(re.compile("Ảnh thực tế")).set_input_files(str(photo))
    page.screenshot(path=str(artifacts / "review-form-390.png"), full_page=True)
    page.get_by_role("button", name="Gửi đánh giá").click()
    expect(page.get_by_text("Cảm ơn bạn đã đánh giá!")).to_be_visible()
    expect(page.get_by_role("link", name="Xem/sửa đánh giá")).to_be_visible()

    page.goto(f"{live_server.url}/san-pham/{SLUG}")
    reviews = page.locator("#danh-gia")
    expect(reviews).to_contain_text("Trà thơm cốm, nước xanh, đóng gói cẩn thận.")
    expect(page.locator(".rating-summary").first).to_contain_text("5,0")
    expect(reviews.locator(".review-photos img")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts / "product-reviews-390.png"), full_page=True)
    page.goto(f"{live_server.url}/san-pham?q=Trà+Tân+Cương")
    expect(page.locator(".card", has_text="Trà Tân Cương").locator(".card-rating").first).to_contain_text("5,0")
    page.screenshot(path=str(artifacts / "listing-rating-390.png"))

    # The same pages at 1440 px, and the console's list as an operator sees it.
    wide = browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="vi-VN", storage_state=page.context.storage_state()
    )
    desk = wide.new_page()
    for name, path in (
        ("product-reviews", f"/san-pham/{SLUG}"),
        ("order-review-link", f"/don-hang/{number}"),
        ("listing-rating", "/san-pham?q=Trà+Tân+Cương"),
    ):
        desk.goto(live_server.url + path)
        desk.screenshot(path=str(artifacts / f"{name}-1440.png"), full_page=True)
    page.goto(f"{live_server.url}/don-hang/{number}")
    page.screenshot(path=str(artifacts / "order-review-link-390.png"), full_page=True)
    wide.clear_cookies()
    sign_in(desk, live_server.url, OPERATOR)
    desk.goto(live_server.url + "/ops/danh-gia")
    expect(desk.get_by_role("cell", name=re.compile("Trà thơm cốm"))).to_be_visible()
    desk.screenshot(path=str(artifacts / "ops-reviews-1440.png"), full_page=True)
    wide.close()

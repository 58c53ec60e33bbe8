"""A guest buys from two producers and creates an account during checkout,
then pays on delivery, or by card through localstripe's Stripe.js."""

import re
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.e2e import sign_in

pytestmark = pytest.mark.e2e


def mail_link(live_server, to: str, path_prefix: str) -> str:
    """The link to `path_prefix` in the newest e-mail to `to` (the server writes its
    mail as .eml files when no SMTP server is set, as `make run` does)."""
    for eml in sorted((Path(live_server.env["SHOP_INSTANCE_DIR"]) / "mail").glob("*.eml"), reverse=True):
        message = message_from_bytes(eml.read_bytes(), policy=policy.default)
        if message["To"] == to:
            text = message.get_body(preferencelist=("plain",)).get_content()
            return re.search(r"https?://\S*" + re.escape(path_prefix) + r"\S+", text).group(0)
    raise AssertionError(f"no e-mail to {to}")


def fill_cart_and_delivery(page, live_server, email: str) -> None:
    """Two producers' products in the cart, then the delivery step with a new password."""
    page.goto(live_server.url + "/san-pham/banh-da-ke")
    page.get_by_role("button", name="Thêm vào giỏ").click()
    expect(page.get_by_role("status").filter(has_text="Đã thêm vào giỏ hàng")).to_be_visible()

    page.goto(live_server.url + "/san-pham/mat-ong-hoa-rung")
    page.get_by_role("button", name="Mua ngay").click()
    expect(page).to_have_url(re.compile(r"/thanh-toan$"))

    page.get_by_label("Email").fill(email)
    page.get_by_label("Người nhận").fill("Nguyễn Thị Lan")
    page.get_by_label("Số điện thoại").fill("0912 345 678")
    page.get_by_label("Tỉnh/thành phố").select_option(label="Hà Nội")
    ward = page.get_by_label("Phường/xã")
    expect(ward.locator("option", has_text="Phường Ba Đình")).to_have_count(1)
    ward.select_option(label="Phường Ba Đình")
    page.get_by_label("Số nhà, đường, thôn/xóm").fill("12 Hàng Bạc")
    page.get_by_label(re.compile("Tạo mật khẩu")).fill("matkhau-an-toan-1")
    page.get_by_role("button", name="Tiếp tục").click()
    expect(page.get_by_role("heading", name="Xác nhận đơn hàng")).to_be_visible()
    # A checkout does not sign in a new account: its address is verified first.
    expect(page.get_by_text(re.compile(f"đã gửi thư tới {re.escape(email)}"))).to_be_visible()


def test_guest_buys_from_two_producers_registers_and_pays_on_delivery(phone, live_server, artifacts):
    page = phone
    fill_cart_and_delivery(page, live_server, "lan.nguyen@example.vn")
    groups = page.locator(".shop-group")
    expect(groups).to_have_count(2)
    expect(groups.first.locator(".group-sums")).to_contain_text("Phí vận chuyển")
    expect(page.get_by_role("radio", name=re.compile("Thanh toán khi nhận hàng"))).to_be_checked()
    page.screenshot(path=str(artifacts / "checkout-review-390.png"), full_page=True)
    page.get_by_role("button", name=re.compile("^Đặt hàng")).click()

    expect(page.get_by_text(re.compile("Đặt hàng thành công"))).to_be_visible()
    expect(page.locator(".shop-group")).to_have_count(2)
    for group in page.locator(".shop-group").all():
        expect(group.locator(".timeline li.current")).to_contain_text("Đã đặt")
    number = page.get_by_role("heading", level=1).inner_text().split()[-1]

    # The shopper opens the e-mail, verifies the address and signs in: the order is in the new account.
    page.goto(mail_link(live_server, "lan.nguyen@example.vn", "/tai-khoan/xac-minh/"))
    page.get_by_role("button", name="Xác minh email").click()
    expect(page.get_by_text("Email đã được xác minh")).to_be_visible()
    sign_in(page, live_server.url, "lan.nguyen@example.vn", "matkhau-an-toan-1")
    page.goto(live_server.url + "/don-hang")
    row = page.locator(".order-row", has_text=number)
    expect(row.locator(".order-status")).to_have_text("Chờ xác nhận")
    tabs = page.get_by_role("navigation", name="Lọc đơn theo trạng thái")
    expect(tabs.get_by_role("link", name="Chờ xác nhận 1")).to_be_visible()
    page.screenshot(path=str(artifacts / "my-orders-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    tabs.get_by_role("link", name="Đã giao").click()
    expect(page.get_by_text("Không có đơn nào ở mục này.")).to_be_visible()
    tabs.get_by_role("link", name="Chờ xác nhận 1").click()
    expect(page.locator(".order-row", has_text=number)).to_be_visible()


def test_guest_buys_from_two_producers_registers_and_pays_by_card(page, live_server):
    fill_cart_and_delivery(page, live_server, "minh.tran@example.vn")
    page.get_by_role("radio", name=re.compile(r"Visa \W Mastercard")).check()
    page.get_by_role("button", name=re.compile("^Đặt hàng")).click()

    expect(page.get_by_role("heading", name="Thanh toán bằng thẻ")).to_be_visible()
    card = page.locator("#card-element")
    expect(card.locator("input")).to_have_count(5)
    card.locator("input[placeholder=number]").fill("4242424242424242")
    card.locator("input[placeholder=exp_month]").fill("12")
    card.locator("input[placeholder=exp_year]").fill("30")
    card.locator("input[placeholder=cvc]").fill("123")
    card.locator("input[placeholder=postal_code]").fill("10000")
    page.get_by_role("button", name=re.compile("^Thanh toán")).click()

    # A guest's order page (the account is not verified yet): its link carries the order's token.
    expect(page).to_have_url(re.compile(r"/don-hang/OC\d{6}-\w{5}\?t=[\w-]+$"))
    expect(page.locator(".order-meta .order-status")).to_have_text("Đã thanh toán")
    expect(page.locator(".shop-group")).to_have_count(2)
    page.goto(live_server.url + "/gio-hang")
    expect(page.get_by_text("Giỏ hàng của bạn đang trống.")).to_be_visible()

"""The cached catalog pages are the same for everyone; each shopper's own header comes after."""

import re
import urllib.request

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def sign_in(page, base: str) -> None:
    page.goto(base + "/tai-khoan/dang-nhap")
    page.get_by_label("Email").fill("khach@demo.ocop.vn")
    page.get_by_label("Mật khẩu", exact=True).fill("demo12345")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator(".flash")).to_be_visible()


def test_a_signed_in_shopper_sees_their_name_and_cart_on_a_shared_cached_page(browser, live_server, artifacts):
    base = live_server.url
    url = base + "/san-pham/mat-ong-hoa-rung"
    anonymous = browser.new_context(locale="vi-VN").new_page()
    anonymous.goto(url)  # warms the shared cache
    expect(anonymous.locator(".account-label")).to_have_text("Đăng nhập")

    for width in (390, 1440):
        shopper = browser.new_context(viewport={"width": width, "height": 900}, locale="vi-VN").new_page()
        sign_in(shopper, base)
        shopper.goto(url)
        shopper.get_by_role("button", name="Thêm vào giỏ").first.click()
        expect(shopper.locator(".flash")).to_contain_text("Đã thêm vào giỏ hàng")
        shopper.goto(url)  # the shared page again, now from the cache
        expect(shopper.locator(".account-name")).to_have_text(re.compile(r"\S"))
        expect(shopper.locator('[data-personal="cart"]')).to_be_visible()
        expect(shopper.locator('[data-personal="cart"]')).not_to_have_text("0")
        shopper.screenshot(path=str(artifacts / f"personal-header-{width}.png"))
        shopper.locator(".account-menu summary").click()
        expect(shopper.get_by_role("button", name="Đăng xuất")).to_be_visible()
        shopper.context.close()

    with urllib.request.urlopen(url) as response:  # what the cache hands everyone
        assert response.headers["X-Cache"] == "HIT"
        html = response.read().decode()
    assert "Đăng xuất" not in html and "csrf_token" not in html and "account-name" not in html
    anonymous.reload()
    expect(anonymous.locator(".account-label")).to_have_text("Đăng nhập")
    expect(anonymous.locator('[data-personal="cart"]')).to_be_hidden()
    anonymous.context.close()


def test_a_form_on_a_cached_page_works_without_a_token_but_not_from_another_site(page, live_server):
    page.goto(live_server.url + "/san-pham/banh-da-ke")
    assert page.locator('#buy-form input[name="csrf_token"]').count() == 0
    page.get_by_role("button", name="Thêm vào giỏ").first.click()
    expect(page.locator(".flash")).to_contain_text("Đã thêm vào giỏ hàng")

    request = urllib.request.Request(
        live_server.url + "/gio-hang/them",
        data=b"variant_id=1&quantity=1",
        headers={"Origin": "https://evil.example", "Content-Type": "application/x-www-form-urlencoded"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 400
    assert 'name="csrf_token"' not in refused.value.read().decode()

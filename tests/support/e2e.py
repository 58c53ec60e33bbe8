"""What the browser journeys share."""

from playwright.sync_api import expect

DEMO_PASSWORD = "demo12345"
SHOPPER, PRODUCER, OPERATOR = "khach@demo.ocop.vn", "nongdan@demo.ocop.vn", "vanhanh@demo.ocop.vn"


def sign_in(page, base: str, email: str = SHOPPER, password: str = DEMO_PASSWORD, next_path: str = "") -> None:
    page.goto(f"{base}/tai-khoan/dang-nhap" + (f"?next={next_path}" if next_path else ""))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator("#main")).to_be_visible()

"""An operator picks a promotion week's products and provinces by searching, with the
keyboard only, sees chips of what is chosen, removes one, and the week is saved with
exactly those; on a phone the pickers fit the screen."""

import secrets
from datetime import timedelta

from playwright.sync_api import expect

from shop.formatting import to_vn, utcnow
from tests.support.e2e import OPERATOR, sign_in


def _fill_the_rest(page, name: str) -> None:
    start = to_vn(utcnow()).replace(second=0, microsecond=0) + timedelta(days=30)
    page.get_by_label("Tên tuần lễ").fill(name)
    page.get_by_label("Bắt đầu (giờ Việt Nam)").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Kết thúc (giờ Việt Nam)").fill((start + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Mức giảm", exact=True).fill("10")


def test_an_operator_picks_products_and_provinces_by_search_with_the_keyboard(browser, card_server, artifacts):
    page = browser.new_context(viewport={"width": 1440, "height": 900}, locale="vi-VN").new_page()
    page.set_default_timeout(30_000)
    sign_in(page, card_server.url, OPERATOR, next_path="/ops/khuyen-mai/moi")

    products = page.get_by_role("combobox", name="Sản phẩm được chọn")
    products.fill("mat ong")  # no tone marks: finds "Mật ong …"
    options = page.get_by_role("listbox", name="Sản phẩm được chọn").get_by_role("option")
    expect(options.first).to_contain_text("Mật ong")
    first_label = options.first.inner_text()
    products.press("ArrowDown")
    products.press("Enter")
    chips = page.get_by_role("list", name="Sản phẩm được chọn: Đã chọn")
    expect(chips.get_by_role("button")).to_have_count(1)
    expect(chips.get_by_role("button").first).to_have_accessible_name(f"Bỏ {first_label}")

    provinces = page.get_by_role("combobox", name="Tỉnh, thành")
    for typed in ("tuyen quang", "ha noi"):
        provinces.fill(typed)
        provinces.press("ArrowDown")
        provinces.press("Enter")
    province_chips = page.get_by_role("list", name="Tỉnh, thành: Đã chọn").get_by_role("button")
    expect(province_chips).to_have_count(2)
    expect(page.get_by_text("Giữ Ctrl (hoặc ⌘) để chọn nhiều mục.")).to_be_hidden()
    page.get_by_role("button", name="Bỏ Hà Nội").click()
    expect(province_chips).to_have_count(1)
    expect(provinces).to_be_focused()
    page.screenshot(path=str(artifacts / "ops-promotion-pickers-1440.png"), full_page=True)

    name = f"Tuần lễ chọn bằng tìm kiếm {secrets.token_hex(2)}"
    _fill_the_rest(page, name)
    page.get_by_role("button", name="Tạo bản nháp").click()

    scope = page.locator("dl.promo-scope")
    expect(scope).to_contain_text(first_label.split(" — ")[0])
    expect(scope).to_contain_text("Tuyên Quang")
    expect(scope).not_to_contain_text("Hà Nội")
    # The saved week comes back with its chips.
    expect(page.get_by_role("list", name="Sản phẩm được chọn: Đã chọn").get_by_role("button")).to_have_count(1)
    page.context.close()


def test_the_pickers_fit_a_phone(browser, card_server, artifacts):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True, locale="vi-VN"
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    sign_in(page, card_server.url, OPERATOR, next_path="/ops/khuyen-mai/moi")
    producers = page.get_by_role("combobox", name="Nhà sản xuất")
    producers.fill("htx")
    option = page.get_by_role("listbox", name="Nhà sản xuất").get_by_role("option").first
    option.click()
    expect(page.get_by_role("list", name="Nhà sản xuất: Đã chọn").get_by_role("button")).to_have_count(1)
    page.get_by_role("combobox", name="Sản phẩm được chọn").fill("mat")
    expect(page.get_by_role("listbox", name="Sản phẩm được chọn").get_by_role("option").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts / "ops-promotion-pickers-390.png"), full_page=True)
    context.close()

"""axe-core over the main pages of each kind of user, on a phone and on a desktop:
no serious or critical violation."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.support.e2e import OPERATOR, PRODUCER, sign_in

pytestmark = pytest.mark.e2e
AXE = Axe()


def violations(page) -> list[str]:
    results = AXE.run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] for n in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def check(page, url: str, found: dict) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    problems = violations(page)
    if problems:
        found[url] = problems


@pytest.mark.parametrize("width", [390, 1440])
def test_shoppers_pages_have_no_serious_accessibility_violations(browser, live_server, width):
    base = live_server.url
    page = browser.new_context(viewport={"width": width, "height": 900}, locale="vi-VN").new_page()
    found: dict = {}
    for path in ("/", "/san-pham", "/san-pham?q=mat+ong&stars=3", "/san-pham/mat-ong-hoa-rung", "/nha-san-xuat"):
        check(page, base + path, found)
    page.goto(base + "/san-pham/banh-da-ke")
    page.get_by_role("button", name="Thêm vào giỏ").click()
    check(page, base + "/gio-hang", found)
    check(page, base + "/thanh-toan", found)
    page.get_by_label("Email").fill(f"a11y{width}@example.vn")
    page.get_by_label("Người nhận").fill("Nguyễn Thị Lan")
    page.get_by_label("Số điện thoại").fill("0912 345 678")
    page.get_by_label("Tỉnh/thành phố").select_option(label="Hà Nội")
    page.get_by_label("Phường/xã").select_option(label="Phường Ba Đình")
    page.get_by_label("Số nhà, đường, thôn/xóm").fill("12 Hàng Bạc")
    page.get_by_role("button", name="Tiếp tục").click()
    expect(page.get_by_role("heading", name="Xác nhận đơn hàng")).to_be_visible()
    if problems := violations(page):
        found["review"] = problems
    page.get_by_role("button", name=re.compile("^Đặt hàng")).click()
    expect(page.get_by_text(re.compile("Đặt hàng thành công"))).to_be_visible()
    if problems := violations(page):
        found["order"] = problems
    page.context.close()
    assert not found, found


@pytest.mark.parametrize("width", [390, 1440])
def test_the_portal_and_console_dashboards_have_no_serious_accessibility_violations(browser, live_server, width):
    base = live_server.url
    found: dict = {}
    for email, path in ((PRODUCER, "/producer"), (OPERATOR, "/ops")):
        page = browser.new_context(viewport={"width": width, "height": 900}, locale="vi-VN").new_page()
        sign_in(page, base, email)
        check(page, base + path, found)
        page.context.close()
    assert not found, found

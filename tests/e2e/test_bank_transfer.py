"""A guest pays by bank transfer: chooses VietQR at checkout, sees the QR and the
payment code, the bank's notification arrives (`flask bank simulate-transfer`,
as SePay would post it), the order page turns to "Đã thanh toán" by itself, and
the producer has the new order in the portal."""

import os
import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.support.e2e import DEMO_PASSWORD, PRODUCER, sign_in
from tests.support.servers import ROOT

pytestmark = pytest.mark.e2e


def simulate(live_server, number: str, *amount: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "bank", "simulate-transfer", number, *amount]
        + ["--url", live_server.url + "/webhooks/sepay"],
        cwd=ROOT,
        env={**os.environ, **live_server.env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_guest_pays_by_vietqr_and_the_producer_gets_the_order(phone, browser, live_server, tmp_path):
    page = phone
    page.goto(
        live_server.url + "/san-pham/mat-ong-hoa-rung", timeout=30_000
    )  # the first page may build the catalog index
    page.get_by_role("button", name="Mua ngay").click()
    page.get_by_label("Email").fill("hoa.le@example.vn")
    page.get_by_label("Người nhận").fill("Lê Thị Hoa")
    page.get_by_label("Số điện thoại").fill("0987 654 321")
    page.get_by_label("Tỉnh/thành phố").select_option(label="Hà Nội")
    ward = page.get_by_label("Phường/xã")
    expect(ward.locator("option", has_text="Phường Ba Đình")).to_have_count(1)
    ward.select_option(label="Phường Ba Đình")
    page.get_by_label("Số nhà, đường, thôn/xóm").fill("5 Hàng Bông")
    page.get_by_role("button", name="Tiếp tục").click()

    page.get_by_role("radio", name=re.compile("Chuyển khoản ngân hàng")).check()
    page.locator(".invoice-box summary").click()
    page.get_by_label("Xuất hóa đơn công ty", exact=True).check()
    page.get_by_label("Tên công ty").fill("Công ty TNHH Ong Vàng")
    page.get_by_label("Mã số thuế").fill("0100109106")
    page.get_by_label("Địa chỉ công ty").fill("12 Lý Thường Kiệt, Hà Nội")
    page.get_by_label("Email nhận hóa đơn").fill("ketoan@ongvang.vn")
    page.get_by_role("button", name=re.compile("^Đặt hàng")).click()

    expect(page.get_by_role("heading", name="Chuyển khoản bằng VietQR")).to_be_visible()
    number = page.get_by_role("heading", level=1).inner_text().split()[-1]
    code = number.replace("-", "")
    expect(page.locator("#vq-note")).to_have_text(code)
    expect(page.locator(".vietqr-code svg")).to_be_visible()
    expect(page.locator(".countdown")).to_be_visible()
    expect(page.get_by_text("0011001234567")).to_be_visible()
    page.screenshot(path=str(tmp_path / "vietqr-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    done = simulate(live_server, number)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"state":"paid"' in done.stdout.replace(" ", "")

    # The page asks every few seconds and reloads when the money has arrived.
    expect(page.locator(".order-meta .order-status")).to_have_text("Đã thanh toán", timeout=15_000)
    expect(page.get_by_text(re.compile("Đã thanh toán: đã nhận"))).to_be_visible()
    expect(page.locator(".vietqr-panel")).to_have_count(0)

    producer = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN").new_page()
    sign_in(producer, live_server.url, PRODUCER, DEMO_PASSWORD)
    producer.goto(live_server.url + "/producer/don-hang")
    row = producer.locator(".po-order").filter(has_text=number)
    expect(row).to_contain_text("Đã chuyển khoản")
    row.get_by_role("link").first.click()
    expect(producer.get_by_role("heading", level=1)).to_contain_text(number)
    expect(producer.get_by_text("0100109106")).to_be_visible()
    producer.context.close()

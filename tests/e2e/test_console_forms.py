"""The console's hand-written forms, now WTForms, posted by a real browser: a refused
shipping table, take-down and bank-transfer action come back as typed with the
message beside the field, and the same forms are accepted when corrected (their
CSRF tokens reach the server). Nothing here changes what other journeys rely on:
the shipping table is saved unchanged and no product is taken down."""

import json
import os
import subprocess
import sys

from playwright.sync_api import expect

from tests.support.e2e import OPERATOR, sign_in
from tests.support.servers import ROOT

# A transfer whose note names no order, as SePay would post it (the app's own headers).
UNMATCHED = """
import json, sys, requests
from wsgi import app
from shop.bank import sepay
with app.app_context():
    body = json.dumps(json.loads(sys.argv[2])).encode()
    print(requests.post(sys.argv[1], data=body, headers=sepay.webhook_headers(body), timeout=15).status_code)
"""


def post_unmatched_transfer(server, content: str) -> None:
    notice = {
        "id": 7_700_001,
        "gateway": "Vietcombank",
        "transactionDate": "2026-12-07 17:30:00",
        "accountNumber": "0011001234567",
        "code": None,
        "content": content,
        "transferType": "in",
        "transferAmount": 75_000,
        "accumulated": 9_000_000,
        "subAccount": None,
        "referenceCode": "FT77000001",
    }
    done = subprocess.run(
        [sys.executable, "-c", UNMATCHED, server.url + "/webhooks/sepay", json.dumps(notice)],
        cwd=ROOT,
        env={**os.environ, **server.env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip() == "200", done.stderr


def test_console_forms_come_back_as_typed_and_are_accepted_when_corrected(browser, card_server, artifacts):
    page = browser.new_context(viewport={"width": 1440, "height": 900}, locale="vi-VN").new_page()
    page.set_default_timeout(30_000)
    sign_in(page, card_server.url, OPERATOR, next_path="/ops/cai-dat")

    # The shipping table: a fee that is no amount is refused beside its cell, kept as typed.
    fee = page.locator("#same_region-bands-0-fee")
    saved_fee = fee.input_value()
    fee.fill("²")
    page.get_by_role("button", name="Lưu bảng phí").click()
    fee = page.get_by_label("Phí (đ)", exact=True).nth(3)  # the label is hidden: the column head says it
    expect(fee).to_have_id("same_region-bands-0-fee")
    expect(fee).to_have_value("²")
    expect(fee).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#same_region-bands-0-fee-error")).to_contain_text("Nhập số tiền là số đồng nguyên")
    page.locator("#phi-van-chuyen").screenshot(path=str(artifacts / "ops-shipping-refused-1440.png"))
    fee.fill(saved_fee)
    page.get_by_role("button", name="Lưu bảng phí").click()
    expect(page.get_by_text("Không có gì thay đổi.")).to_be_visible()

    # A take-down without a reason: refused on its row, the confirmation left open.
    page.goto(card_server.url + "/ops/san-pham")
    page.locator("summary", has_text="Gỡ khỏi chợ").first.click()
    reason = page.get_by_label("Lý do (nhà sản xuất sẽ đọc)").first
    reason.fill("   ")
    page.get_by_role("button", name="Gỡ sản phẩm").first.click()
    reason = page.locator("details.oc-confirm[open]").get_by_label("Lý do (nhà sản xuất sẽ đọc)")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(page.locator("details.oc-confirm[open] .field-error")).to_have_text(
        "Nhập lý do: nhà sản xuất sẽ đọc lý do này."
    )

    # A transfer naming no order: matched to a wrong number (refused beside it), then
    # flagged for refund, then recorded as sent back.
    post_unmatched_transfer(card_server, "tien hang khong ro ma e2e")
    page.goto(card_server.url + "/ops/chuyen-khoan")
    row = page.locator("tr", has_text="tien hang khong ro ma e2e")
    row.get_by_label("Mã đơn hàng").fill("OC000000-ZZZZZ")
    row.get_by_role("button", name="Ghép vào đơn").click()
    row = page.locator("tr", has_text="tien hang khong ro ma e2e")
    expect(row.get_by_label("Mã đơn hàng")).to_have_value("OC000000-ZZZZZ")
    expect(row.locator(".field-error")).to_have_text("Không có đơn chuyển khoản nào mang mã OC000000-ZZZZZ.")
    page.screenshot(path=str(artifacts / "ops-bank-refused-1440.png"), full_page=True)
    row.get_by_label("Lý do hoàn").fill("Không tìm ra đơn (e2e)")
    row.get_by_role("button", name="Đánh dấu cần hoàn").click()
    expect(page.get_by_text("Đã đánh dấu cần hoàn tiền.")).to_be_visible()
    page.get_by_role("link", name="Cần hoàn", exact=True).click()
    row = page.locator("tr", has_text="tien hang khong ro ma e2e")
    row.get_by_label("Mã GD hoàn tiền").fill("FT-E2E-0001")
    row.get_by_role("button", name="Đã hoàn tiền").click()
    expect(page.get_by_text("Đã ghi nhận hoàn tiền.")).to_be_visible()
    page.context.close()

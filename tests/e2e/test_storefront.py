"""Journeys a shopper takes through the storefront, in Chromium."""

import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_shopper_searches_without_tone_marks_and_opens_the_product(page, live_server):
    page.goto(live_server.url + "/")
    page.get_by_label("Tìm sản phẩm OCOP").fill("banh da")
    page.get_by_label("Tìm sản phẩm OCOP").press("Enter")
    expect(page).to_have_url(re.compile(r"/san-pham\?q=banh\+da"))
    titles = page.locator(".card-title")
    expect(titles.first).to_contain_text("Bánh đa")
    titles.filter(has_text=re.compile(r"^Bánh đa Kế$")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Bánh đa Kế")
    expect(page.locator(".buybox .ocop-badge")).to_contain_text("OCOP")
    expect(page.locator("#price")).to_have_text(re.compile(r"^\d{1,3}(\.\d{3})+\s₫$"))
    page.get_by_text(re.compile("Giấy chứng nhận OCOP \\d sao")).click()
    expect(page.locator(".cert dl")).to_contain_text("Hiệu lực đến")


def test_choosing_a_variant_updates_the_price(page, live_server):
    page.goto(live_server.url + "/san-pham/banh-da-ke")
    chips = page.locator(".variant-chip")
    first_price = page.locator("#price").inner_text()
    chips.nth(1).click()
    expect(page.locator("#price")).not_to_have_text(first_price)
    expect(page.locator("#sku")).to_have_text(chips.nth(1).locator("input").get_attribute("data-sku"))


def test_language_switch_turns_the_site_english_and_back(page, live_server):
    page.goto(live_server.url + "/san-pham")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sản phẩm OCOP")
    page.get_by_role("button", name="EN").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("OCOP products")
    expect(page).to_have_url(re.compile(r"/san-pham$"))
    page.get_by_role("button", name="VI").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sản phẩm OCOP")


def test_on_a_phone_the_header_offers_the_other_language_and_keeps_room_for_search(phone, live_server):
    page = phone
    page.goto(live_server.url + "/")
    expect(page.get_by_role("button", name="VI")).to_be_hidden()
    page.get_by_role("button", name="EN").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="EN")).to_be_hidden()
    assert page.locator("#site-search").bounding_box()["width"] >= 130  # ~105 with both VI and EN shown
    page.get_by_role("button", name="VI").click()
    expect(page.locator("html")).to_have_attribute("lang", "vi")


def test_filters_are_shareable_links(phone, live_server):
    page = phone
    page.goto(live_server.url + "/san-pham")
    page.locator("summary", has_text="Bộ lọc").click()
    page.get_by_role("radio", name=re.compile("^Từ 5 sao")).check()
    page.get_by_role("button", name="Áp dụng").click()
    expect(page).to_have_url(re.compile(r"stars=5"))
    shared = page.url
    count = page.locator(".card").count()
    assert count > 0
    page.goto(shared)
    expect(page.locator(".card")).to_have_count(count)
    for badge in page.locator(".card .ocop-badge").all():
        expect(badge).to_contain_text("★★★★★")


def test_desktop_shows_the_filter_panel_open(page, live_server):
    page.goto(live_server.url + "/san-pham")
    expect(page.get_by_role("radio", name=re.compile("^Từ 4 sao"))).to_be_visible()


def test_listing_fits_a_390px_phone_without_sideways_scrolling(phone, live_server, artifacts):
    phone.goto(live_server.url + "/san-pham")
    phone.screenshot(path=str(artifacts / "listing-390.png"), full_page=True)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert phone.locator(".card").count() > 0


def test_a_search_longer_than_a_request_line_gets_the_shops_page_not_the_servers(live_server):
    # gunicorn's own limit would answer "Request Line is too large" in English; the app answers instead.
    try:
        urllib.request.urlopen(live_server.url + "/san-pham?q=" + "mat+ong+" * 1500, timeout=30)  # 12 KB
    except urllib.error.HTTPError as err:
        body = err.read().decode("utf-8")
        assert err.code == 414 and "Địa chỉ trang quá dài" in body
    else:
        raise AssertionError("a 12 KB address was answered with 200")

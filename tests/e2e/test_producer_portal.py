"""A producer on a phone adds a product with an image, sets its stock, and once a
shopper has bought it, confirms and ships the order from the portal."""

import re
import secrets
from datetime import date, timedelta

import pytest
from PIL import Image
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

PRODUCER_EMAIL, PRODUCER_PASSWORD = "nongdan@demo.ocop.vn", "demo12345"  # HTX chăn nuôi ong Phong Thổ
OPERATOR_EMAIL = "vanhanh@demo.ocop.vn"  # same demo password


def fits_the_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= 390


def a_photo(tmp_path):
    path = tmp_path / "mat-ong-bac-ha.jpg"
    Image.new("RGB", (900, 900), (214, 150, 40)).save(path, "JPEG", quality=85)
    return path


def add_a_product_with_an_image_and_stock(page, live_server, tmp_path) -> tuple[str, str, str]:
    """Through the portal's catalog pages, then its certificate sent for checking;
    returns (product name, the certificate's decision number, the product's portal page)."""
    name = f"Mật ong bạc hà {secrets.token_hex(3)}"
    page.goto(live_server.url + "/producer/san-pham/them")
    page.get_by_label("Tên sản phẩm").fill(name)
    page.get_by_label("Nhóm sản phẩm").select_option(label="Mật ong, mật khác, nông sản khác")
    page.get_by_label("Mô tả sản phẩm").fill("Mật ong hoa bạc hà cao nguyên đá, quay từ cầu đã vít nắp.")
    page.get_by_role("button", name="Tạo sản phẩm").click()
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()

    page.get_by_role("link", name="+ Thêm phân loại").click()
    page.get_by_label("Tên phân loại").fill("Hũ 300 g")
    page.get_by_label("Giá bán (đồng)").fill("150.000")
    page.get_by_label("Tồn kho").fill("0")
    page.get_by_label("Khối lượng khi gửi (gam)").fill("450")
    page.get_by_label("Mã SKU").fill(f"MBH-{secrets.token_hex(3).upper()}")
    page.get_by_role("button", name="Lưu phân loại").click()
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()

    # Stock is set inline, as a producer restocks.
    page.get_by_label("Tồn kho Hũ 300 g").fill("12")
    page.get_by_role("button", name="Lưu tồn kho Hũ 300 g").click()
    expect(page.get_by_role("status").filter(has_text="Đã lưu tồn kho")).to_be_visible()

    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()
    page.get_by_label("Thêm ảnh sản phẩm").set_input_files(str(a_photo(tmp_path)))
    page.get_by_role("button", name="Tải ảnh lên").click()
    expect(page.locator(".pp-image img")).to_have_count(1)

    page.get_by_role("button", name="Đăng bán").click()
    # OCOP only: published, but not on sale until an operator verifies its certificate.
    expect(page.get_by_role("note").filter(has_text="Chưa được bán trên chợ")).to_be_visible()
    expect(page.get_by_role("link", name="Xem trên chợ")).to_have_count(0)
    product_page = page.url
    page.get_by_role("link", name="Thêm giấy chứng nhận OCOP cho sản phẩm này").click()
    expect(page.get_by_label("Sản phẩm", exact=True)).to_have_value(re.compile(r"\d+"))
    page.get_by_label("Hạng sao OCOP").select_option(label="4 sao")
    decision = f"{secrets.randbelow(9000) + 1000}/QĐ-UBND"
    page.get_by_label("Số quyết định").fill(decision)
    page.get_by_label("Ngày quyết định").fill((date.today() - timedelta(days=40)).isoformat())
    page.get_by_label("Cấp công nhận").select_option(label="Cấp tỉnh (UBND tỉnh)")
    page.get_by_label("Tệp quyết định (PDF hoặc ảnh)").set_input_files(str(a_photo(tmp_path)))
    page.get_by_role("button", name="Gửi để xác minh").click()
    expect(page.get_by_text(decision).first).to_be_visible()
    return name, decision, product_page


def verify_the_certificate(page, live_server, decision: str) -> None:
    """An operator checks the decision against its document and verifies it."""
    page.goto(live_server.url + "/tai-khoan/dang-nhap?next=/ops/giay-chung-nhan")
    page.get_by_label("Email").fill(OPERATOR_EMAIL)
    page.get_by_label("Mật khẩu").fill(PRODUCER_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    card = page.locator("li").filter(has_text=decision)
    expect(card.get_by_role("img")).to_be_visible()  # the document beside the data
    card.get_by_role("button", name="Xác minh").click()
    expect(page.locator("li").filter(has_text=decision)).to_have_count(0)
    page.context.clear_cookies()  # signed out: what follows is a guest


def the_product_goes_on_sale(page, live_server) -> str:
    """Back on the producer's product page: on sale now; returns its shop URL."""
    shop_link = page.get_by_role("link", name="Xem trên chợ")
    expect(shop_link).to_be_visible()
    return live_server.url + shop_link.get_attribute("href")


def buy_as_a_guest(page, product_url: str) -> str:
    """Cash on delivery, no account; returns the order number."""
    page.goto(product_url)
    page.get_by_role("button", name="Mua ngay").click()
    expect(page).to_have_url(re.compile(r"/thanh-toan$"))
    page.get_by_label("Email").fill("thu.ha@example.vn")
    page.get_by_label("Người nhận").fill("Phạm Thu Hà")
    page.get_by_label("Số điện thoại").fill("0987 654 321")
    page.get_by_label("Tỉnh/thành phố").select_option(label="Hà Nội")
    ward = page.get_by_label("Phường/xã")
    expect(ward.locator("option", has_text="Phường Ba Đình")).to_have_count(1)
    ward.select_option(label="Phường Ba Đình")
    page.get_by_label("Số nhà, đường, thôn/xóm").fill("5 Phan Đình Phùng")
    page.get_by_role("button", name="Tiếp tục").click()
    expect(page.get_by_role("radio", name=re.compile("Thanh toán khi nhận hàng"))).to_be_checked()
    page.get_by_role("button", name=re.compile("^Đặt hàng")).click()
    expect(page.get_by_text(re.compile("Đặt hàng thành công"))).to_be_visible()
    return page.get_by_role("heading", level=1).inner_text().split()[-1]


def test_a_producer_adds_a_product_then_confirms_and_ships_its_first_order(
    phone, page, live_server, artifacts, tmp_path
):
    producer = phone
    producer.goto(live_server.url + "/tai-khoan/dang-nhap?next=/producer")
    producer.get_by_label("Email").fill(PRODUCER_EMAIL)
    producer.get_by_label("Mật khẩu").fill(PRODUCER_PASSWORD)
    producer.get_by_role("button", name="Đăng nhập").click()
    expect(producer.get_by_role("heading", level=1, name="Tổng quan")).to_be_visible()
    # On the phone the portal menu is one sideways-scrolling row, not a block above every page.
    menu = producer.get_by_role("navigation", name="Kênh người bán").locator("ul")
    assert menu.bounding_box()["height"] < 60
    assert menu.evaluate("m => m.scrollWidth > m.clientWidth")

    name, decision, product_page = add_a_product_with_an_image_and_stock(producer, live_server, tmp_path)
    shopper = page
    verify_the_certificate(shopper, live_server, decision)
    producer.goto(product_page)
    product_url = the_product_goes_on_sale(producer, live_server)

    number = buy_as_a_guest(shopper, product_url)
    order_page = shopper.url

    # The new order cannot be missed: the dashboard card and the nav badge.
    producer.goto(live_server.url + "/producer")
    new_orders = producer.locator(".po-card-new")
    expect(new_orders).to_have_class(re.compile("is-hot"))
    expect(producer.locator(".portal-nav .portal-badge")).to_be_visible()
    assert fits_the_phone(producer)
    producer.screenshot(path=str(artifacts / "portal-dashboard-390.png"), full_page=True)
    new_orders.click()

    row = producer.locator(".po-order").filter(has_text=number)
    expect(row).to_contain_text(name)
    expect(row).to_contain_text("COD")
    assert fits_the_phone(producer)
    row.get_by_role("link").click()

    expect(producer.get_by_role("heading", level=1)).to_contain_text(number)
    expect(producer.get_by_role("link", name=re.compile("0987"))).to_have_attribute("href", re.compile(r"^tel:0987"))
    producer.get_by_role("button", name="Xác nhận đơn").click()
    expect(producer.get_by_role("status").filter(has_text="Đã xác nhận đơn")).to_be_visible()

    producer.get_by_label("Đơn vị vận chuyển").fill("GHN")
    producer.get_by_label("Mã vận đơn").fill("GHN0E2E123")
    assert fits_the_phone(producer)
    producer.screenshot(path=str(artifacts / "portal-order-ship-390.png"), full_page=True)
    producer.get_by_role("button", name="Giao hàng").click()
    expect(producer.locator(".order-meta .order-status")).to_have_text("Đang giao")
    expect(producer.get_by_role("button", name="Đã giao")).to_be_visible()

    # The packing slip for the parcel.
    producer.get_by_role("link", name="In phiếu giao hàng").click()
    expect(producer.locator(".slip-number")).to_have_text(number)
    expect(producer.locator(".slip-qr svg")).to_be_visible()
    expect(producer.locator(".slip-cod")).to_contain_text("Thu hộ (COD)")

    # The shopper sees the parcel on its way.
    shopper.goto(order_page)
    expect(shopper.locator(".timeline li.current")).to_contain_text("Đang giao")
    expect(shopper.get_by_text("GHN0E2E123")).to_be_visible()

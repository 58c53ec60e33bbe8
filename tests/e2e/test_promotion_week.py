"""A promotion week from start to settlement, in Chromium: the operator creates an
invitation-only week, the producer enrols a SKU with a promotional price and a
quota, the operator approves it, a shopper sees that price and pays it by card,
the producer delivers, and once the week's payouts are closed the producer's
statement shows what it is owed."""

import re
import secrets
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from shop import create_app
from shop.catalog.models import Product, Variant
from shop.extensions import db
from shop.formatting import to_vn, utcnow, vnd
from shop.ledger.models import LedgerEntry
from shop.orders.models import Order, OrderLine
from shop.producers.models import Producer
from shop.promotions import rules
from shop.promotions.models import PromotionEnrolment
from tests.e2e.test_card_payment import enter_card

pytestmark = pytest.mark.e2e

PASSWORD = "demo12345"
OPERATOR, PRODUCER = "vanhanh@demo.ocop.vn", "nongdan@demo.ocop.vn"
PRODUCER_SLUG = "htx-chan-nuoi-ong-phong-tho"


def _app(server):
    media = Path(server.env["SHOP_INSTANCE_DIR"]) / "media"
    return create_app("testing", SQLALCHEMY_DATABASE_URI=server.env["DATABASE_URL"], MEDIA_DIR=str(media))


def in_db(server, work):
    app = _app(server)
    with app.app_context():
        try:
            return work()
        finally:
            db.session.remove()
            db.engine.dispose()


def a_free_sku(server) -> tuple[int, str, str, str, int]:
    """One of the demo producer's listed SKUs with stock and no enrolment yet:
    (variant id, product name, product slug, variant label, price)."""

    def find():
        enrolled = select(PromotionEnrolment.variant_id)
        row = db.session.execute(
            select(Variant.id, Product.name, Product.slug, Variant.label, Variant.price)
            .join(Product)
            .join(Producer)
            .where(
                Producer.slug == PRODUCER_SLUG,
                Product.listed.is_(True),
                Variant.stock >= 5,
                Variant.id.not_in(enrolled),
            )
            .order_by(Variant.price.desc())
        ).first()
        return tuple(row)

    return in_db(server, find)


def sign_in(page, server, email: str, next_path: str) -> None:
    page.goto(f"{server.url}/tai-khoan/dang-nhap?next={next_path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()


def money(amount: int) -> re.Pattern:
    return re.compile(re.escape(vnd(amount)).replace("\\\xa0", r"\s*").replace("\xa0", r"\s*"))


def test_a_promotion_week_from_invitation_to_the_producers_statement(browser, page, phone, card_server, artifacts):
    server = card_server
    variant_id, product_name, product_slug, label, price = a_free_sku(server)
    promo_price = price * 3 // 4 // 1000 * 1000  # a round price about a quarter off

    # The operator creates an invitation-only week, starting now and lasting two days.
    operator = browser.new_context(viewport={"width": 1440, "height": 900}, locale="vi-VN").new_page()
    operator.set_default_timeout(10_000)
    sign_in(operator, server, OPERATOR, "/ops/khuyen-mai/moi")
    week = f"Tuần lễ mật ong {secrets.token_hex(2)}"
    now_vn = to_vn(utcnow()).replace(second=0, microsecond=0)
    operator.get_by_label("Tên tuần lễ").fill(week)
    operator.get_by_label("Bắt đầu (giờ Việt Nam)").fill(now_vn.strftime("%Y-%m-%dT%H:%M"))
    operator.get_by_label("Kết thúc (giờ Việt Nam)").fill((now_vn + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    operator.get_by_label("Cách giảm").select_option("percent")
    operator.get_by_label("Mức giảm", exact=True).fill("20")
    operator.get_by_label("Phần sàn chịu (%)").fill("50")
    operator.get_by_label("Chỉ dành cho nhà sản xuất được mời đăng ký sản phẩm").check()
    operator.get_by_role("button", name="Tạo bản nháp").click()
    operator.get_by_role("button", name="Công bố tuần lễ").click()
    expect(operator.get_by_role("status").first).to_be_visible()

    # The producer, on a phone, sees the invitation and enrols the SKU.
    producer = phone
    sign_in(producer, server, PRODUCER, "/producer/khuyen-mai")
    invitation = producer.locator("section.promo-invite").filter(has_text=week)
    expect(invitation).to_be_visible()
    invitation.get_by_label("Sản phẩm (SKU)").select_option(str(variant_id))
    invitation.get_by_label("Giá khuyến mãi (₫)").fill(str(promo_price))
    invitation.get_by_label("Số suất giá khuyến mãi").fill("3")
    invitation.get_by_role("button", name="Gửi đăng ký").click()
    invitation = producer.locator("section.promo-invite").filter(has_text=week)
    expect(invitation.locator(".promo-enrolment")).to_contain_text(product_name)
    assert producer.evaluate("document.documentElement.scrollWidth") <= 390
    producer.screenshot(path=str(artifacts / "portal-promotion-enrol-390.png"), full_page=True)

    # The operator approves it.
    operator.goto(server.url + "/ops/khuyen-mai")
    operator.get_by_role("link", name=week).first.click()
    operator.get_by_role("link", name=re.compile("Đăng ký")).first.click()
    operator.locator("li, tr").filter(has_text=product_name).get_by_role("button", name="Duyệt").click()
    expect(operator.get_by_role("status").first).to_be_visible()

    # A shopper sees the promotional price on the product page and pays it by card.
    shopper = page
    shopper.goto(f"{server.url}/san-pham/{product_slug}")
    shopper.locator(f"input[name=variant_id][value='{variant_id}']").check(force=True)
    expect(shopper.locator("#price")).to_contain_text(money(promo_price))
    expect(shopper.get_by_role("link", name=week)).to_be_visible()
    shopper.get_by_role("button", name="Mua ngay").click()
    shopper.get_by_label("Email").fill(f"mua.{secrets.token_hex(3)}@example.vn")
    shopper.get_by_label("Người nhận").fill("Trần Minh Anh")
    shopper.get_by_label("Số điện thoại").fill("0903 123 456")
    shopper.get_by_label("Tỉnh/thành phố").select_option(label="Hà Nội")
    ward = shopper.get_by_label("Phường/xã")
    expect(ward.locator("option", has_text="Phường Ba Đình")).to_have_count(1)
    ward.select_option(label="Phường Ba Đình")
    shopper.get_by_label("Số nhà, đường, thôn/xóm").fill("5 Phan Đình Phùng")
    shopper.get_by_role("button", name="Tiếp tục").click()
    line = shopper.locator(".cart-line").filter(has_text=product_name)
    expect(line.locator(".price-promo")).to_contain_text(money(promo_price))
    expect(line.locator(".price-old").first).to_contain_text(money(price))
    expect(shopper.locator(".saving-total")).to_contain_text(money(price - promo_price))
    shopper.screenshot(path=str(artifacts / "checkout-promotion-1280.png"), full_page=True)
    shopper.get_by_role("radio", name=re.compile("Thẻ Visa")).check()
    shopper.get_by_role("button", name=re.compile("^Đặt hàng")).click()
    expect(shopper.locator("#card-element input")).to_have_count(5)
    enter_card(shopper, "4242424242424242")
    shopper.get_by_role("button", name=re.compile("^Thanh toán")).click()
    expect(shopper).to_have_url(re.compile(r"/don-hang/OC[\w-]+\?t="))
    number = shopper.url.split("/don-hang/")[1].split("?")[0]

    def the_line():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        line = db.session.scalars(
            select(OrderLine).where(OrderLine.sub_order_id.in_([s.id for s in order.sub_orders]))
        ).one()
        return order.status, line.unit_price, line.line_total, line.operator_funded, line.commission_bp

    status, unit_price, line_total, operator_funded, rate_bp = in_db(server, the_line)
    assert (status, unit_price, line_total) == ("paid", price, promo_price)
    discount = price - promo_price
    producer_funded = discount - discount * 50 // 100
    assert operator_funded == discount - producer_funded
    net = price - producer_funded - rules.commission(price - producer_funded, rate_bp)

    # The producer confirms, ships and delivers.
    producer.goto(server.url + "/producer/don-hang")
    producer.locator(".po-order").filter(has_text=number).get_by_role("link").first.click()
    producer.get_by_role("button", name="Xác nhận đơn").click()
    producer.get_by_label("Đơn vị vận chuyển").fill("Viettel Post")
    producer.get_by_label("Mã vận đơn").fill("VTP" + secrets.token_hex(4).upper())
    producer.get_by_role("button", name="Giao hàng").click()
    producer.get_by_label("Khách đã nhận được hàng").check()
    producer.get_by_role("button", name="Đã giao").click()
    expect(producer.locator(".order-meta .order-status")).to_have_text("Đã giao")

    # The week's payouts are closed once the week is over: move this delivery's
    # entries into last week, as if the test had waited for Monday.
    def last_week():
        db.session.execute(
            update(LedgerEntry)
            .where(
                LedgerEntry.producer_id == select(Producer.id).where(Producer.slug == PRODUCER_SLUG).scalar_subquery()
            )
            .values(created_at=utcnow() - timedelta(days=7))
        )
        db.session.commit()

    in_db(server, last_week)
    operator.goto(server.url + "/ops/doi-soat")
    operator.get_by_role("button", name="Chốt kỳ").click()
    expect(operator.get_by_role("status").first).to_be_visible()

    # The producer's statement shows the net amount of the promotional sale.
    producer.goto(server.url + "/producer/doi-soat")
    producer.locator("a[href*='/producer/doi-soat/']").first.click()
    statement_line = producer.locator("tr, li").filter(has_text=number).filter(has_text=product_name).first
    expect(statement_line).to_contain_text(money(net))
    assert producer.evaluate("document.documentElement.scrollWidth") <= 390
    producer.screenshot(path=str(artifacts / "portal-statement-390.png"), full_page=True)

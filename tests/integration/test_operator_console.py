"""The operators' console: the dashboard's figures for a known set of orders, the
producers queue (approve, reject, suspend, reinstate, each with a reason that is
e-mailed), the certificates queue and its expiry lists, and the audit log that
records every decision. Orders are placed by the real checkout service."""

import dataclasses
import html
import re
import secrets
from datetime import timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from shop.accounts.services import create_user
from shop.audit.models import AuditEntry
from shop.catalog.models import Category, Product, Variant
from shop.checkout.services import place_order
from shop.extensions import db
from shop.formatting import today_vn, utcnow, vnd
from shop.ledger.models import LedgerEntry
from shop.notifications.models import OutboxEmail
from shop.operator import audit_queries, queries
from shop.orders import services as orders
from shop.orders.models import Order, SubOrder
from shop.places.models import Province
from shop.producers.models import Certificate, Producer
from shop.producers.rules import certificate_expiry
from tests.support.auth import PASSWORD, sign_in
from tests.support.factories import (
    BEES,
    TEAS,
    Goods,
    TwoProducerShop,
    cart_with,
    category,
    delivery_to,
    make_producer,
    make_product,
    two_producer_shop,
)


class FreshContextClient(FlaskClient):
    """Each request in its own app context, as in production: clients of different
    users never share `g` or the database session."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(app, tmp_path):
    app.config["CERTIFICATE_DIR"] = str(tmp_path / "certificates")
    app.test_client_class = FreshContextClient
    return app


def text(response) -> str:
    """The page's visible text, tags dropped and spaces folded (for phrases split by markup)."""
    body = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(body))


def money(amount: int) -> str:
    """An amount as `text` shows it (its no-break space folded)."""
    return re.sub(r"\s+", " ", vnd(amount))


def fresh(model, id_):
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(model, id_)


def audit_rows(**where) -> list[AuditEntry]:
    db.session.rollback()
    stmt = select(AuditEntry).order_by(AuditEntry.id)
    for name, value in where.items():
        stmt = stmt.where(getattr(AuditEntry, name) == value)
    return list(db.session.scalars(stmt))


def outbox(kind: str) -> list[OutboxEmail]:
    db.session.rollback()
    return list(db.session.scalars(select(OutboxEmail).where(OutboxEmail.kind == kind).order_by(OutboxEmail.id)))


@pytest.fixture
def operator_id(app) -> int:
    return create_user("vanhanh@example.vn", "operator", PASSWORD, name="Chị Vận Hành").id


@pytest.fixture
def ops(app, operator_id):
    """A client signed in as an operator."""
    return sign_in(app.test_client(), "vanhanh@example.vn")


@pytest.fixture
def shop(app) -> TwoProducerShop:
    """Two approved producers with an owner each; a 4-star honey (a food) and a
    3-star tea (a drink)."""
    shop = two_producer_shop(
        dataclasses.replace(BEES, goods=(Goods("Mật ong hoa rừng", 100_000, 50, stars=4),)),
        dataclasses.replace(TEAS, goods=(Goods("Trà Tân Cương", 50_000, 50, category_slug="do-uong-khong-con"),)),
    )
    db.session.get(Producer, shop.mine).email = "htx@phongtho.vn"
    db.session.commit()
    return shop


def variant(product_id: int) -> Variant:
    return db.session.scalars(select(Variant).where(Variant.product_id == product_id)).first()


def place(items: list[tuple[int, int]], province: str = "Hà Nội", days_ago: float = 0) -> Order:
    """Place a cash-on-delivery order for (product id, quantity) pairs, as if `days_ago` days ago."""
    cart_id = cart_with(*[(variant(pid), qty) for pid, qty in items])
    order = place_order(
        cart_id=cart_id,
        user_id=None,
        delivery=delivery_to(province),
        payment_method="cod",
        checkout_key=secrets.token_urlsafe(16),
    )
    if days_ago:
        order = db.session.get(Order, order.id)
        order.created_at = utcnow() - timedelta(days=days_ago)
        db.session.commit()
    return db.session.get(Order, order.id)


def part(order: Order, producer_id: int) -> SubOrder:
    return next(s for s in fresh(Order, order.id).sub_orders if s.producer_id == producer_id)


# --- who may see the console ------------------------------------------------------------------

CONSOLE_GETS = (
    "/ops/",
    "/ops/?days=7",
    "/ops/nha-san-xuat",
    "/ops/nha-san-xuat/{producer}",
    "/ops/giay-chung-nhan",
    "/ops/giay-chung-nhan?tab=expired",
    "/ops/giay-chung-nhan/{certificate}/tai-lieu",
    "/ops/nhat-ky",
)
CONSOLE_POSTS = (
    "/ops/ho-so/{producer}/duyet",
    "/ops/ho-so/{producer}/tu-choi",
    "/ops/nha-san-xuat/{producer}/tam-ngung",
    "/ops/nha-san-xuat/{producer}/mo-lai",
    "/ops/giay-chung-nhan/{certificate}/xac-minh",
    "/ops/giay-chung-nhan/{certificate}/tu-choi",
)


def test_no_one_but_an_operator_finds_any_console_page(app, shop):
    create_user("khach@example.vn", "shopper", PASSWORD)
    certificate = db.session.scalars(select(Certificate.id)).first()
    ids = {"producer": shop.mine, "certificate": certificate}
    visitors = {
        "guest": app.test_client(),
        "shopper": sign_in(app.test_client(), "khach@example.vn"),
        "producer": sign_in(app.test_client(), "ong@example.vn"),
    }
    for who, client in visitors.items():
        for url in CONSOLE_GETS:
            assert client.get(url.format(**ids)).status_code == 404, (who, url)
        for url in CONSOLE_POSTS:
            assert client.post(url.format(**ids), data={"reason": "x"}).status_code == 404, (who, url)
    assert fresh(Producer, shop.mine).status == "approved"
    assert audit_rows() == []


def test_every_console_page_answers_an_operator_without_data(ops):
    for url in ("/ops/", "/ops/?days=90", "/ops/nha-san-xuat", "/ops/giay-chung-nhan?tab=expiring", "/ops/nhat-ky"):
        response = ops.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store"


POST_FORM = re.compile(r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", re.S | re.I)


def test_every_post_form_on_the_console_pages_carries_its_csrf_token(app, ops, shop):
    """Console pages are personal, so their forms carry the session's token; a macro
    imported without context once rendered none, and a form whose view validates
    would then refuse every real browser post."""
    place([(shop.honey_product, 1)])
    page_urls = (
        "/ops/nha-san-xuat/{producer}",
        "/ops/ma-giam-gia",
        "/ops/ma-giam-gia/moi",
        "/ops/doi-soat",
        "/ops/doi-soat/hoa-hong",
        "/ops/doi-soat/nha-san-xuat/{producer}",
        "/ops/email-loi",
        "/ops/cai-dat",
        "/ops/chuyen-khoan",
    )
    app.config["WTF_CSRF_ENABLED"] = True
    checked = 0
    for url in page_urls:
        response = ops.get(url.format(producer=shop.mine))
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        main = page[page.index("<main") : page.index("</main>")]  # the shared header's language form has none
        for form in POST_FORM.findall(main):
            assert 'name="csrf_token"' in form, (url, form[:200])
            checked += 1
    assert checked >= 10


# --- dashboard ------------------------------------------------------------------------------


def test_the_dashboard_adds_up_sales_by_day_province_stars_group_and_producer(ops, shop):
    hanoi = place([(shop.honey_product, 2)], "Hà Nội")  # 200.000 of 4-star food
    both = place([(shop.honey_product, 1), (shop.tea_product, 2)], "Huế", days_ago=3)  # 100.000 food + 100.000 drink
    cancelled = place([(shop.tea_product, 1)], "Hà Nội", days_ago=1)
    orders.cancel_sub_order(part(cancelled, shop.other).id, "Khách đổi ý")
    old = place([(shop.tea_product, 4)], "Huế", days_ago=45)  # outside 30 days, inside 90
    for sub in fresh(Order, hanoi.id).sub_orders:  # a delivered order still counts
        orders.confirm_sub_order(sub.id)
        orders.ship_sub_order(sub.id, "GHN", "GHN123")
        orders.deliver_sub_order(sub.id)

    data = queries.dashboard(30)

    totals = {o.id: sum(s.total for s in fresh(Order, o.id).sub_orders) for o in (hanoi, both, old)}
    assert (data.gmv, data.orders) == (totals[hanoi.id] + totals[both.id], 2)
    assert data.average_order == data.gmv // 2
    assert len(data.by_day) == 30 and data.by_day[-1].day == today_vn()
    assert sum(d.gmv for d in data.by_day) == data.gmv and sum(d.orders for d in data.by_day) == 2
    assert data.by_day[-1].gmv == totals[hanoi.id]
    three_days_ago = next(d for d in data.by_day if d.day == today_vn() - timedelta(days=3))
    assert (three_days_ago.gmv, three_days_ago.orders) == (totals[both.id], 1)
    assert {(s.label, s.amount, s.count) for s in data.by_province} == {
        ("Hà Nội", totals[hanoi.id], 1),
        ("Huế", totals[both.id], 1),
    }
    assert [(s.key, s.amount, s.count) for s in data.by_stars] == [
        (5, 0, 0),
        (4, 300_000, 3),
        (3, 100_000, 2),
        (None, 0, 0),  # OCOP-only: nothing without stars is sold while the section is off
    ]
    assert [(s.label, s.amount) for s in data.by_group] == [("Thực phẩm", 300_000), ("Đồ uống", 100_000)]
    mine_total = sum(
        s.total for o in (hanoi, both) for s in fresh(Order, o.id).sub_orders if s.producer_id == shop.mine
    )
    assert [(s.key, s.amount) for s in data.top_producers] == [
        (shop.mine, mine_total),
        (shop.other, data.gmv - mine_total),
    ]

    wide = queries.dashboard(90)
    assert (wide.gmv, wide.orders) == (data.gmv + totals[old.id], 3)

    page = text(ops.get("/ops/?days=30"))
    assert money(data.gmv) in page and "HTX ong Phong Thổ" in page and "Chưa gắn sao" in page
    assert "Theo tỉnh nhận hàng" in page and "Đồ uống" in page


def test_the_period_is_seven_thirty_or_ninety_days(ops, shop):
    place([(shop.tea_product, 1)], days_ago=10)
    assert "30 ngày qua" in text(ops.get("/ops/"))
    assert queries.dashboard(7).orders == 0 and queries.dashboard(30).orders == 1
    for asked, shown in (("7", 7), ("90", 90), ("365", 30), ("mười", 30), ("-7", 30)):
        response = ops.get(f"/ops/?days={asked}")
        assert response.status_code == 200
        assert f"{shown} ngày qua" in text(response), asked


def test_orders_waiting_more_than_a_day_for_confirmation_are_listed_oldest_first(ops, shop):
    newest = place([(shop.honey_product, 1)], days_ago=0.1)
    older = place([(shop.honey_product, 1)], days_ago=1.5)
    oldest = place([(shop.tea_product, 1)], days_ago=3)
    confirmed = place([(shop.tea_product, 1)], days_ago=4)
    orders.confirm_sub_order(part(confirmed, shop.other).id)

    waiting, count = queries.waiting_sub_orders()

    assert [w.order_number for w in waiting] == [oldest.number, older.number] and count == 2
    assert waiting[0].hours >= 71 and waiting[0].producer_name == "HTX chè Tân Cương"
    page = text(ops.get("/ops/"))
    assert oldest.number in page and older.number in page and newest.number not in page
    assert "Đơn chờ xác nhận quá 24 giờ" in page


# --- producers -------------------------------------------------------------------------------


def test_suspending_a_producer_unlists_its_products_at_once_and_emails_the_reason(ops, shop, operator_id):
    client = ops.application.test_client()
    product = fresh(Product, shop.honey_product)
    assert client.get(f"/san-pham/{product.slug}").status_code == 200  # cached before the suspension

    reason = "Giao hàng trễ nhiều lần, tạm ngưng để kiểm tra."
    done = ops.post(f"/ops/nha-san-xuat/{shop.mine}/tam-ngung", data={"reason": f"  {reason} "})

    assert done.status_code == 302 and done.location == f"/ops/nha-san-xuat/{shop.mine}"
    producer = fresh(Producer, shop.mine)
    assert (producer.status, producer.status_reason) == ("suspended", reason)
    assert fresh(Product, shop.honey_product).listed is False and fresh(Product, shop.tea_product).listed is True
    assert client.get(f"/san-pham/{product.slug}").status_code == 404
    assert "Mật ong hoa rừng" not in text(client.get("/san-pham"))
    mails = outbox("producer_status")
    assert sorted(m.to_email for m in mails) == ["htx@phongtho.vn", "ong@example.vn"]
    assert all(reason in m.text_body and "tạm ngưng" in m.subject for m in mails)
    (entry,) = audit_rows(action="producer.suspend")
    assert (entry.actor_id, entry.target_type, entry.target_id, entry.target_label) == (
        operator_id,
        "producer",
        shop.mine,
        "HTX ong Phong Thổ",
    )
    assert entry.reason == reason
    assert entry.before == {"status": "approved", "status_reason": ""}
    assert entry.after == {"status": "suspended", "status_reason": reason}
    page = text(ops.get(f"/ops/nha-san-xuat/{shop.mine}"))
    assert "Tạm ngưng" in page and reason in page and "Mở lại nhà sản xuất" in page


def test_reinstating_a_suspended_producer_lists_its_products_again(ops, shop, operator_id):
    ops.post(f"/ops/nha-san-xuat/{shop.mine}/tam-ngung", data={"reason": "Kiểm tra chất lượng."})

    done = ops.post(f"/ops/nha-san-xuat/{shop.mine}/mo-lai", data={"reason": "Đạt kiểm tra chất lượng."})

    assert done.status_code == 302
    producer = fresh(Producer, shop.mine)
    assert (producer.status, producer.status_reason) == ("approved", "")
    assert fresh(Product, shop.honey_product).listed is True
    product = fresh(Product, shop.honey_product)
    assert ops.application.test_client().get(f"/san-pham/{product.slug}").status_code == 200
    reinstated = [m for m in outbox("producer_status") if "hoạt động trở lại" in m.subject]
    assert len(reinstated) == 2 and all("Đạt kiểm tra chất lượng." in m.text_body for m in reinstated)
    entry = audit_rows(action="producer.reinstate")[0]
    assert entry.before == {"status": "suspended", "status_reason": "Kiểm tra chất lượng."}
    assert entry.after == {"status": "approved", "status_reason": ""} and entry.actor_id == operator_id
    history = text(ops.get(f"/ops/nha-san-xuat/{shop.mine}")).split("Lịch sử thao tác", 1)[1]
    assert history.index("Mở lại nhà sản xuất") < history.index("Tạm ngưng nhà sản xuất")  # newest first
    assert "Chị Vận Hành" in history


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("tam-ngung", "Nhập lý do tạm ngưng"),
        ("mo-lai", "Nhập lý do mở lại"),
    ],
)
def test_suspending_or_reinstating_without_a_reason_is_refused(ops, shop, action, message):
    if action == "mo-lai":
        ops.post(f"/ops/nha-san-xuat/{shop.mine}/tam-ngung", data={"reason": "Kiểm tra."})
    status = fresh(Producer, shop.mine).status
    audited, mailed = len(audit_rows()), len(outbox("producer_status"))

    refused = ops.post(f"/ops/nha-san-xuat/{shop.mine}/{action}", data={"reason": " \n "})

    assert refused.status_code == 400 and message in text(refused)
    assert 'aria-invalid="true"' in refused.get_data(as_text=True)
    assert fresh(Producer, shop.mine).status == status
    assert len(audit_rows()) == audited and len(outbox("producer_status")) == mailed


def test_a_reason_longer_than_two_thousand_characters_is_refused(ops, shop):
    refused = ops.post(f"/ops/nha-san-xuat/{shop.mine}/tam-ngung", data={"reason": "x" * 2001})
    assert refused.status_code == 400 and "Lý do dài tối đa 2000 ký tự." in text(refused)
    assert fresh(Producer, shop.mine).status == "approved" and audit_rows() == []
    # Shown again as typed, the message under the reason and tied to it.
    page = refused.get_data(as_text=True)
    textarea = re.search(r"<textarea ([^>]*)>([^<]*)</textarea>", page)
    assert textarea and 'id="reason-suspend"' in textarea[1] and textarea[2].strip() == "x" * 2001
    assert 'aria-invalid="true"' in textarea[1] and "reason-suspend-error" in textarea[1]
    assert re.search(r'<p class="field-error" id="reason-suspend-error">Lý do dài tối đa 2000 ký tự.</p>', page)


def test_a_refused_certificate_rejection_comes_back_as_typed_under_its_certificate(app, ops, shop):
    first = pending_certificate(app, shop.other, shop.tea_product, "png", "11/QĐ-UBND")
    second = pending_certificate(app, shop.other, shop.tea_product, "png", "22/QĐ-UBND")
    refused = ops.post(f"/ops/giay-chung-nhan/{first.id}/tu-choi", data={"reason": "y" * 2001})
    assert refused.status_code == 400 and fresh(Certificate, first.id).state == "pending"
    page = refused.get_data(as_text=True)
    mine = re.search(rf'<textarea ([^>]*id="reason-certificate-{first.id}"[^>]*)>([^<]*)</textarea>', page)
    assert mine and 'aria-invalid="true"' in mine[1] and mine[2].strip() == "y" * 2001
    assert f'<p class="field-error" id="reason-certificate-{first.id}-error">Lý do dài tối đa 2000 ký tự.' in page
    other = re.search(rf'<textarea ([^>]*id="reason-certificate-{second.id}"[^>]*)>([^<]*)</textarea>', page)
    assert other and "aria-invalid" not in other[1] and other[2].strip() == ""


def test_an_action_on_a_producer_that_does_not_exist_is_a_404_that_changes_nothing(ops, shop):
    missing = db.session.scalar(select(func.max(Producer.id))) + 100
    for url in (
        f"/ops/nha-san-xuat/{missing}/tam-ngung",
        f"/ops/nha-san-xuat/{missing}/mo-lai",
        f"/ops/ho-so/{missing}/duyet",
        f"/ops/ho-so/{missing}/tu-choi",
    ):
        response = ops.post(url, data={"reason": "Lý do"})
        assert response.status_code == 404 and "Không tìm thấy nhà sản xuất." in text(response), url
    page = ops.get(f"/ops/nha-san-xuat/{missing}")
    assert page.status_code == 404 and "Không tìm thấy nhà sản xuất." in text(page)
    assert audit_rows() == [] and outbox("producer_status") == [] and outbox("application_decided") == []


def test_a_stale_action_is_refused_with_a_message_and_nothing_changes(ops, shop):
    ops.post(f"/ops/nha-san-xuat/{shop.mine}/tam-ngung", data={"reason": "Kiểm tra."})
    audited = len(audit_rows())

    twice = ops.post(f"/ops/nha-san-xuat/{shop.mine}/tam-ngung", data={"reason": "Lần nữa."})
    assert twice.status_code == 400 and "Chỉ tạm ngưng được nhà sản xuất đang hoạt động (hiện: Tạm ngưng)" in text(
        twice
    )
    approved = ops.post(f"/ops/ho-so/{shop.other}/duyet")
    assert approved.status_code == 400 and "Hồ sơ này đã được xử lý." in text(approved)
    rejected = ops.post(f"/ops/ho-so/{shop.other}/tu-choi", data={"reason": "Sai mã số thuế."})
    assert rejected.status_code == 400 and "Hồ sơ này đã được xử lý." in text(rejected)
    not_suspended = ops.post(f"/ops/nha-san-xuat/{shop.other}/mo-lai", data={"reason": "Mở."})
    assert not_suspended.status_code == 400 and "Chỉ mở lại được nhà sản xuất đang tạm ngưng" in text(not_suspended)

    assert fresh(Producer, shop.mine).status_reason == "Kiểm tra."
    assert fresh(Producer, shop.other).status == "approved"
    assert len(audit_rows()) == audited


def test_an_application_is_approved_or_rejected_from_the_queue_with_an_audit_entry(ops, operator_id):
    waiting = make_producer("HTX Mật ong Sìn Hồ", province_name="Lai Châu", status="pending")
    waiting.email = "htx@sinho.vn"
    refused = make_producer("Cơ sở Thử Nghiệm", status="pending")
    refused.email = "coso@thu.vn"
    make_product("Mật ong bạc hà", producer=waiting, prices=(120_000,))
    db.session.commit()
    queue = text(ops.get("/ops/nha-san-xuat"))
    assert "Hồ sơ chờ duyệt" in queue and queue.index("HTX Mật ong Sìn Hồ") < queue.index("Duyệt hồ sơ")

    approved = ops.post(f"/ops/ho-so/{waiting.id}/duyet", data={"next": "/ops/nha-san-xuat?status=pending"})
    assert approved.status_code == 302 and approved.location == "/ops/nha-san-xuat?status=pending"
    assert fresh(Producer, waiting.id).status == "approved"
    assert db.session.scalars(select(Product.listed).where(Product.producer_id == waiting.id)).one() is True
    rejected = ops.post(
        f"/ops/ho-so/{refused.id}/tu-choi", data={"reason": "Thiếu giấy phép.", "next": "//evil.example"}
    )
    assert rejected.status_code == 302 and rejected.location == f"/ops/nha-san-xuat/{refused.id}"
    assert (fresh(Producer, refused.id).status, fresh(Producer, refused.id).status_reason) == (
        "rejected",
        "Thiếu giấy phép.",
    )

    entries = audit_rows(target_type="producer")
    assert [(e.action, e.target_id, e.actor_id) for e in entries] == [
        ("producer.approve", waiting.id, operator_id),
        ("producer.reject", refused.id, operator_id),
    ]
    assert entries[0].before["status"] == "pending" and entries[0].after["status"] == "approved"
    approval, refusal = outbox("application_decided")
    assert (approval.to_email, refusal.to_email) == ("htx@sinho.vn", "coso@thu.vn")
    assert "đã được duyệt" in approval.subject and "Thiếu giấy phép." in refusal.text_body


def test_the_producers_table_filters_by_status_province_and_name(ops, shop):
    make_producer("HTX Chờ Duyệt Mới", province_name="Thái Nguyên", status="pending")
    ops.post(f"/ops/nha-san-xuat/{shop.other}/tam-ngung", data={"reason": "Kiểm tra."})

    everyone = text(ops.get("/ops/nha-san-xuat"))
    assert everyone.index("HTX Chờ Duyệt Mới") < everyone.index("HTX chè Tân Cương")  # applications first
    suspended = text(ops.get("/ops/nha-san-xuat?status=suspended"))
    assert "HTX chè Tân Cương" in suspended and "HTX ong Phong Thổ" not in suspended
    province = fresh(Producer, shop.other).province_id
    nearby = text(ops.get(f"/ops/nha-san-xuat?province={province}"))
    assert "HTX chè Tân Cương" in nearby and "HTX Chờ Duyệt Mới" in nearby and "HTX ong Phong Thổ" not in nearby
    named = text(ops.get("/ops/nha-san-xuat?q=Phong"))
    assert "HTX ong Phong Thổ" in named and "HTX chè Tân Cương" not in named
    # The tabs count the whole table whatever the filters: all, then pending, approved, rejected, suspended.
    tabs = ops.get("/ops/nha-san-xuat?status=suspended&q=Phong").get_data(as_text=True)
    assert re.findall(r'<span class="ops-count">(\d+)</span>', tabs) == ["3", "1", "1", "0", "1"]
    for odd in ("?status=deleted", "?province=abc", "?page=999", "?q=" + "a" * 500):
        assert ops.get("/ops/nha-san-xuat" + odd).status_code == 200, odd


def test_a_producers_file_shows_its_products_orders_ledger_and_history(ops, shop):
    order = place([(shop.honey_product, 2)])
    sub = part(order, shop.mine)
    db.session.add_all(
        [
            LedgerEntry(producer_id=shop.mine, kind="earning", amount=184_000, sub_order_id=sub.id, note="Mật ong"),
            LedgerEntry(producer_id=shop.mine, kind="adjustment", amount=-4_000, note="Phí bao bì"),
        ]
    )
    db.session.commit()
    ops.post(f"/ops/nha-san-xuat/{shop.mine}/tam-ngung", data={"reason": "Kiểm tra."})

    response = ops.get(f"/ops/nha-san-xuat/{shop.mine}")

    page = text(response)
    assert response.status_code == 200
    assert "Mật ong hoa rừng" in page and "0 / 1 đang hiển thị" in page
    assert order.number in page and "Chờ xác nhận" in page
    assert 'id="ledger-balance">' + vnd(180_000) in response.get_data(as_text=True)
    assert "Phí bao bì" in page
    assert "Tạm ngưng nhà sản xuất" in page and "trước: Đang hoạt động → sau: Tạm ngưng" in page
    assert "Trà Tân Cương" not in page  # the other producer's


# --- certificates ----------------------------------------------------------------------------


def pending_certificate(app, producer_id: int, product_id: int, document: str | None, number: str) -> Certificate:
    decided = today_vn() - timedelta(days=30)
    path = None
    if document:
        folder = Path(app.config["CERTIFICATE_DIR"]) / str(producer_id)
        folder.mkdir(parents=True, exist_ok=True)
        path = f"{producer_id}/{secrets.token_hex(8)}.{document}"
        if document == "png":
            Image.new("RGB", (60, 80), (240, 240, 240)).save(Path(app.config["CERTIFICATE_DIR"]) / path)
        else:
            (Path(app.config["CERTIFICATE_DIR"]) / path).write_bytes(b"%PDF-1.4\n%%EOF\n")
    certificate = Certificate(
        producer_id=producer_id,
        product_id=product_id,
        stars=3,
        decision_number=number,
        decision_date=decided,
        issuing_level="province",
        expires_on=certificate_expiry(decided),
        document_path=path,
        state="pending",
    )
    db.session.add(certificate)
    db.session.commit()
    return certificate


def test_the_certificate_queue_shows_the_document_beside_the_entered_data(app, ops, shop):
    image = pending_certificate(app, shop.other, shop.tea_product, "png", "11/QĐ-UBND")
    pdf = pending_certificate(app, shop.other, shop.tea_product, "pdf", "22/QĐ-UBND")

    response = ops.get("/ops/giay-chung-nhan")

    body = response.get_data(as_text=True)
    assert f'<img src="/ops/giay-chung-nhan/{image.id}/tai-lieu"' in body
    assert f'href="/ops/giay-chung-nhan/{pdf.id}/tai-lieu" download' in body
    assert "11/QĐ-UBND" in body and "Trà Tân Cương" in body and "HTX chè Tân Cương" in body
    shown = ops.get(f"/ops/giay-chung-nhan/{image.id}/tai-lieu")
    assert shown.mimetype == "image/png" and shown.headers["Content-Security-Policy"] == "sandbox"
    assert not shown.headers.get("Content-Disposition", "").startswith("attachment")
    shown.close()
    downloaded = ops.get(f"/ops/giay-chung-nhan/{pdf.id}/tai-lieu")
    assert downloaded.headers["Content-Disposition"].startswith("attachment")
    downloaded.close()


def test_verifying_and_rejecting_certificates_are_audited_and_a_rejection_is_emailed(app, ops, shop, operator_id):
    good = pending_certificate(app, shop.other, shop.tea_product, "png", "11/QĐ-UBND")
    blurred = pending_certificate(app, shop.other, shop.tea_product, "png", "22/QĐ-UBND")

    missing_reason = ops.post(f"/ops/giay-chung-nhan/{blurred.id}/tu-choi", data={"reason": ""})
    assert missing_reason.status_code == 400 and "Nhập lý do từ chối" in text(missing_reason)
    assert fresh(Certificate, blurred.id).state == "pending" and audit_rows() == []

    assert ops.post(f"/ops/giay-chung-nhan/{good.id}/xac-minh").status_code == 302
    rejected = ops.post(f"/ops/giay-chung-nhan/{blurred.id}/tu-choi", data={"reason": "Ảnh mờ, không đọc được."})
    assert rejected.status_code == 302 and rejected.location == "/ops/giay-chung-nhan"

    assert fresh(Certificate, good.id).state == "verified" and fresh(Product, shop.tea_product).cert_stars == 3
    blurred = fresh(Certificate, blurred.id)
    assert (blurred.state, blurred.rejection_reason) == ("rejected", "Ảnh mờ, không đọc được.")
    verify, reject = audit_rows(target_type="certificate")
    assert (verify.action, verify.target_id, verify.actor_id) == ("certificate.verify", good.id, operator_id)
    assert verify.before["state"] == "pending" and verify.after["state"] == "verified" and verify.after["verified_at"]
    assert (reject.action, reject.reason, reject.after["rejection_reason"]) == (
        "certificate.reject",
        "Ảnh mờ, không đọc được.",
        "Ảnh mờ, không đọc được.",
    )
    (mail,) = outbox("certificate_rejected")
    assert mail.to_email == "che@example.vn" and "Ảnh mờ, không đọc được." in mail.text_body
    assert "22/QĐ-UBND" in mail.text_body
    again = ops.post(f"/ops/giay-chung-nhan/{good.id}/tu-choi", data={"reason": "Nhầm."})
    assert again.status_code == 400 and "Giấy chứng nhận này đã được xử lý." in text(again)
    gone = ops.post("/ops/giay-chung-nhan/999999/xac-minh")
    assert gone.status_code == 404 and "Không tìm thấy giấy chứng nhận." in text(gone)
    assert len(audit_rows()) == 2


def test_expiring_and_expired_certificates_are_listed_with_their_dates(ops, shop):
    today = today_vn()
    soon = make_product(
        "Bánh chưng", producer=fresh(Producer, shop.other), stars=3, decided=today - timedelta(days=1070)
    )
    lapsed = make_product(
        "Chè lam", producer=fresh(Producer, shop.other), stars=4, decided=today - timedelta(days=1200)
    )
    expiring_on = db.session.scalars(select(Certificate.expires_on).where(Certificate.product_id == soon.id)).one()
    expired_on = db.session.scalars(select(Certificate.expires_on).where(Certificate.product_id == lapsed.id)).one()
    assert today < expiring_on <= today + timedelta(days=60) and expired_on < today

    expiring = text(ops.get("/ops/giay-chung-nhan?tab=expiring"))
    expired = text(ops.get("/ops/giay-chung-nhan?tab=expired"))

    assert "Bánh chưng" in expiring and expiring_on.strftime("%d/%m/%Y") in expiring
    assert "Chè lam" not in expiring and "Mật ong hoa rừng" not in expiring  # valid for years
    assert "Chè lam" in expired and expired_on.strftime("%d/%m/%Y") in expired and "Bánh chưng" not in expired
    assert "HTX chè Tân Cương" in expired
    assert queries.certificate_counts(today) == {"pending": 0, "expiring": 1, "expired": 1}


# --- audit log -------------------------------------------------------------------------------


def test_the_audit_log_shows_who_did_what_when_and_the_change_newest_first(ops, shop, operator_id):
    ops.post(f"/ops/nha-san-xuat/{shop.mine}/tam-ngung", data={"reason": "Kiểm tra kho."})
    ops.post(f"/ops/nha-san-xuat/{shop.mine}/mo-lai", data={"reason": "Kho đạt."})
    create_user("vanhanh2@example.vn", "operator", PASSWORD, name="Anh Trực Ca")
    other_ops = sign_in(ops.application.test_client(), "vanhanh2@example.vn")
    other_ops.post(f"/ops/nha-san-xuat/{shop.other}/tam-ngung", data={"reason": "Hàng giả."})

    page = text(ops.get("/ops/nhat-ky"))

    assert "3 thao tác" in page
    assert page.index("Hàng giả.") < page.index("Kho đạt.") < page.index("Kiểm tra kho.")
    assert "Anh Trực Ca" in page and "Chị Vận Hành" in page
    assert "Trạng thái: trước: Đang hoạt động → sau: Tạm ngưng" in page
    body = ops.get("/ops/nhat-ky").get_data(as_text=True)
    assert f'href="/ops/nha-san-xuat/{shop.mine}"' in body
    by_action = text(ops.get("/ops/nhat-ky?action=producer.reinstate"))
    assert "1 thao tác" in by_action and "Kho đạt." in by_action
    by_group = text(ops.get("/ops/nhat-ky?action=producer&type=producer"))
    assert "3 thao tác" in by_group
    by_actor = text(ops.get(f"/ops/nhat-ky?actor={operator_id}"))
    assert "2 thao tác" in by_actor and "Hàng giả." not in by_actor
    nothing = text(ops.get("/ops/nhat-ky?type=voucher"))
    assert "Chưa có thao tác nào khớp bộ lọc." in nothing
    for odd in ("?actor=abc", "?page=0", "?page=99", "?action=" + "x" * 300):
        assert ops.get("/ops/nhat-ky" + odd).status_code == 200, odd


def test_the_audit_log_pages_fifty_entries_at_a_time(ops, operator_id):
    from shop.audit.services import record

    for n in range(55):
        record(operator_id, "setting.change", "setting", None, label=f"cài đặt {n}")
    db.session.commit()

    first, second = text(ops.get("/ops/nhat-ky")), text(ops.get("/ops/nhat-ky?page=2"))

    assert "cài đặt 54" in first and "cài đặt 5 " in first and "cài đặt 4 " not in first
    assert "cài đặt 4 " in second and "cài đặt 0 " in second and "cài đặt 54" not in second


def test_changes_lists_only_the_fields_that_differ():
    changed = audit_queries.changes(
        {"status": "approved", "name": "A", "x": 1}, {"status": "suspended", "name": "A", "y": 2}
    )
    assert [(c.field, c.before, c.after) for c in changed] == [
        ("status", "approved", "suspended"),
        ("x", 1, None),
        ("y", None, 2),
    ]
    assert audit_queries.changes(None, None) == []
    assert audit_queries.display_value("status", "suspended") == "Tạm ngưng"
    assert audit_queries.display_value("verified_at", "2026-01-31T17:30:00+00:00") == "01/02/2026 00:30"
    assert audit_queries.display_value("expires_on", "2026-02-01") == "01/02/2026"
    assert audit_queries.display_value("note", None) == "—"


def test_the_audit_log_reads_money_rates_states_and_shipping_bands_as_people_do(app):
    assert audit_queries.display_value("default_commission_bp", 850) == "8,5%"
    assert audit_queries.display_value("cod_max_amount", 3_000_000) == "3.000.000\xa0₫"
    assert audit_queries.display_value("status", "placed", target_type="order") == "Đã đặt"
    assert audit_queries.display_value("sub_orders", {"77": "pending"}, target_type="order") == "#77: Chờ xác nhận"
    (band,) = audit_queries.changes({"same_province:500": 25_000}, {"same_province:500": 30_000})
    assert band.label == "Nội tỉnh ≤ 500 g"
    assert audit_queries.display_value(band.field, band.after) == "30.000\xa0₫"


def test_the_audit_log_reads_promotion_scopes_kinds_and_settings_by_name(app, shop):
    hue = db.session.scalars(select(Province).where(Province.name == "Huế")).one()
    producer = db.session.get(Producer, shop.mine)
    scope = {"provinces": [hue.id], "producers": [producer.id], "products": []}
    assert audit_queries.display_value("scope", scope) == f"Tỉnh, thành: Huế · Nhà sản xuất: {producer.name}"
    assert audit_queries.display_value("scope", {"provinces": [999999]}) == "Tỉnh, thành: #999999"
    assert audit_queries.display_value("scope", {}) == "Mọi sản phẩm"
    assert audit_queries.display_value("scope", {"products": []}) == "Mọi sản phẩm"
    assert audit_queries.display_value("kind", "percent") == "Theo phần trăm"
    assert audit_queries.display_value("payouts", [1, 2, 3]) == "#1, #2, #3"
    assert audit_queries.display_value("vietqr_bank_bin", "970436") == "Vietcombank (970436)"
    assert audit_queries.display_value("starts_at", "2026-11-30T17:00:00+00:00") == "01/12/2026 00:00"
    for key in ("starts_at", "scope", "legal_name", "vietqr_account_number", "payouts", "max_discount"):
        (change,) = audit_queries.changes({key: 1}, {key: 2})
        assert change.label != key, key
    for action in ("settings.legal", "settings.vietqr", "bank_transfer.match", "email.resend", "promotion.update"):
        assert action in audit_queries.ACTION_LABELS


def test_category_groups_fold_into_their_level_one_group(app):
    deep = category("che-bien-tu-gao-ngu-coc")
    drink = category("do-uong-khong-con")
    slices = queries._by_top_category([(deep.id, 10, 1), (drink.id, 30, 2), (None, 5, 1)])
    top = db.session.scalars(select(Category).where(Category.code == "2")).one()
    assert [(s.key, s.amount, s.count) for s in slices] == [
        (top.id, 30, 2),
        (deep.parent.parent_id, 10, 1),
        (None, 5, 1),
    ]


def test_a_payout_marked_paid_reads_as_due_to_paid(app):
    assert audit_queries.display_value("status", "paid", target_type="payout") == "Đã chuyển"
    (paid_at,) = audit_queries.changes({"paid_at": None}, {"paid_at": "2026-11-23T06:27:00+00:00"})
    assert paid_at.label == "Chuyển lúc"

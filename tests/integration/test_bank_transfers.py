"""VietQR bank transfers: SePay's webhook (its key, its HMAC, bad bodies, replays),
every matching case, holds that lapse and revive, the operator's queue, and
reconciliation against a local HTTP server serving SePay's transaction list.
Orders are made by the real checkout service."""

import itertools
import json
import re
import secrets
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from shop.accounts.services import create_user
from shop.audit.models import AuditEntry
from shop.bank import sepay
from shop.bank import services as bank
from shop.bank.models import BankTransfer
from shop.cancellations import services as cancellations
from shop.catalog.models import Variant
from shop.checkout.services import CheckoutError, place_order
from shop.extensions import db
from shop.formatting import utcnow
from shop.orders import services as orders
from shop.orders.models import Order, OrderEvent
from shop.settings import services as settings
from tests.support.factories import cart_with, delivery_to, make_producer, make_product

KEY = "test-sepay-key"
AUTH = {"Authorization": f"Apikey {KEY}"}
_ids = itertools.count(5_000_001)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    return request.param


@pytest.fixture
def operator_id(app) -> int:
    return create_user("vanhanh@example.vn", "operator", "mat-khau-an-toan-1", name="Chị Vận Hành").id


@pytest.fixture
def vietqr_on(app, operator_id):
    bank.configure(operator_id, enabled=True, bank_bin="970436", number="0011001234567", holder="Chợ OCOP", minutes=30)


@pytest.fixture
def shop(app, vietqr_on):
    honey = make_product(
        "Mật ong bạc hà",
        producer=make_producer("HTX ong Phong Thổ", province_name="Lai Châu"),
        prices=(150_000,),
        stock=4,
    )
    return honey.variants[0].id


def place(variant_id: int, qty: int = 1, method: str = "vietqr") -> Order:
    cart_id = cart_with((db.session.get(Variant, variant_id), qty))
    return place_order(
        cart_id=cart_id,
        user_id=None,
        delivery=delivery_to(),
        payment_method=method,
        checkout_key=secrets.token_urlsafe(16),
    )


def notice(order: Order | None, amount: int, *, content: str | None = None, **extra) -> dict:
    body = {
        "id": next(_ids),
        "gateway": "Vietcombank",
        "transactionDate": "2026-12-02 17:30:00",
        "accountNumber": "0011001234567",
        "code": None,
        "content": content if content is not None else f"MBVCB.123.{order.payment_code.lower()}.CT tu 0123",
        "transferType": "in",
        "transferAmount": amount,
        "accumulated": 9_000_000,
        "subAccount": None,
        "referenceCode": "FT" + secrets.token_hex(5),
    }
    body.update(extra)
    return body


def post(client, body, headers=AUTH):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post("/webhooks/sepay", data=data, headers={**headers, "Content-Type": "application/json"})


def fresh(order_id: int) -> Order:
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(Order, order_id)


def stock(variant_id: int) -> int:
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(Variant, variant_id).stock


def kinds(order_id: int) -> list[str]:
    db.session.rollback()
    return list(
        db.session.scalars(select(OrderEvent.kind).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id))
    )


def transfers() -> list[BankTransfer]:
    db.session.rollback()
    db.session.expire_all()
    return list(db.session.scalars(select(BankTransfer).order_by(BankTransfer.id)))


def test_a_vietqr_order_holds_stock_for_thirty_minutes_and_asks_for_its_total(shop):
    order = place(shop, 2)
    assert order.status == "awaiting_payment" and order.payment_method == "vietqr"
    held = (order.reserved_until.replace(tzinfo=None) - order.created_at.replace(tzinfo=None)).total_seconds()
    assert held == 30 * 60
    assert stock(shop) == 2
    request = bank.transfer_for(order)
    assert (request.bank_bin, request.account_number, request.amount) == ("970436", "0011001234567", order.total)
    assert request.note == order.payment_code == order.number.replace("-", "")


def test_checkout_refuses_vietqr_until_the_operator_switches_it_on(app, operator_id):
    variant = make_product("Chè Shan tuyết", prices=(90_000,), stock=3).variants[0].id
    with pytest.raises(CheckoutError) as err:
        place(variant)
    assert err.value.code == "vietqr_off"


def test_the_exact_amount_pays_the_order_through_the_card_path(client, shop):
    order = place(shop)
    response = post(client, notice(order, order.total))
    assert response.status_code == 200 and response.get_json() == {"success": True, "state": "paid"}
    order = fresh(order.id)
    assert order.status == "paid" and order.amount_received == order.total and order.reserved_until is None
    assert "paid" in kinds(order.id)
    (row,) = transfers()
    assert (row.state, row.applied_amount, row.refund_state) == ("applied", order.total, "")


def test_the_same_transaction_twice_counts_once(client, shop):
    order = place(shop)
    body = notice(order, 100_000)
    assert post(client, body).get_json()["state"] == "partly_paid"
    again = post(client, body)
    assert again.status_code == 200 and again.get_json() == {"success": True, "duplicate": True}
    assert fresh(order.id).amount_received == 100_000
    assert len(transfers()) == 1


def test_less_leaves_the_rest_due_with_a_qr_for_it_and_a_longer_hold(client, shop):
    order = place(shop)
    first_hold = order.reserved_until
    post(client, notice(order, 50_000))
    order = fresh(order.id)
    assert order.status == "awaiting_payment" and order.amount_due == order.total - 50_000
    assert order.reserved_until >= first_hold
    assert bank.transfer_for(order).amount == order.total - 50_000
    page = client.get(f"/don-hang/{order.number}?t={order.access_token}").get_data(as_text=True)
    assert "còn thiếu" in page and "<svg" in page
    assert post(client, notice(order, order.amount_due)).get_json()["state"] == "paid"
    assert fresh(order.id).status == "paid"


def test_more_pays_and_flags_the_surplus_for_refund(client, shop):
    order = place(shop)
    assert post(client, notice(order, order.total + 20_000)).get_json()["state"] == "surplus"
    assert fresh(order.id).status == "paid"
    (row,) = transfers()
    assert (row.applied_amount, row.refund_amount, row.refund_state) == (order.total, 20_000, "due")


def test_a_second_payment_for_a_paid_order_is_all_flagged_for_refund(client, shop):
    order = place(shop)
    post(client, notice(order, order.total))
    assert post(client, notice(order, order.total)).get_json()["state"] == "refund"
    second = transfers()[1]
    assert (second.state, second.refund_amount, second.refund_state) == ("refund", order.total, "due")
    assert fresh(order.id).amount_received == order.total


def test_a_transfer_for_an_order_the_shopper_cancelled_is_flagged_for_refund(client, shop):
    order = place(shop)
    orders.cancel_by_shopper(order.id, None, "đổi ý")
    assert post(client, notice(order, order.total)).get_json()["state"] == "refund"
    assert fresh(order.id).status == "cancelled"
    assert transfers()[0].refund_state == "due"


def test_after_the_hold_lapsed_the_order_is_revived_if_its_stock_is_there(client, shop):
    order = place(shop, 2)
    assert orders.release_if_expired(order.id, now=utcnow() + timedelta(minutes=31))
    assert stock(shop) == 4
    assert post(client, notice(order, order.total)).get_json()["state"] == "paid"
    order = fresh(order.id)
    assert order.status == "paid" and all(s.status == "pending" for s in order.sub_orders)
    assert stock(shop) == 2
    assert "revived" in kinds(order.id)


def test_after_the_hold_lapsed_and_the_stock_sold_the_transfer_is_flagged_for_refund(client, shop):
    order = place(shop, 3)
    orders.release_if_expired(order.id, now=utcnow() + timedelta(minutes=31))
    place(shop, 2, method="cod")  # someone else takes the stock meanwhile
    assert post(client, notice(order, order.total)).get_json()["state"] == "refund"
    assert fresh(order.id).status == "cancelled"
    assert stock(shop) == 2
    assert transfers()[0].refund_amount == order.total


def test_a_part_paid_order_whose_hold_lapses_gets_its_money_flagged_on_reconciliation(client, shop):
    order = place(shop)
    post(client, notice(order, 40_000))
    orders.release_if_expired(order.id, now=utcnow() + timedelta(hours=2))
    assert bank.reconcile()["flagged"] == 1
    (row,) = transfers()
    assert (row.state, row.applied_amount, row.refund_amount, row.refund_state) == ("refund", 0, 40_000, "due")


@pytest.mark.parametrize("content", ["chuyen tien mua mat ong", "OC991231-ZZZZZ", ""])
def test_no_code_or_an_unknown_one_waits_in_the_unmatched_queue(client, shop, content):
    order = place(shop)
    assert post(client, notice(None, order.total, content=content)).get_json()["state"] == "unmatched"
    assert fresh(order.id).status == "awaiting_payment"
    assert [t.state for t in transfers()] == ["unmatched"]


def test_the_code_sepay_found_itself_is_used_too(client, shop):
    order = place(shop)
    body = notice(order, order.total, content="CK 0912345678", code=order.payment_code)
    assert post(client, body).get_json()["state"] == "paid"


def test_an_operator_matches_an_unmatched_transfer_to_an_order_with_an_audit_record(client, shop, operator_id):
    order = place(shop)
    post(client, notice(None, order.total, content="tien mat ong"))
    (row,) = transfers()
    assert bank.match(row.id, order.number.lower(), operator_id, reason="khách gọi điện") == "paid"
    assert fresh(order.id).status == "paid"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "bank_transfer.match")).one()
    assert entry.actor_id == operator_id and entry.reason == "khách gọi điện"
    with pytest.raises(bank.BankError):
        bank.match(row.id, order.number, operator_id)


def test_an_operator_flags_an_unmatched_transfer_for_refund_then_records_it_sent(client, shop, operator_id):
    order = place(shop)
    post(client, notice(None, 75_000, content="khong ro"))
    (row,) = transfers()
    with pytest.raises(bank.BankError):
        bank.mark_for_refund(row.id, operator_id, "")
    bank.mark_for_refund(row.id, operator_id, "không tìm ra đơn")
    bank.mark_refunded(row.id, "FT2612020001", operator_id)
    (row,) = transfers()
    assert (row.state, row.refund_amount, row.refund_state, row.refund_reference) == (
        "refund",
        75_000,
        "refunded",
        "FT2612020001",
    )
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"bank_transfer.refund", "bank_transfer.refunded"} <= actions
    assert fresh(order.id).status == "awaiting_payment"


def test_the_console_queue_lists_and_matches_transfers(app, shop, operator_id):
    order = place(shop)
    client = app.test_client()
    post(client, notice(None, order.total, content="tien hang"))
    ops = app.test_client()
    ops.post("/tai-khoan/dang-nhap", data={"email": "vanhanh@example.vn", "password": "mat-khau-an-toan-1"})
    page = ops.get("/ops/chuyen-khoan")
    assert page.status_code == 200 and "tien hang" in page.get_data(as_text=True)
    (row,) = transfers()
    answer = ops.post(f"/ops/chuyen-khoan/{row.id}/ghep", data={"order_number": order.number, "reason": "đối chiếu"})
    assert answer.status_code == 303
    assert fresh(order.id).status == "paid"
    assert client.get("/ops/chuyen-khoan").status_code == 404  # not an operator


def tag(page: str, element: str, element_id: str) -> str:
    """The opening tag of the element with that id (empty when there is none)."""
    found = re.search(rf'<{element} [^>]*id="{element_id}"[^>]*>', page)
    return found[0] if found else ""


def test_a_refused_action_on_a_transfer_comes_back_as_typed_beside_its_message(app, shop):
    order = place(shop)
    post(app.test_client(), notice(None, 75_000, content="khong ro"))
    (row,) = transfers()
    ops = app.test_client()
    ops.post("/tai-khoan/dang-nhap", data={"email": "vanhanh@example.vn", "password": "mat-khau-an-toan-1"})
    match, refund, refunded = (f"/ops/chuyen-khoan/{row.id}/{action}" for action in ("ghep", "hoan", "da-hoan"))

    for typed, message in (
        ({}, "Nhập mã đơn hàng."),
        ({"order_number": "  "}, "Nhập mã đơn hàng."),
        ({"order_number": "²"}, "Không có đơn chuyển khoản nào mang mã ²."),
        ({"order_number": "9" * 40, "reason": "²" * 600}, "Không có đơn chuyển khoản nào mang mã " + "9" * 30),
        ({"order_number": "OC000000-ZZZZZ", "reason": "khách gọi"}, "mang mã OC000000-ZZZZZ."),
    ):
        refused = ops.post(match, data=typed | {"xem": "all"})
        page = refused.get_data(as_text=True)
        assert refused.status_code == 400 and message in page, typed
        assert f'<p class="field-error" id="match-{row.id}-order-error">' in page, typed
    assert ops.post(match, data={"order_number": order.number + "\x00"}).status_code == 400  # a NUL: no 500
    # The last one as typed, its message tied to the order number, on the list it came from.
    number = tag(page, "input", f"match-{row.id}-order")
    assert 'value="OC000000-ZZZZZ"' in number and f'aria-describedby="match-{row.id}-order-error"' in number
    assert 'value="khách gọi"' in tag(page, "input", f"match-{row.id}-note")
    assert '<a href="/ops/chuyen-khoan?xem=all" aria-current="page">' in page
    assert page.index('role="alert"') < page.index("<table")  # also said at the top, with a link to the row

    for reason in ("", " \t ", None):
        refused = ops.post(refund, data={} if reason is None else {"reason": reason})
        page = refused.get_data(as_text=True)
        assert refused.status_code == 400 and "Cho biết lý do hoàn tiền." in page, reason
        assert f'aria-describedby="refund-{row.id}-reason-error"' in tag(page, "input", f"refund-{row.id}-reason")
    assert (transfers()[0].state, db.session.scalar(select(func.count(AuditEntry.id)))) == ("unmatched", 1)

    assert ops.post(refund, data={"reason": "²: không tìm ra đơn"}).status_code == 303
    for reference in ("", "9" * 121, "²" * 300, None):
        refused = ops.post(refunded, data={} if reference is None else {"reference": reference})
        page = refused.get_data(as_text=True)
        assert refused.status_code == 400 and "Nhập mã giao dịch hoàn tiền của ngân hàng" in page, reference
    refused = ops.post(refunded, data={"reference": "FT" + "9" * 119, "xem": "refund"})  # sent from "Cần hoàn"
    reference = tag(refused.get_data(as_text=True), "input", f"refunded-{row.id}-reference")
    assert f'value="FT{"9" * 119}"' in reference and 'aria-invalid="true"' in reference
    assert transfers()[0].refund_state == "due"
    assert ops.post(refunded, data={"reference": "FT2612020001"}).status_code == 303
    assert transfers()[0].refund_reference == "FT2612020001"
    assert fresh(order.id).status == "awaiting_payment"


def test_the_forms_on_a_transfer_carry_their_csrf_token(app, shop):
    post(app.test_client(), notice(None, 75_000, content="khong ro"))
    (row,) = transfers()
    ops = app.test_client()
    ops.post("/tai-khoan/dang-nhap", data={"email": "vanhanh@example.vn", "password": "mat-khau-an-toan-1"})
    app.config["WTF_CSRF_ENABLED"] = True
    page = ops.get("/ops/chuyen-khoan").get_data(as_text=True)
    action = f'action="/ops/chuyen-khoan/{row.id}/ghep"'
    form = page[page.index(action) : page.index("</form>", page.index(action))]
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token, "the match form posts no CSRF token: its form would refuse every real post"
    answer = ops.post(f"/ops/chuyen-khoan/{row.id}/ghep", data={"csrf_token": token[1], "order_number": "OC1"})
    assert answer.status_code == 400 and "mang mã OC1." in answer.get_data(as_text=True)
    assert "CSRF" not in answer.get_data(as_text=True)


def test_the_console_saves_the_vietqr_settings_and_shows_a_refusal_beside_its_field(app, vietqr_on):
    ops = app.test_client()
    ops.post("/tai-khoan/dang-nhap", data={"email": "vanhanh@example.vn", "password": "mat-khau-an-toan-1"})
    good = {"enabled": "1", "bank_bin": "970436", "account_number": "0011009999", "account_name": "CHO OCOP"}
    saved = ops.post("/ops/chuyen-khoan/cai-dat", data=good | {"vietqr_reservation_minutes": " 45 "})
    assert saved.status_code == 303
    assert (settings.get_int("vietqr_reservation_minutes"), settings.get_text("vietqr_account_number")) == (
        45,
        "0011009999",
    )
    page = ops.get("/ops/chuyen-khoan").get_data(as_text=True)
    assert 'value="0011009999"' in page and '<option selected value="970436">' in page
    assert '<option selected value="">' not in page  # a bank without a BIN (BIDC) is not offered
    for data, message, field in (
        (good | {"vietqr_reservation_minutes": "abc"}, "Nhập số phút.", "vietqr_reservation_minutes"),
        (good | {"vietqr_reservation_minutes": "2"}, "Thời gian giữ hàng phải từ 5 đến 1440 phút.", None),
        (good | {"vietqr_reservation_minutes": "30", "account_number": "12"}, "Số tài khoản gồm 6 đến 19", None),
        (good | {"vietqr_reservation_minutes": "30", "bank_bin": "999999"}, "Chọn ngân hàng trong danh sách.", None),
    ):
        refused = ops.post("/ops/chuyen-khoan/cai-dat", data=data)
        text = refused.get_data(as_text=True)
        assert refused.status_code == 400 and message in text and 'aria-invalid="true"' in text, message
        if field:
            assert f'value="{data[field]}"' in text  # what was typed is shown back
    assert settings.get_int("vietqr_reservation_minutes") == 45  # nothing half-saved


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Apikey wrong"}, {"Authorization": f"Bearer {KEY}"}, {"Authorization": KEY}],
)
def test_a_forged_or_missing_key_is_a_401_and_changes_nothing(client, shop, headers):
    order = place(shop)
    response = post(client, notice(order, order.total), headers=headers)
    assert response.status_code == 401 and response.get_json()["success"] is False
    assert fresh(order.id).status == "awaiting_payment" and transfers() == []


@pytest.mark.parametrize(
    "change",
    [
        {"transferType": "out"},
        {"transferAmount": 0},
        {"transferAmount": -150_000},
        {"transferAmount": "abc"},
        {"transferAmount": 1.5},
        {"transferAmount": 10**12},
        {"transferAmount": True},
        {"transferAmount": None},
        {"id": None},
        {"id": ""},
        {"id": {"x": 1}},
        {"content": {"x": 1}},
    ],
)
def test_bodies_we_cannot_use_are_acknowledged_and_change_nothing(client, shop, change):
    order = place(shop)
    response = post(client, notice(order, order.total, **change))
    assert response.status_code == 200
    assert response.get_json()["success"] is True and "ignored" in response.get_json()
    assert fresh(order.id).status == "awaiting_payment" and transfers() == []


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'"text"', b"{", b"null"])
def test_malformed_bodies_never_give_a_500(client, shop, body):
    response = post(client, body)
    assert response.status_code == 200 and response.get_json()["success"] is True
    assert transfers() == []


def test_out_of_order_part_payments_add_up(client, shop):
    order = place(shop)
    later, earlier = notice(order, order.total - 30_000), notice(order, 30_000)
    later["transactionDate"], earlier["transactionDate"] = "2026-12-02 17:40:00", "2026-12-02 17:35:00"
    assert post(client, later).get_json()["state"] == "partly_paid"
    assert post(client, earlier).get_json()["state"] == "paid"
    assert post(client, later).get_json() == {"success": True, "duplicate": True}
    assert fresh(order.id).amount_received == order.total


def test_with_a_secret_set_the_hmac_is_required_too(app, client, shop):
    app.config["SEPAY_WEBHOOK_SECRET"] = "whsec-sepay-test"
    order = place(shop)
    body = json.dumps(notice(order, order.total)).encode()
    assert post(client, body).status_code == 401  # the key alone is not enough now
    stamp = str(int(utcnow().timestamp()))
    bad = {**AUTH, "X-SePay-Timestamp": stamp, "X-SePay-Signature": "0" * 64}
    assert post(client, body, headers=bad).status_code == 401
    good = {**AUTH, "X-SePay-Timestamp": stamp, "X-SePay-Signature": sepay.sign("whsec-sepay-test", body, stamp)}
    assert post(client, body, headers=good).get_json()["state"] == "paid"
    old = str(int(utcnow().timestamp()) - 3600)
    stale = {**AUTH, "X-SePay-Timestamp": old, "X-SePay-Signature": sepay.sign("whsec-sepay-test", body, old)}
    assert post(client, body, headers=stale).status_code == 401


class _SepayApi(BaseHTTPRequestHandler):
    rows: list = []
    seen: list = []

    def do_GET(self):  # noqa: N802 - http.server's name
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        body = json.dumps({"status": 200, "error": None, "messages": {"success": True}, "transactions": self.rows})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def sepay_api(app):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SepayApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config.update(SEPAY_API_BASE=f"http://127.0.0.1:{server.server_port}/userapi", SEPAY_API_TOKEN="tok-test")
    _SepayApi.rows, _SepayApi.seen = [], []
    yield _SepayApi
    server.shutdown()
    server.server_close()


def _listed(order: Order, amount: int, transaction_id: int) -> dict:
    return {
        "id": str(transaction_id),
        "bank_brand_name": "Vietcombank",
        "account_number": "0011001234567",
        "transaction_date": "2026-12-02 17:45:00",
        "amount_out": "0.00",
        "amount_in": f"{amount}.00",
        "accumulated": "19077000.00",
        "transaction_content": f"{order.payment_code} chuyen khoan",
        "reference_number": "FT123",
        "code": None,
        "sub_account": None,
        "bank_account_id": "19",
    }


def test_reconciliation_pays_orders_whose_webhook_was_lost_and_skips_those_seen(client, shop, sepay_api):
    seen_order, lost_order = place(shop), place(shop)
    delivered = notice(seen_order, seen_order.total)
    post(client, delivered)
    sepay_api.rows = [
        _listed(seen_order, seen_order.total, delivered["id"]),
        _listed(lost_order, lost_order.total, 7_000_001),
        {**_listed(lost_order, 0, 7_000_002), "amount_in": "0.00", "amount_out": "500000.00"},
    ]
    counts = bank.reconcile()
    assert counts["listed"] == 3 and counts["new"] == 1 and not counts["error"]
    assert fresh(lost_order.id).status == "paid"
    assert len(transfers()) == 2
    assert sepay_api.seen[0][1] == "Bearer tok-test" and sepay_api.seen[0][0].startswith("/userapi/transactions/list")
    assert bank.reconcile()["new"] == 0  # run again: nothing twice


def test_reconciliation_survives_the_service_being_down(app, shop):
    app.config.update(SEPAY_API_BASE="http://127.0.0.1:9/userapi", SEPAY_API_TOKEN="tok", SEPAY_TIMEOUT=2)
    assert bank.reconcile()["error"]


def test_the_simulate_transfer_command_refuses_unknown_and_non_transfer_orders(runner, shop):
    cod = place(shop, method="cod")
    assert "not paid by bank transfer" in runner.invoke(args=["bank", "simulate-transfer", cod.number]).output
    assert "no order" in runner.invoke(args=["bank", "simulate-transfer", "OC000000-AAAAA"]).output


def test_switching_vietqr_on_needs_a_valid_account(app, operator_id):
    with pytest.raises(bank.BankError) as err:
        bank.configure(operator_id, enabled=True, bank_bin="999999", number="123456", holder="A", minutes=30)
    assert err.value.field == "bank_bin"
    with pytest.raises(bank.BankError) as err:
        bank.configure(operator_id, enabled=True, bank_bin="970436", number="12AB", holder="CHO OCOP", minutes=30)
    assert err.value.field == "account_number"
    assert settings.get_int("vietqr_enabled") == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_invoice_details_reach_the_producer_in_the_portal_csv_and_api(app, shop, operator_id):
    from shop.checkout.invoice import check_invoice
    from shop.inventory import tokens

    invoice = check_invoice("Công ty TNHH Ong Vàng", "0100109106-002", "12 Lý Thường Kiệt, Hà Nội", "kt@ongvang.vn")
    cart_id = cart_with((db.session.get(Variant, shop), 1))
    order = place_order(
        cart_id=cart_id,
        user_id=None,
        delivery=delivery_to(),
        payment_method="vietqr",
        checkout_key=secrets.token_urlsafe(16),
        invoice=invoice,
    )
    assert (order.invoice_company, order.invoice_tax_code) == ("Công ty TNHH Ong Vàng", "0100109106-002")
    post(app.test_client(), notice(order, order.total))
    producer_id = order.sub_orders[0].producer_id
    _, raw = tokens.create_token(producer_id, "Kho")
    listed = app.test_client().get("/api/v1/producer/orders", headers={"Authorization": f"Bearer {raw}"}).get_json()
    (item,) = listed["items"]
    assert item["payment_method"] == "vietqr" and item["paid"] is True
    assert item["invoice"] == {
        "company": "Công ty TNHH Ong Vàng",
        "tax_code": "0100109106-002",
        "address": "12 Lý Thường Kiệt, Hà Nội",
        "email": "kt@ongvang.vn",
    }
    page = app.test_client().get(f"/don-hang/{order.number}?t={order.access_token}").get_data(as_text=True)
    assert "0100109106-002" in page and "Đã thanh toán" in page


def test_checkout_keeps_a_wrong_tax_code_on_the_review_page(app, shop):
    client = app.test_client()
    variant = db.session.get(Variant, shop)
    client.post("/gio-hang/them", data={"variant_id": variant.id, "quantity": 1})
    delivery = delivery_to()
    with client.session_transaction() as session:
        session["checkout"] = delivery.__dict__
    review = client.get("/thanh-toan/xac-nhan")
    assert review.status_code == 200 and "Chuyển khoản ngân hàng (VietQR)" in review.get_data(as_text=True)
    answer = client.post(
        "/thanh-toan/dat-hang",
        data={
            "payment_method": "vietqr",
            "checkout_key": secrets.token_urlsafe(24),
            "want_invoice": "y",
            "invoice_company": "Công ty Ong Vàng",
            "invoice_tax_code": "0100109107",
            "invoice_address": "Hà Nội",
            "invoice_email": "kt@ongvang.vn",
        },
    )
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/thanh-toan/xac-nhan")
    page = client.get("/thanh-toan/xac-nhan").get_data(as_text=True)
    assert "chữ số cuối là số kiểm tra" in page and 'value="0100109107"' in page
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_cancelling_a_paid_part_flags_its_transfer_for_refund(client, shop):

    order = place(shop, 2)
    post(client, notice(order, order.total))
    sub_id = fresh(order.id).sub_orders[0].id
    cancellations.cancel_and_refund(sub_id, "hết hàng thật")
    (row,) = transfers()
    assert (row.applied_amount, row.refund_amount, row.refund_state) == (0, order.total, "due")
    assert "transfer_refund_due" in kinds(order.id)
    assert stock(shop) == 4


def test_cancelling_some_units_of_a_paid_part_flags_their_share(client, shop):
    order = place(shop, 2)
    post(client, notice(order, order.total))
    sub = fresh(order.id).sub_orders[0]
    line = sub.lines[0]
    cancellations.cancel_lines(sub.id, {line.id: 1}, "vỡ một hũ")
    (row,) = transfers()
    assert row.refund_amount == line.line_total // 2 and row.refund_state == "due"
    assert row.applied_amount == order.total - line.line_total // 2
    assert stock(shop) == 3


def test_the_console_order_page_lists_its_transfers(app, client, shop):
    order = place(shop)
    post(client, notice(order, order.total + 5_000))
    ops = app.test_client()
    ops.post("/tai-khoan/dang-nhap", data={"email": "vanhanh@example.vn", "password": "mat-khau-an-toan-1"})
    page = ops.get(f"/ops/don-hang/{order.id}").get_data(as_text=True)
    assert "Chuyển khoản" in page and "Chờ hoàn" in page and transfers()[0].transaction_id in page

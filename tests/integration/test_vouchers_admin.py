"""Operators create, edit and switch off vouchers in the console. Every mistake
is refused with a message on the field at fault and nothing is saved; every
change is in the audit log. Times are typed in Vietnam time."""

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from shop.accounts.services import create_user
from shop.audit.models import AuditEntry
from shop.catalog.models import Category
from shop.extensions import db
from shop.promotions import voucher_services
from shop.promotions.models import Voucher
from shop.promotions.voucher_services import VoucherDraft, VoucherInvalid
from tests.support.factories import category, make_producer, province

PASSWORD = "mat-khau-an-toan-1"

GOOD = {
    "code": "ocop-tet 2026",
    "description": "Giảm 10% cho đơn từ 300.000 ₫",
    "kind": "percent",
    "value": "10",
    "max_discount": "50.000",
    "min_order": "300.000",
    "usage_limit": "100",
    "per_customer_limit": "1",
    "starts_at": "2026-02-01T00:00",
    "ends_at": "2026-02-15T23:59",
    "active": "1",
}


@pytest.fixture
def operator_id(app) -> int:
    return create_user("vanhanh@example.vn", "operator", PASSWORD, name="Vận hành").id


@pytest.fixture
def console(client, operator_id):
    response = client.post("/tai-khoan/dang-nhap", data={"email": "vanhanh@example.vn", "password": PASSWORD})
    assert response.status_code in (302, 303)
    return client


def draft(**changes) -> VoucherDraft:
    values = {k: v for k, v in GOOD.items() if k != "active"}
    values.update(changes)
    return VoucherDraft(**values)


def count() -> int:
    return db.session.scalar(select(func.count(Voucher.id)))


def test_an_operator_creates_a_voucher_in_vietnam_time_with_its_scope(console, operator_id):
    producer = make_producer("HTX Mộc Châu")
    form = dict(GOOD, producers=[str(producer.id)], provinces=[str(province("Sơn La").id)], min_stars="4")
    form["categories"] = [str(category().id)]

    response = console.post("/ops/ma-giam-gia/moi", data=form)

    assert response.status_code == 303
    voucher = db.session.scalars(select(Voucher)).one()
    assert voucher.code == "OCOP-TET2026"
    assert (voucher.kind, voucher.value, voucher.max_discount, voucher.min_order) == ("percent", 10, 50_000, 300_000)
    assert (voucher.usage_limit, voucher.per_customer_limit, voucher.used_count, voucher.active) == (100, 1, 0, True)
    assert voucher.starts_at.replace(tzinfo=UTC) == datetime(2026, 1, 31, 17, 0, tzinfo=UTC)  # 00:00 in Hà Nội
    assert voucher.scope == {
        "producers": [producer.id],
        "provinces": [province("Sơn La").id],
        "categories": [category().id],
        "min_stars": 4,
    }
    audit = db.session.scalars(select(AuditEntry)).one()
    assert (audit.action, audit.actor_id, audit.target_id) == ("voucher.create", operator_id, voucher.id)
    listing = console.get("/ops/ma-giam-gia").get_data(as_text=True)
    assert "OCOP-TET2026" in listing and "0 / 100" in listing


BAD_INPUT = [
    ({"value": "120"}, "value", "từ 1 đến 100"),
    ({"value": "0"}, "value", "từ 1 đến 100"),
    ({"kind": "fixed", "value": "-5000"}, "value", "không âm"),
    ({"kind": "fixed", "value": "12.5"}, "value", "số đồng nguyên"),
    ({"kind": "bogo"}, "kind", "kiểu giảm"),
    ({"max_discount": "0"}, "max_discount", "lớn hơn 0"),
    ({"min_order": "ba trăm"}, "min_order", "số đồng nguyên"),
    ({"kind": "fixed", "value": "9" * 40}, "value", "tối đa là 2.000.000.000"),  # was a 500
    ({"max_discount": "3.000.000.000"}, "max_discount", "tối đa là 2.000.000.000"),
    ({"usage_limit": "0"}, "usage_limit", "từ 1"),
    ({"per_customer_limit": "200"}, "per_customer_limit", "không được lớn hơn tổng"),
    ({"ends_at": "2026-01-01T00:00"}, "ends_at", "phải sau"),
    ({"ends_at": GOOD["starts_at"]}, "ends_at", "phải sau"),
    ({"starts_at": "mai"}, "starts_at", "không hợp lệ"),
    ({"starts_at": ""}, "starts_at", "Nhập ngày giờ"),
    ({"code": "A"}, "code", "3–32 ký tự"),
    ({"code": "GIẢM-GIÁ"}, "code", "3–32 ký tự"),
    ({"producers": ("999999",)}, "producers", "không còn tồn tại"),
    ({"min_stars": "6"}, "min_stars", "3, 4 hoặc 5"),
]


def test_bad_input_is_refused_on_its_field_and_nothing_is_saved(app, operator_id):
    for changes, field, message in BAD_INPUT:
        with pytest.raises(VoucherInvalid) as refused:
            voucher_services.create_voucher(draft(**changes), operator_id)
        assert message in refused.value.errors.get(field, ""), (changes, refused.value.errors)
    assert count() == 0 and db.session.scalar(select(func.count(AuditEntry.id))) == 0


def test_the_form_is_shown_again_with_the_message_and_what_was_typed(console):
    response = console.post("/ops/ma-giam-gia/moi", data=dict(GOOD, value="120"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Phần trăm giảm là số nguyên từ 1 đến 100." in page
    assert 'value="120"' in page and 'aria-invalid="true"' in page
    assert count() == 0


def test_a_code_already_taken_is_refused(app, operator_id):
    voucher_services.create_voucher(draft(), operator_id)
    with pytest.raises(VoucherInvalid) as refused:
        voucher_services.create_voucher(draft(code="OCOP-TET2026"), operator_id)
    assert "đã có" in refused.value.errors["code"]
    assert count() == 1


def test_editing_keeps_the_limit_at_or_above_the_uses_and_the_code_of_a_used_voucher(app, operator_id):
    voucher = voucher_services.create_voucher(draft(), operator_id)
    db.session.execute(update(Voucher).where(Voucher.id == voucher.id).values(used_count=7))
    db.session.commit()

    with pytest.raises(VoucherInvalid) as too_low:
        voucher_services.update_voucher(voucher.id, draft(usage_limit="5"), operator_id)
    assert "7" in too_low.value.errors["usage_limit"]
    with pytest.raises(VoucherInvalid) as renamed:
        voucher_services.update_voucher(voucher.id, draft(code="KHAC"), operator_id)
    assert "không đổi được" in renamed.value.errors["code"]

    voucher_services.update_voucher(voucher.id, draft(usage_limit="7", value="15"), operator_id)
    db.session.expire_all()
    voucher = db.session.get(Voucher, voucher.id)
    assert (voucher.usage_limit, voucher.value, voucher.used_count) == (7, 15, 7)
    update_entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "voucher.update")).one()
    assert update_entry.before == {"value": 10, "usage_limit": 100}
    assert update_entry.after == {"value": 15, "usage_limit": 7}


def test_an_operator_edits_and_switches_a_voucher_off_and_on_in_the_console(console, operator_id):
    voucher = voucher_services.create_voucher(draft(), operator_id)
    page = console.get(f"/ops/ma-giam-gia/{voucher.id}").get_data(as_text=True)
    assert 'value="2026-02-01T00:00"' in page  # shown back in Vietnam time

    saved = console.post(f"/ops/ma-giam-gia/{voucher.id}", data=dict(GOOD, kind="fixed", value="30.000"))
    assert saved.status_code == 303
    off = console.post(f"/ops/ma-giam-gia/{voucher.id}/bat-tat", data={"active": "0", "next": "list"})
    assert off.status_code == 303

    db.session.expire_all()
    voucher = db.session.get(Voucher, voucher.id)
    assert (voucher.kind, voucher.value, voucher.active) == ("fixed", 30_000, False)
    assert "OCOP-TET2026" in console.get("/ops/ma-giam-gia?show=off").get_data(as_text=True)
    assert "OCOP-TET2026" not in console.get("/ops/ma-giam-gia?show=running").get_data(as_text=True)
    console.post(f"/ops/ma-giam-gia/{voucher.id}/bat-tat", data={"active": "1"})
    db.session.expire_all()
    assert db.session.get(Voucher, voucher.id).active is True
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["voucher.create", "voucher.update", "voucher.deactivate", "voucher.activate"]


def test_the_switch_turns_a_voucher_on_only_for_the_pages_own_value(console, operator_id):
    voucher = voucher_services.create_voucher(draft(), operator_id)
    url = f"/ops/ma-giam-gia/{voucher.id}/bat-tat"
    for odd in ("²", "9" * 40, "", " 1", None):  # anything but "1" (and a missing value) is "off"
        response = console.post(url, data={} if odd is None else {"active": odd})
        assert response.status_code == 303, odd
        db.session.expire_all()
        assert db.session.get(Voucher, voucher.id).active is False, odd
    assert console.post(url, data={"active": "1\x00"}).status_code == 400  # a NUL byte: refused, no 500
    assert console.post(url, data={"active": "1"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Voucher, voucher.id).active is True


def test_an_unknown_voucher_is_a_404(console):
    assert console.get("/ops/ma-giam-gia/999999").status_code == 404
    assert console.post("/ops/ma-giam-gia/999999", data=GOOD).status_code == 404
    assert console.post("/ops/ma-giam-gia/999999/bat-tat", data={"active": "0"}).status_code == 404


def test_vouchers_are_for_operators_only(app, client):
    create_user("khach@example.vn", "shopper", PASSWORD)
    shopper = client
    shopper.post("/tai-khoan/dang-nhap", data={"email": "khach@example.vn", "password": PASSWORD})
    assert shopper.get("/ops/ma-giam-gia").status_code == 404
    assert shopper.post("/ops/ma-giam-gia/moi", data=GOOD).status_code == 404
    assert count() == 0


def test_odd_input_is_shown_again_on_its_field_with_the_ticked_boxes(console):
    producer = make_producer("HTX Mộc Châu")
    sub_group = db.session.scalars(select(Category).where(Category.level == 2)).first()
    form = dict(GOOD, kind="fixed", value="30.000", provinces=["abc"], min_stars="9" * 30, usage_limit="1" * 25)
    form.update(producers=[str(producer.id)], categories=[str(sub_group.id)])
    form.pop("active")

    response = console.post("/ops/ma-giam-gia/moi", data=form)

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    for message in (
        "Lựa chọn không hợp lệ.",  # provinces
        "Số sao tối thiểu là 3, 4 hoặc 5.",
        "Số lượt dùng là số nguyên từ 1, hoặc để trống nếu không giới hạn.",
    ):
        assert message in page
    assert re.search(rf'<input checked id="producers-0"[^>]*value="{producer.id}"', page), "stays ticked"
    assert re.search(rf'<label class="is-child"><input[^>]*value="{sub_group.id}"', page)
    assert not re.search(r'<input[^>]*name="active"[^>]*checked', page), "switched off stays off"
    assert re.search(r'<input checked[^>]*name="kind"[^>]*value="fixed"', page)
    assert count() == 0

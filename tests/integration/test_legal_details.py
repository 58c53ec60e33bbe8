"""The operator's legal details: entered in the console, printed in the footer of
every page (cached ones included) and in the policies; no bracketed placeholder
anywhere, whether or not they have been entered."""

import re

import pytest
from sqlalchemy import select

from shop.accounts.services import create_user
from shop.audit.models import AuditEntry
from shop.extensions import db
from shop.pages.views import PAGES
from shop.settings.models import Setting
from shop.settings.services import set_int
from tests.support.cache import warm

PASSWORD = "mat-khau-dai-1"
PLACEHOLDER = re.compile(r"\[[^\]\[<>{}\"]{2,40}\]")  # "[Hotline]", "[Tên pháp nhân vận hành]"
DETAILS = {
    "legal_name": "Công ty TNHH Chợ Quê Thử Nghiệm",
    "business_code": "0101234567",
    "business_code_date": "2025-03-04",
    "business_code_issuer": "Sở Tài chính TP. Hà Nội",
    "address": "12 Hàng Bạc, Phường Hoàn Kiếm, Hà Nội",
    "hotline": "1900.6868",
    "email": "HoTro@ChoQue.vn",
    "support_hours": "8:00–17:00, thứ Hai đến thứ Bảy",
    "effective_date": "2026-01-15",
}


@pytest.fixture
def ops(app):
    create_user("vanhanh@example.vn", "operator", PASSWORD, name="Chị Vận Hành")
    client = app.test_client()
    client.post("/tai-khoan/dang-nhap", data={"email": "vanhanh@example.vn", "password": PASSWORD})
    return client


def text(response) -> str:
    assert response.status_code == 200
    return response.get_data(as_text=True)


def public_pages() -> list[str]:
    return ["/", "/san-pham", "/nha-san-xuat", *(f"/trang/{slug}" for slug in PAGES)]


def footer(html: str) -> str:
    return html[html.index('<footer class="site-footer">') :]


def test_without_details_no_page_shows_a_placeholder(client, app):
    for url in public_pages():
        html = text(client.get(url))
        assert not PLACEHOLDER.findall(html), (url, PLACEHOLDER.findall(html))
    assert "Đơn vị vận hành" not in footer(text(client.get("/")))  # nothing to say yet, so nothing said


def test_details_entered_in_the_console_show_at_once_on_cached_pages_and_in_the_policies(cached, ops, client, app):
    warm(client, "/")  # a cached home page from before
    response = ops.post("/ops/cai-dat/phap-ly", data=DETAILS)
    assert response.status_code == 303
    home = footer(text(client.get("/")))
    assert "Công ty TNHH Chợ Quê Thử Nghiệm" in home
    assert "0101234567 — cấp ngày 04/03/2025 tại Sở Tài chính TP. Hà Nội" in home
    assert 'href="tel:19006868">1900 6868</a>' in home and "hotro@choque.vn" in home.lower()

    complaints = text(client.get("/trang/giai-quyet-khieu-nai"))
    assert "Qua hotline 1900 6868, trong giờ làm việc 8:00–17:00, thứ Hai đến thứ Bảy." in complaints
    assert "tại 12 Hàng Bạc, Phường Hoàn Kiếm, Hà Nội." in complaints
    assert "có hiệu lực từ ngày 15/01/2026" in text(client.get("/trang/quy-che-hoat-dong"))
    with app.app_context():
        set_int("cod_max_amount", 2_500_000)
        db.session.commit()
    assert "không vượt quá 2.500.000 đồng" in text(client.get("/trang/chinh-sach-thanh-toan"))
    client.set_cookie("lang", "en")
    english = text(client.get("/trang/chinh-sach-bao-mat"))
    assert "This policy takes effect on 15/01/2026" in english and "Công ty TNHH Chợ Quê Thử Nghiệm" in english
    for url in public_pages():
        assert not PLACEHOLDER.findall(text(client.get(url))), url

    (entry,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "settings.legal")).all()
    assert entry.after["hotline"] == "1900 6868" and entry.before["legal_name"] == ""
    assert ops.post("/ops/cai-dat/phap-ly", data=DETAILS).status_code == 303  # the same again: nothing written
    assert len(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "settings.legal")).all()) == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("business_code", "12345", "Mã số doanh nghiệp gồm 10 chữ số"),
        ("business_code", "0101234567-1", "Mã số doanh nghiệp gồm 10 chữ số"),
        ("hotline", "12345", "Số hotline không hợp lệ"),
        ("email", "hotro@", "Email không hợp lệ."),
        ("effective_date", "2026-13-01", "Ngày không hợp lệ."),
        ("legal_name", "x" * 201, "Tối đa 200 ký tự."),
        ("address", "Hà\x00Nội", None),
    ],
)
def test_bad_details_are_refused_beside_their_field_and_nothing_is_saved(ops, field, value, message):
    response = ops.post("/ops/cai-dat/phap-ly", data=DETAILS | {field: value})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    if message is not None:  # (a NUL byte is refused for the whole request by shop.inputs)
        assert message in page and 'aria-invalid="true"' in page
    assert db.session.scalars(select(Setting).where(Setting.key.startswith("legal."))).all() == []


def test_a_branch_code_and_a_mobile_hotline_are_accepted(ops):
    assert (
        ops.post(
            "/ops/cai-dat/phap-ly", data=DETAILS | {"business_code": "0101234567-001", "hotline": "+84 912 345 678"}
        ).status_code
        == 303
    )
    assert db.session.get(Setting, "legal.hotline").value == "0912 345 678"
    assert db.session.get(Setting, "legal.business_code").value == "0101234567-001"


def test_only_operators_reach_the_legal_details(client, app):
    assert client.get("/ops/cai-dat/phap-ly").status_code in (302, 303, 404)
    assert client.post("/ops/cai-dat/phap-ly", data=DETAILS).status_code in (302, 303, 400, 403, 404)
    assert db.session.scalars(select(Setting).where(Setting.key.startswith("legal."))).all() == []

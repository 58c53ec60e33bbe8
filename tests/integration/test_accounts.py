"""Accounts end to end through the web app: sign-up with a real SMTP server,
verification, sign-in and out, password reset, profile, address book, rate
limits and the create-user command."""

import email
import email.policy
import re
import time
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
import redis
from argon2 import PasswordHasher
from sqlalchemy import func, select

from shop import create_app
from shop.accounts import services, tokens
from shop.accounts.models import Address, ProducerMember, User
from shop.accounts.passwords import needs_rehash
from shop.extensions import db, limiter
from shop.places.models import Province, Ward
from tests.support.factories import make_producer
from tests.support.mail import smtp_server  # noqa: F401 - a fixture
from tests.support.servers import free_port

PASSWORD = "matkhau123"


def text(response) -> str:
    return response.get_data(as_text=True)


def header(response) -> str:
    page = text(response)
    return page[page.index("<header") : page.index("</header>")]


def sign_up(client, email="lan@example.com", password=PASSWORD, name="Nguyễn Thị Lan", phone="0912 345 678"):
    return client.post("/tai-khoan/dang-ky", data={"email": email, "password": password, "name": name, "phone": phone})


def sign_in(client, email="lan@example.com", password=PASSWORD, remember=False, next=None):
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    if next is not None:
        data["next"] = next
    return client.post("/tai-khoan/dang-nhap", data=data)


def make_user(email="lan@example.com", password=PASSWORD, name="Nguyễn Thị Lan") -> User:
    return services.create_user(email, "shopper", password, name=name)


def user(email="lan@example.com") -> User:
    return db.session.scalars(select(User).where(User.email == email)).one()


def link_in(message: EmailMessage, path_prefix: str) -> str:
    """The path of the link to `path_prefix` in both the text and the HTML part."""
    plain = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    url = re.search(r"https?://\S+", plain).group(0)
    assert url in html
    path = urlsplit(url).path
    assert path.startswith(path_prefix)
    return path


def ward(province_name: str, index: int = 0) -> Ward:
    return db.session.scalars(
        select(Ward).join(Province).where(Province.name == province_name).order_by(Ward.code).offset(index).limit(1)
    ).one()


def address_form(province_name="Hà Nội", ward_row=None, **changes) -> dict:
    province = db.session.scalars(select(Province).where(Province.name == province_name)).one()
    ward_row = ward_row if ward_row is not None else ward(province_name)
    data = {
        "recipient": "Nguyễn Thị Lan",
        "phone": "0912 345 678",
        "province_id": str(province.id),
        "ward_id": str(ward_row.id),
        "street": "Số 12, ngõ 34 phố Đội Cấn",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# --- sign-up and verification ------------------------------------------------------------


def test_a_new_shopper_is_signed_in_and_gets_a_verification_email_whose_link_works_once(client, smtp_server):  # noqa: F811
    response = sign_up(client, email="Lan@Example.com")
    assert response.status_code == 302 and response.location == "/"
    assert user().email == "lan@example.com" and user().phone == "0912345678"

    [message] = smtp_server.wait_for(1)
    assert message["To"] == "lan@example.com"
    assert "Xác minh email" in message["Subject"]
    path = link_in(message, "/tai-khoan/xac-minh/")

    home = client.get("/")
    assert "Nguyễn Thị Lan" in header(home)
    assert "Hãy xác minh email lan@example.com" in text(home)

    assert "Xác minh email" in text(client.get(path))
    assert user().email_verified_at is None  # opening the link changes nothing
    confirmed = client.post(path)
    assert confirmed.status_code == 302
    assert user().email_verified_at is not None
    assert "Hãy xác minh email" not in text(client.get("/"))

    again = client.post(path)
    assert again.status_code == 400 and "đã được xác minh" in text(again)


def test_the_verification_email_follows_the_shoppers_language(client, smtp_server):  # noqa: F811
    client.set_cookie("lang", "en")
    sign_up(client)
    [message] = smtp_server.wait_for(1)
    assert user().locale == "en"
    assert '<html lang="en">' in message.get_body(preferencelist=("html",)).get_content()


def test_a_mail_server_that_does_not_answer_does_not_stop_a_sign_up(app, client):
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    response = sign_up(client)
    assert response.status_code == 302
    assert user().email == "lan@example.com"
    assert "Gửi lại email xác minh" in text(client.get("/"))


def test_without_a_mail_server_emails_are_written_to_files(app, client, tmp_path):
    app.config.update(MAIL_SERVER=None, MAIL_BACKEND=None, MAIL_DIR=str(tmp_path / "mail"))
    sign_up(client)
    [eml] = (tmp_path / "mail").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"] == "lan@example.com" and "Chợ OCOP" in message["From"]
    assert link_in(message, "/tai-khoan/xac-minh/")


def test_the_verification_email_can_be_sent_again(client, smtp_server):  # noqa: F811
    sign_up(client)
    response = client.post("/tai-khoan/xac-minh/gui-lai", data={"next": "/san-pham"})
    assert response.status_code == 302 and response.location == "/san-pham"
    first, second = smtp_server.wait_for(2)
    assert link_in(first, "/tai-khoan/xac-minh/") and link_in(second, "/tai-khoan/xac-minh/")


def test_an_email_that_already_has_an_account_is_refused_in_any_case(client):
    make_user()
    response = sign_up(client, email="LAN@example.COM")
    assert response.status_code == 200
    assert "Email này đã có tài khoản" in text(response)
    assert db.session.scalar(select(func.count(User.id))) == 1


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"password": "1234567890"}, "không được chỉ gồm chữ số"),
        ({"password": "ngan1"}, "ít nhất 8 ký tự"),
        ({"phone": "0123 456"}, "Số điện thoại không hợp lệ"),
        ({"email": "lan@"}, "Địa chỉ email không hợp lệ"),
        ({"name": "  "}, "Vui lòng nhập họ tên"),
    ],
)
def test_sign_up_explains_what_to_fix(client, changes, message):
    response = sign_up(client, **changes)
    assert response.status_code == 200 and message in text(response)
    assert 'aria-invalid="true"' in text(response)
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_a_verification_link_older_than_three_days_has_expired(app, client):
    lan = make_user()
    lan.email_verified_at = None
    db.session.commit()
    four_days_ago = int(time.time()) - 4 * 86400
    token = tokens.make_token(
        app.config["SECRET_KEY"], tokens.VERIFY_EMAIL, {"uid": lan.id, "email": lan.email}, issued_at=four_days_ago
    )
    response = client.get(f"/tai-khoan/xac-minh/{token}")
    assert response.status_code == 400 and "đã hết hạn" in text(response)


# --- passwords, sign-in and out -----------------------------------------------------------


def test_passwords_are_stored_as_argon2id_hashes_and_upgraded_when_the_parameters_change(client):
    lan = make_user()
    assert lan.password_hash.startswith("$argon2id$") and PASSWORD not in lan.password_hash
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    lan.password_hash = weak
    db.session.commit()
    assert needs_rehash(weak)

    assert sign_in(client).status_code == 302
    assert user().password_hash != weak and not needs_rehash(user().password_hash)


def test_a_shopper_signs_in_and_out(client):
    make_user()
    response = sign_in(client)
    assert response.status_code == 302 and response.location == "/"
    page = client.get("/")
    assert "Nguyễn Thị Lan" in header(page) and 'action="/tai-khoan/dang-xuat"' in header(page)
    assert client.get("/tai-khoan").status_code == 200

    assert client.get("/tai-khoan/dang-xuat").status_code == 405
    assert client.post("/tai-khoan/dang-xuat").status_code == 302
    assert "Đăng nhập" in header(client.get("/"))
    gone = client.get("/tai-khoan")
    assert gone.status_code == 302 and gone.location.startswith("/tai-khoan/dang-nhap?next=")


def test_remember_me_keeps_the_session_after_the_browser_closes(client):
    make_user()
    cookies = sign_in(client).headers.getlist("Set-Cookie")
    (session_cookie,) = [c for c in cookies if c.startswith("session=")]
    assert "Expires=" not in session_cookie  # ends with the browser
    client.post("/tai-khoan/dang-xuat")

    remembered = sign_in(client, remember=True)
    cookies = remembered.headers.getlist("Set-Cookie")
    assert any(c.startswith("session=") and "Expires=" in c and "HttpOnly" in c for c in cookies)
    # One cookie for everything: signing out or in again replaces it.
    assert not any(c.startswith("remember_token=") for c in cookies)


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(client):
    make_user()
    wrong = sign_in(client, password="khong-dung-1")
    unknown = sign_in(client, email="ai-do@example.com")
    assert wrong.status_code == unknown.status_code == 200
    assert "Email hoặc mật khẩu không đúng" in text(wrong) and "Email hoặc mật khẩu không đúng" in text(unknown)
    assert client.get("/tai-khoan").status_code == 302


def test_a_locked_account_cannot_sign_in_and_is_signed_out(client):
    lan = make_user()
    sign_in(client)
    lan.active = False
    db.session.commit()
    assert client.get("/tai-khoan").status_code == 302
    response = sign_in(client)
    assert "đã bị khóa" in text(response)
    assert client.get("/tai-khoan").status_code == 302


@pytest.mark.parametrize(
    "target, lands_on",
    [
        ("/san-pham?q=mat+ong", "/san-pham?q=mat+ong"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
    ],
)
def test_after_sign_in_next_is_followed_only_to_this_site(client, target, lands_on):
    make_user()
    assert sign_in(client, next=target).location == lands_on


def test_a_page_that_needs_an_account_sends_the_visitor_back_after_sign_in(client):
    make_user()
    to_login = client.get("/tai-khoan/dia-chi")
    form = text(client.get(to_login.location))
    assert 'name="next" type="hidden" value="/tai-khoan/dia-chi"' in form
    assert sign_in(client, next="/tai-khoan/dia-chi").location == "/tai-khoan/dia-chi"


def test_anonymous_pages_carry_no_csrf_token_in_the_header(client):
    page = client.get("/")
    assert "Đăng nhập" in header(page)
    assert "csrf_token" not in header(page)


def test_signing_out_needs_the_csrf_token(app, client):
    make_user()
    sign_in(client)
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/tai-khoan/dang-xuat").status_code == 400
    token = re.search(r'name="csrf_token" value="([^"]+)"', header(client.get("/"))).group(1)
    assert client.post("/tai-khoan/dang-xuat", data={"csrf_token": token}).status_code == 302
    assert client.get("/tai-khoan").status_code == 302


# --- password reset --------------------------------------------------------------------------


def test_a_password_reset_link_works_once(client, smtp_server):  # noqa: F811
    make_user()
    response = client.post("/tai-khoan/quen-mat-khau", data={"email": "Lan@example.com"})
    assert response.status_code == 200 and "chúng tôi vừa gửi" in text(response)
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "lan@example.com" and "Đặt lại mật khẩu" in message["Subject"]
    path = link_in(message, "/tai-khoan/dat-lai-mat-khau/")

    assert "Đặt mật khẩu mới" in text(client.get(path))
    done = client.post(path, data={"password": "mat-khau-moi-2025"})
    assert done.status_code == 302 and client.get("/tai-khoan").status_code == 200  # signed in
    client.post("/tai-khoan/dang-xuat")

    assert sign_in(client, password=PASSWORD).status_code == 200  # the old one no longer works
    assert sign_in(client, password="mat-khau-moi-2025").status_code == 302
    reused = client.post(path, data={"password": "mot-mat-khau-khac"})
    assert reused.status_code == 400 and "đã được dùng" in text(reused)


def test_asking_to_reset_an_unknown_email_looks_the_same_and_sends_nothing(client, smtp_server):  # noqa: F811
    make_user()
    known = text(client.post("/tai-khoan/quen-mat-khau", data={"email": "lan@example.com"}))
    unknown = text(client.post("/tai-khoan/quen-mat-khau", data={"email": "minh@example.com"}))
    assert known.replace("lan@example.com", "X") == unknown.replace("minh@example.com", "X")
    assert [m["To"] for m in smtp_server.wait_for(1)] == ["lan@example.com"]


def test_a_reset_link_lasts_one_hour(app, client):
    lan = make_user()
    fingerprint = tokens.password_fingerprint(lan.password_hash)

    def link(seconds_ago: int) -> str:
        token = tokens.make_token(
            app.config["SECRET_KEY"],
            tokens.RESET_PASSWORD,
            {"uid": lan.id, "fp": fingerprint},
            issued_at=int(time.time()) - seconds_ago,
        )
        return f"/tai-khoan/dat-lai-mat-khau/{token}"

    assert client.get(link(59 * 60)).status_code == 200
    expired = client.post(link(61 * 60), data={"password": "mat-khau-moi-2025"})
    assert expired.status_code == 400 and "đã hết hạn" in text(expired)
    assert sign_in(client).status_code == 302  # the password did not change


def test_a_verification_link_cannot_reset_a_password(app, client):
    lan = make_user()
    token = tokens.make_token(app.config["SECRET_KEY"], tokens.VERIFY_EMAIL, {"uid": lan.id, "email": lan.email})
    response = client.get(f"/tai-khoan/dat-lai-mat-khau/{token}")
    assert response.status_code == 400 and "không hợp lệ" in text(response)


# --- profile -------------------------------------------------------------------------------------


def test_a_shopper_updates_the_profile(client):
    make_user()
    sign_in(client)
    response = client.post("/tai-khoan", data={"name": "Lan Nguyễn", "phone": "+84 98 765 4321", "locale": "en"})
    assert response.status_code == 302
    assert (user().name, user().phone, user().locale) == ("Lan Nguyễn", "0987654321", "en")
    assert "lang=en" in response.headers["Set-Cookie"]

    refused = client.post("/tai-khoan", data={"name": "Lan", "phone": "12345", "locale": "vi"})
    # Refused, so the page is still in the English she chose.
    assert "This phone number is not valid" in text(refused) and user().phone == "0987654321"


def test_changing_the_password_signs_out_every_other_device(app, client):
    make_user()
    phone = app.test_client()

    def on_phone(path: str):
        # A request of its own: the `app` fixture's context (and its `g`, where
        # Flask-Login keeps the current user) is otherwise shared by both clients.
        with app.app_context():
            return phone.get(path) if path else sign_in(phone)

    sign_in(client)
    on_phone("")
    assert on_phone("/tai-khoan").status_code == 200

    wrong = client.post("/tai-khoan/mat-khau", data={"pw-current_password": "doan-bua", "pw-new_password": "moi12345"})
    assert "Mật khẩu hiện tại không đúng" in text(wrong)
    changed = client.post(
        "/tai-khoan/mat-khau", data={"pw-current_password": PASSWORD, "pw-new_password": "mat-khau-moi-2025"}
    )
    assert changed.status_code == 302
    assert client.get("/tai-khoan").status_code == 200
    assert on_phone("/tai-khoan").status_code == 302


# --- address book ----------------------------------------------------------------------------


def test_a_shopper_keeps_an_address_book_with_one_default(client):
    make_user()
    sign_in(client)
    assert client.post("/tai-khoan/dia-chi/them", data=address_form()).status_code == 302
    second = address_form("Huế", street="12 Lê Lợi", is_default="y")
    assert client.post("/tai-khoan/dia-chi/them", data=second).status_code == 302
    home, hue = db.session.scalars(select(Address).order_by(Address.id)).all()
    assert (home.is_default, hue.is_default) == (False, True)
    assert home.phone == "0912345678"

    page = text(client.get("/tai-khoan/dia-chi"))
    assert page.index("12 Lê Lợi") < page.index("Đội Cấn")  # the default first
    assert "0912 345 678" in page

    other_ward = ward("Hà Nội", 1)
    edit = address_form("Hà Nội", other_ward, street="Số 5 Hàng Bạc", recipient="Bà Lan")
    assert client.post(f"/tai-khoan/dia-chi/{home.id}/sua", data=edit).status_code == 302
    assert (home.street, home.recipient, home.ward_id) == ("Số 5 Hàng Bạc", "Bà Lan", other_ward.id)

    assert client.post(f"/tai-khoan/dia-chi/{home.id}/mac-dinh").status_code == 302
    assert (home.is_default, hue.is_default) == (True, False)
    assert client.post(f"/tai-khoan/dia-chi/{home.id}/xoa").status_code == 302
    assert db.session.scalars(select(Address)).all() == [hue] and hue.is_default


def test_another_shoppers_address_is_not_found(client):
    minh = make_user("minh@example.com")
    theirs = services.add_address(minh.id, **_service_values(address_form()))
    make_user()
    sign_in(client)
    assert client.get(f"/tai-khoan/dia-chi/{theirs.id}/sua").status_code == 404
    assert client.post(f"/tai-khoan/dia-chi/{theirs.id}/sua", data=address_form(street="Của tôi")).status_code == 404
    assert client.post(f"/tai-khoan/dia-chi/{theirs.id}/mac-dinh").status_code == 404
    assert client.post(f"/tai-khoan/dia-chi/{theirs.id}/xoa").status_code == 404
    assert db.session.get(Address, theirs.id).street == "Số 12, ngõ 34 phố Đội Cấn"
    assert "Đội Cấn" not in text(client.get("/tai-khoan/dia-chi"))


def _service_values(form: dict) -> dict:
    return {
        "recipient": form["recipient"],
        "phone": form["phone"],
        "province_id": int(form["province_id"]),
        "ward_id": int(form["ward_id"]),
        "street": form["street"],
    }


def test_a_ward_of_another_province_is_refused(client):
    make_user()
    sign_in(client)
    response = client.post("/tai-khoan/dia-chi/them", data=address_form("Hà Nội", ward("Huế")))
    assert response.status_code == 200 and "không thuộc Hà Nội" in text(response)
    assert db.session.scalar(select(func.count(Address.id))) == 0


def test_without_javascript_choosing_a_province_then_saving_offers_its_wards(client):
    make_user()
    sign_in(client)
    first = text(client.get("/tai-khoan/dia-chi/them"))
    assert "Phường Ba Đình" not in first

    response = client.post("/tai-khoan/dia-chi/them", data=address_form("Hà Nội", ward_id=None))
    page = text(response)
    assert response.status_code == 200 and "Chọn phường/xã" in page
    assert re.search(r'<option value="\d+">Phường Ba Đình</option>', page)
    assert "Xã Bắc Hà" not in page  # Lào Cai's
    assert "Đội Cấn" in page  # what was typed is kept
    assert db.session.scalar(select(func.count(Address.id))) == 0


def test_the_wards_of_a_province_are_served_as_json(client):
    response = client.get("/dia-gioi/ha-noi/phuong-xa")
    wards = response.get_json()
    hanoi = db.session.scalars(select(Province).where(Province.slug == "ha-noi")).one()
    assert len(wards) == db.session.scalar(select(func.count(Ward.id)).where(Ward.province_id == hanoi.id))
    assert {"id", "name"} == set(wards[0]) and "Phường Ba Đình" in {w["name"] for w in wards}
    assert "public" in response.headers["Cache-Control"]
    missing = client.get("/dia-gioi/khong-co/phuong-xa")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_the_address_book_needs_an_account(client):
    for path in ("/tai-khoan/dia-chi", "/tai-khoan/dia-chi/them"):
        assert client.get(path).status_code == 302
    assert client.post("/tai-khoan/dia-chi/1/xoa").status_code == 302


# --- rate limits --------------------------------------------------------------------------------


@pytest.fixture
def limited_app(app):
    """The same database, served by an app whose rate limits are on (the limiter is
    shared, so the next test's app turns them off again)."""
    limited = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        MEDIA_DIR=app.config["MEDIA_DIR"],
        RATELIMIT_ENABLED=True,
    )

    @limiter.limit("1 per minute")
    def limited_api():
        return {"ok": True}

    limited.add_url_rule("/api/v1/limited-for-test", view_func=limited_api)
    yield limited
    with limited.app_context():
        db.session.remove()
        db.engine.dispose()


def test_five_wrong_passwords_slow_that_address_down_but_never_lock_the_owner_out(limited_app):
    make_user()
    make_user("minh@example.com")
    client = limited_app.test_client()
    for _ in range(5):
        assert sign_in(client, password="doan-sai-1").status_code == 200
    waiting = sign_in(client)  # even the right password, from the guessing address: wait a little
    assert waiting.status_code == 429
    assert "Bạn đã thử quá nhiều lần" in text(waiting) and 1 <= int(waiting.headers["Retry-After"]) <= 60
    owner = limited_app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert sign_in(owner).status_code == 302  # the owner elsewhere is not locked out
    assert sign_in(client, email="minh@example.com").status_code == 302  # other accounts are not affected


def test_one_address_gets_ten_sign_in_attempts_a_minute(limited_app):
    make_user()
    client = limited_app.test_client()
    for n in range(10):
        assert sign_in(client, email=f"khach{n}@example.com").status_code == 200
    assert sign_in(client).status_code == 429


def test_a_successful_sign_in_forgets_the_failures_before_it(limited_app):
    make_user()
    client = limited_app.test_client()
    for _ in range(4):
        assert sign_in(client, password="doan-sai-1").status_code == 200
    assert sign_in(client).status_code == 302
    client.post("/tai-khoan/dang-xuat")
    for _ in range(4):  # four more typos are free again
        assert sign_in(client, password="doan-sai-1").status_code == 200
    assert sign_in(client).status_code == 302


def test_with_redis_every_worker_shares_the_sign_in_counts(app, redis_server):
    shared = {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "RATELIMIT_ENABLED": True}
    first = create_app("testing", REDIS_URL=redis_server.url, **shared)
    assert first.config["RATELIMIT_STORAGE_URI"] == redis_server.url
    redis.Redis.from_url(redis_server.url).flushdb()
    make_user()
    client = first.test_client()
    for _ in range(5):
        sign_in(client, password="doan-sai-1")
    second = create_app("testing", REDIS_URL=redis_server.url, **shared)  # another worker: an empty memory
    assert sign_in(second.test_client()).status_code == 429
    for each in (first, second):
        with each.app_context():
            db.engine.dispose()


def test_a_rate_limited_api_request_gets_json(limited_app):
    client = limited_app.test_client()
    assert client.get("/api/v1/limited-for-test").status_code == 200
    response = client.get("/api/v1/limited-for-test")
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "too_many_requests"


# --- operators' command and the demo ----------------------------------------------------------------


def test_create_user_makes_a_verified_producer_owner(runner):
    producer = make_producer("HTX Mật ong Bản Mù")
    args = ["create-user", "Chu@Example.com", "--role", "producer", "--producer", producer.slug, "--password", PASSWORD]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    owner = user("chu@example.com")
    assert owner.role == "producer" and owner.email_verified_at is not None
    member = db.session.scalars(select(ProducerMember)).one()
    assert (member.user_id, member.producer_id, member.role) == (owner.id, producer.id, "owner")


def test_create_user_asks_for_the_password_when_not_given(runner):
    result = runner.invoke(args=["create-user", "vanhanh@example.com", "--role", "operator"], input="matkhau123\n" * 2)
    assert result.exit_code == 0, result.output
    assert user("vanhanh@example.com").is_operator


@pytest.mark.parametrize(
    "args, complaint",
    [
        (["create-user", "chu@example.com", "--role", "producer", "--password", PASSWORD], "--producer"),
        (
            ["create-user", "chu@example.com", "--role", "producer", "--producer", "khong-co", "--password", PASSWORD],
            "khong-co",
        ),
        (["create-user", "chu@example.com", "--role", "shopper", "--password", "12345678"], "chữ số"),
        (["create-user", "lan@example.com", "--role", "shopper", "--password", PASSWORD], "đã có tài khoản"),
    ],
)
def test_create_user_refuses_what_it_cannot_do(runner, args, complaint):
    make_user()
    result = runner.invoke(args=args)
    assert result.exit_code != 0 and complaint in result.output
    assert db.session.scalar(select(func.count(User.id))) == 1


def test_the_demo_sign_ins_are_made_once(client):
    make_producer("HTX chăn nuôi ong Phong Thổ")
    assert services.seed_demo_users() == 3
    assert services.seed_demo_users() == 0
    roles = dict(db.session.execute(select(User.email, User.role)).all())
    assert roles == {
        "khach@demo.ocop.vn": "shopper",
        "nongdan@demo.ocop.vn": "producer",
        "vanhanh@demo.ocop.vn": "operator",
    }
    assert user("nongdan@demo.ocop.vn").producer_ids
    assert sign_in(client, email="nongdan@demo.ocop.vn", password="demo12345").status_code == 302

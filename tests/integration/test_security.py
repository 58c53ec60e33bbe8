"""Security review findings (issue 10), kept as tests: redirects, headers,
sessions, odd values, production settings."""

import pytest

from shop.accounts import services
from tests.support.factories import make_producer, make_product
from tests.support.mail import smtp_server  # noqa: F401 - a fixture

TRICKS = [
    "/\t/evil.example/p",
    "/\\evil.example/p",
    "//evil.example/p",
    "/%2F/evil.example/p",
    "https://evil.example/p",
    "javascript:alert(1)",
]


@pytest.fixture
def jar(app):
    return make_product("Mật ong bạc hà", producer=make_producer("HTX ong Phong Thổ"), prices=(150_000,), stars=4)


@pytest.mark.parametrize("target", TRICKS)
def test_the_language_switch_never_sends_anyone_to_another_site(client, app, target):
    response = client.post("/ngon-ngu", data={"lang": "en", "next": target})
    assert response.status_code == 303 and response.headers["Location"] == "/"


@pytest.mark.parametrize("target", TRICKS)
def test_adding_to_the_cart_never_sends_anyone_to_another_site(client, jar, target):
    variant_id = jar.variants[0].id
    response = client.post("/gio-hang/them", data={"variant_id": variant_id, "next": target})
    assert response.status_code == 303 and response.headers["Location"] == "/gio-hang"


def test_adding_to_the_cart_returns_to_the_page_it_was_added_from(client, jar):
    variant_id = jar.variants[0].id
    response = client.post(
        "/gio-hang/them", data={"variant_id": variant_id}, headers={"Referer": f"http://localhost/san-pham/{jar.slug}"}
    )
    assert response.headers["Location"] == f"/san-pham/{jar.slug}"


@pytest.mark.parametrize("target", TRICKS)
def test_signing_in_never_sends_anyone_to_another_site(client, app, target):
    services.create_user("lan@example.com", "shopper", "mat-khau-dai", name="Lan")
    response = client.post(
        "/tai-khoan/dang-nhap", data={"email": "lan@example.com", "password": "mat-khau-dai", "next": target}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"


# --- security headers (item 6) ---------------------------------------------------------------

BASE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def assert_protected(response) -> None:
    for name, value in BASE_HEADERS.items():
        assert response.headers.get(name) == value, name
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    script_src = next(d for d in csp.split("; ") if d.startswith("script-src "))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src


def test_every_kind_of_response_carries_the_security_headers(client, jar):
    for url in ("/", "/san-pham", f"/san-pham/{jar.slug}", "/gio-hang", "/tai-khoan/dang-nhap", "/khong-co-trang-nay"):
        assert_protected(client.get(url))
    assert_protected(client.get("/api/v1/products"))
    with client.get("/static/js/site.js") as static:
        assert_protected(static)
    assert_protected(client.post("/ngon-ngu", data={"lang": "en"}))
    assert "Strict-Transport-Security" not in client.get("/").headers  # only production is https-only


def test_a_page_served_from_the_page_cache_carries_them_too(app, redis_server, client, jar):
    from shop.cache import make_shared_cache
    from tests.support.cache import warm

    app.config.update(PAGE_CACHE_SECONDS=300, REDIS_URL=redis_server.url)
    app.extensions["shared_cache"] = make_shared_cache(app.config)
    app.extensions["shared_cache"].store.clear()
    warm(client, f"/san-pham/{jar.slug}")
    hit = client.get(f"/san-pham/{jar.slug}")
    assert hit.headers["X-Cache"] == "HIT"
    assert_protected(hit)
    assert hit.headers.getlist("Content-Security-Policy") == [
        client.get("/gio-hang").headers["Content-Security-Policy"]
    ]


def test_the_policy_lets_in_exactly_the_stripe_js_in_use(app, client):
    from shop.security import content_security_policy

    real = content_security_policy(
        {"STRIPE_JS_URL": "https://js.stripe.com/v3/", "STRIPE_API_BASE": "https://api.stripe.com"}
    )
    assert "script-src 'self' https://js.stripe.com https://*.js.stripe.com;" in real
    assert "connect-src 'self' https://api.stripe.com;" in real
    assert "frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com;" in real
    fake = content_security_policy(
        {"STRIPE_JS_URL": "http://127.0.0.1:7210/js.stripe.com/v3/", "STRIPE_API_BASE": "http://127.0.0.1:7210"}
    )
    assert "script-src 'self' http://127.0.0.1:7210;" in fake and "connect-src 'self' http://127.0.0.1:7210;" in fake
    assert "stripe.com" not in fake and "frame-src 'none'" in fake
    app.config.update(STRIPE_JS_URL="http://127.0.0.1:7211/js.stripe.com/v3/", STRIPE_API_BASE="http://127.0.0.1:7211")
    assert "script-src 'self' http://127.0.0.1:7211;" in client.get("/").headers["Content-Security-Policy"]


def test_production_sends_hsts_and_marks_the_language_cookie_secure(app, client):
    app.config.update(HSTS_SECONDS=31536000, SESSION_COOKIE_SECURE=True)
    response = client.post("/ngon-ngu", data={"lang": "en"})
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    (lang,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("lang=")]
    assert "Secure" in lang and "HttpOnly" in lang


# --- signing out signs out (item 5) ----------------------------------------------------------

PASSWORD = "mat-khau-dai-12"


def _sign_in(client, remember=True):
    data = {"email": "lan@example.com", "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    assert client.post("/tai-khoan/dang-nhap", data=data).status_code == 302
    return client.get_cookie("session").value


def _replay(app, cookie: str, path: str = "/tai-khoan") -> int:
    """What a copy of a session cookie (an attacker's, a second tab's) opens now."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    with app.app_context():  # a request of its own (Flask-Login keeps the user in `g`)
        return thief.get(path).status_code


@pytest.fixture
def lan(app):
    return services.create_user("lan@example.com", "shopper", PASSWORD, name="Lan")


def test_a_cookie_saved_before_signing_out_opens_nothing_afterwards(app, client, lan):
    saved = _sign_in(client, remember=True)
    assert _replay(app, saved) == 200 and _replay(app, saved, "/don-hang") == 200
    client.post("/tai-khoan/dang-xuat")
    assert _replay(app, saved) == 302 and _replay(app, saved, "/don-hang") == 302
    assert client.get("/tai-khoan").status_code == 302


def test_signing_out_on_one_device_leaves_the_others_signed_in(app, client, lan):
    laptop = _sign_in(client)
    phone = app.test_client()
    with app.app_context():
        phone_cookie = _sign_in(phone)
    client.post("/tai-khoan/dang-xuat")
    assert _replay(app, laptop) == 302 and _replay(app, phone_cookie) == 200


def test_signing_out_everywhere_ends_every_session_this_one_included(app, client, lan):
    here = _sign_in(client)
    phone = app.test_client()
    with app.app_context():
        elsewhere = _sign_in(phone)
    response = client.post("/tai-khoan/dang-xuat-moi-noi")
    assert response.status_code == 302 and response.headers["Location"] == "/tai-khoan/dang-nhap"
    assert _replay(app, here) == 302 and _replay(app, elsewhere) == 302
    assert "Đã đăng xuất khỏi mọi thiết bị" in client.get("/tai-khoan/dang-nhap").get_data(as_text=True)
    assert _sign_in(client) and client.get("/tai-khoan").status_code == 200  # signing in again works


def test_the_account_page_offers_to_sign_out_everywhere(client, lan):
    _sign_in(client)
    page = client.get("/tai-khoan").get_data(as_text=True)
    assert 'action="/tai-khoan/dang-xuat-moi-noi"' in page and "Đăng xuất khỏi mọi thiết bị" in page


def test_a_password_reset_ends_every_session(app, client, lan):
    from shop.accounts.tokens import RESET_PASSWORD, make_token, password_fingerprint

    saved = _sign_in(client)
    token = make_token(
        app.config["SECRET_KEY"], RESET_PASSWORD, {"uid": lan.id, "fp": password_fingerprint(lan.password_hash)}
    )
    stranger = app.test_client()
    with app.app_context():
        reset = stranger.post(f"/tai-khoan/dat-lai-mat-khau/{token}", data={"password": "mat-khau-moi-2026"})
    assert reset.status_code == 302
    assert _replay(app, saved) == 302
    with app.app_context():
        assert stranger.get("/tai-khoan").status_code == 200  # the one who reset it is signed in


def test_a_flask_login_remember_cookie_opens_nothing(app, lan):
    from flask_login.utils import encode_cookie

    visitor = app.test_client()
    with app.test_request_context():
        visitor.set_cookie("remember_token", encode_cookie(str(lan.id)))
    with app.app_context():
        assert visitor.get("/tai-khoan").status_code == 302


def test_a_signed_in_visitor_still_gets_the_shared_cached_page(app, redis_server, client, lan, jar):
    from shop.cache import make_shared_cache
    from tests.support.cache import warm

    app.config.update(PAGE_CACHE_SECONDS=300, REDIS_URL=redis_server.url)
    app.extensions["shared_cache"] = make_shared_cache(app.config)
    app.extensions["shared_cache"].store.clear()
    warm(app.test_client(), f"/san-pham/{jar.slug}")
    _sign_in(client)
    client.get("/gio-hang")  # shows the welcome message (pages wait for it to be read)
    hit = client.get(f"/san-pham/{jar.slug}")
    assert hit.headers.get("X-Cache") == "HIT" and "Set-Cookie" not in hit.headers


# --- checkout with a password (item 13) -------------------------------------------------------


def _delivery(client, jar, email: str, password: str):
    from sqlalchemy import select

    from shop.extensions import db
    from shop.places.models import Province, Ward

    client.post("/gio-hang/them", data={"variant_id": jar.variants[0].id, "quantity": 1})
    hanoi = db.session.scalars(select(Province).where(Province.name == "Hà Nội")).one()
    ward = db.session.scalars(select(Ward).where(Ward.province_id == hanoi.id).limit(1)).one()
    data = {
        "email": email,
        "recipient": "Nguyễn Thị Lan",
        "phone": "0912345678",
        "province_id": hanoi.id,
        "ward_id": ward.id,
        "street": "12 Hàng Bạc",
        "password": password,
    }
    return client.post("/thanh-toan", data=data)


def _place_cod(client) -> str:
    import re

    review = client.get("/thanh-toan/xac-nhan").get_data(as_text=True)
    fields = dict(re.findall(r'name="(checkout_key|expected_total|csrf_token)"[^>]*value="([^"]*)"', review))
    placed = client.post("/thanh-toan/dat-hang", data={**fields, "payment_method": "cod"})
    assert placed.status_code in (302, 303), placed.get_data(as_text=True)[:500]
    return placed.headers["Location"]


def test_checkout_with_a_password_does_not_say_whether_the_address_has_an_account(app, jar, lan, smtp_server):  # noqa: F811
    new, taken = app.test_client(), app.test_client()
    with app.app_context():
        created = _delivery(new, jar, "minh@example.com", "mat-khau-moi-2026")
    with app.app_context():
        guessed = _delivery(taken, jar, "lan@example.com", "doan-bua-1234")
    assert created.status_code == guessed.status_code == 303
    assert created.headers["Location"] == guessed.headers["Location"] == "/thanh-toan/xac-nhan"
    with app.app_context():  # the next page says the same to both, and nothing of an account
        pages = [c.get("/thanh-toan/xac-nhan").get_data(as_text=True) for c in (new, taken)]
    said = [page.split('class="flash', 1)[1].split("</div>", 1)[0] for page in pages]
    assert said[0].replace("minh@example.com", "X") == said[1].replace("lan@example.com", "X")
    assert "đã gửi thư tới" in said[0] and "Email này đã có tài khoản" not in pages[1]
    with app.app_context():  # neither was let in: a new account waits for its address to be verified
        assert new.get("/tai-khoan").status_code == taken.get("/tai-khoan").status_code == 302
    # Each address got one e-mail: the new one its verification link, the owner a notice.
    mails = {m["To"]: m for m in smtp_server.wait_for(2)}
    assert "/tai-khoan/xac-minh/" in mails["minh@example.com"].get_body(preferencelist=("plain",)).get_content()
    assert "mật khẩu không khớp" in mails["lan@example.com"].get_body(preferencelist=("plain",)).get_content()


def test_a_guest_order_joins_the_new_account_once_its_address_is_verified(app, client, jar, smtp_server):  # noqa: F811
    import re

    from shop.extensions import db
    from shop.orders.models import Order

    with app.app_context():
        _delivery(client, jar, "minh@example.com", "mat-khau-moi-2026")
        order_page = _place_cod(client)
    number = order_page.rsplit("/", 1)[1].split("?")[0]
    [message] = smtp_server.wait_for(1)
    link = re.search(r"https?://\S+", message.get_body(preferencelist=("plain",)).get_content()).group(0)
    path = "/" + link.split("/", 3)[3]
    with app.app_context():
        client.post("/tai-khoan/dang-nhap", data={"email": "minh@example.com", "password": "mat-khau-moi-2026"})
        assert number not in client.get("/don-hang").get_data(as_text=True)  # not verified: not yet its order
        client.post("/tai-khoan/dang-xuat")
        assert client.post(path).status_code == 302
        client.post("/tai-khoan/dang-nhap", data={"email": "minh@example.com", "password": "mat-khau-moi-2026"})
        assert number in client.get("/don-hang").get_data(as_text=True)
        order = db.session.scalars(db.select(Order).where(Order.number == number)).one()
        assert order.user_id is not None


def test_a_weak_checkout_password_is_refused_alike_for_every_address(app, jar, lan):
    for email in ("minh@example.com", "lan@example.com"):  # no account yet, and an account
        with app.app_context():
            answer = _delivery(app.test_client(), jar, email, "12345678901")
        assert answer.status_code == 200 and "Mật khẩu không được chỉ gồm chữ số." in answer.get_data(as_text=True)


def test_checkout_with_the_accounts_own_password_signs_its_owner_in(app, client, jar, lan):
    assert _delivery(client, jar, "lan@example.com", PASSWORD).status_code == 303
    assert client.get("/tai-khoan").status_code == 200


def test_checkout_passwords_are_limited_like_sign_ins(app, backend, jar, lan):
    from shop import create_app

    if backend == "postgresql":
        pytest.skip("the counting is the database's no business; one database is enough")

    limited = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        MEDIA_DIR=app.config["MEDIA_DIR"],
        RATELIMIT_ENABLED=True,
    )
    guesser = limited.test_client()
    answers = []
    for n in range(6):
        with limited.app_context():
            answers.append(_delivery(guesser, jar, "lan@example.com", f"doan-bua-{n}-xyz").status_code)
    assert answers[:5] == [303] * 5 and answers[5] == 429  # five free guesses, then a wait
    owner = limited.test_client()
    owner.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    with limited.app_context():
        assert _delivery(owner, jar, "lan@example.com", PASSWORD).status_code == 303
        assert owner.get("/tai-khoan").status_code == 200
    with limited.app_context():
        from shop.extensions import db

        db.session.remove()
        db.engine.dispose()

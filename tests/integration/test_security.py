"""Security review findings (issue 10), kept as tests: redirects, headers,
sessions, odd values, production settings."""

import pytest

from shop.accounts import services
from tests.support.factories import make_producer, make_product

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

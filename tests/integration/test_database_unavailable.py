"""While the database cannot be reached the app answers 503 with a clear page
(or JSON for the API) and a Retry-After, never a 500."""

import pytest

from shop import create_app
from tests.support.servers import free_port


@pytest.fixture
def unreachable():
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/shop"  # nothing listens there
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True})
    return app.test_client()


@pytest.mark.parametrize("path", ["/", "/san-pham", "/san-pham?q=mat+ong"])
def test_pages_answer_503_with_a_page_that_says_to_try_again(unreachable, path):
    response = unreachable.get(path)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    page = response.get_data(as_text=True)
    assert "Chợ OCOP đang tạm gián đoạn" in page and "Thử lại" in page


def test_a_form_post_answers_503_too(unreachable):
    assert unreachable.post("/gio-hang/them", data={"variant_id": "1"}).status_code == 503


def test_the_api_answers_503_in_json(unreachable):
    response = unreachable.get("/api/v1/products")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable"


def test_the_page_is_in_english_for_english_readers(unreachable):
    unreachable.set_cookie("lang", "en")
    response = unreachable.get("/")
    assert response.status_code == 503 and 'lang="en"' in response.get_data(as_text=True)

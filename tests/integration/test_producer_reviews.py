"""Producers read their own products' reviews in the portal; a buyer whose review an
operator hides is told why by e-mail (through the outbox, in their language)."""

import pytest
from sqlalchemy import select

from shop.accounts.models import User
from shop.accounts.services import create_user
from shop.extensions import db
from shop.notifications.models import OutboxEmail
from shop.reviews import services
from shop.reviews.services import ReviewError
from tests.integration.test_reviews import PASSWORD, buy, sign_in
from tests.support.factories import make_producer, make_product


@pytest.fixture
def shops(app):
    mine = make_producer("HTX ong Phong Thổ")
    other = make_producer("HTX chè Tân Cương")
    honey = make_product("Mật ong hoa rừng", producer=mine, stock=50)
    tea = make_product("Trà Tân Cương", producer=other, stock=50)
    create_user("ong@example.vn", "producer", PASSWORD, producer_slug=mine.slug, name="Chị Hoa")
    lan = create_user("lan@example.vn", "shopper", PASSWORD, name="Nguyễn Thị Lan").id
    operator = create_user("vanhanh@example.vn", "operator", PASSWORD, name="Vận Hành").id
    return {"honey": honey.variants[0].id, "tea": tea.variants[0].id, "lan": lan, "operator": operator}


def mails(kind: str) -> list[OutboxEmail]:
    db.session.rollback()
    return list(db.session.scalars(select(OutboxEmail).where(OutboxEmail.kind == kind).order_by(OutboxEmail.id)))


def test_a_producer_sees_its_own_products_reviews_hidden_ones_with_the_reason(app, shops):
    lan = shops["lan"]
    services.write_review(lan, buy(lan, "lan@example.vn", shops["honey"]).line_id, 5, "Mật thơm, đặc")
    rude = services.write_review(lan, buy(lan, "lan@example.vn", shops["honey"]).line_id, 1, "Lời lẽ xúc phạm")
    services.write_review(lan, buy(lan, "lan@example.vn", shops["tea"]).line_id, 4, "Trà của nhà khác")
    services.hide_review(shops["operator"], rude, "Ngôn từ không phù hợp")

    client = sign_in(app.test_client(), "ong@example.vn")
    page = client.get("/producer/danh-gia")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    assert "Mật thơm, đặc" in body and "Lời lẽ xúc phạm" in body and "Ngôn từ không phù hợp" in body
    assert "Trà của nhà khác" not in body  # another producer's product
    assert "5,0" in body  # the average counts the visible review only
    assert 'href="/producer/danh-gia"' in body  # in the portal's menu
    only_fives = client.get("/producer/danh-gia?sao=5").get_data(as_text=True)
    assert "Mật thơm, đặc" in only_fives and "Lời lẽ xúc phạm" not in only_fives
    assert client.get("/producer/danh-gia?sao=9").status_code == 200  # an odd filter shows everything


def test_the_reviews_page_is_for_producer_members_only(app, shops):
    assert app.test_client().get("/producer/danh-gia").status_code == 302  # to sign in
    shopper = sign_in(app.test_client(), "lan@example.vn")
    assert shopper.get("/producer/danh-gia").status_code == 302  # to the application to sell


def test_hiding_a_review_emails_its_author_the_reason_in_their_language(app, shops):
    lan = shops["lan"]
    review = services.write_review(lan, buy(lan, "lan@example.vn", shops["honey"]).line_id, 2, "Không ngon")
    services.hide_review(shops["operator"], review, "Thông tin sai sự thật")
    (mail,) = mails("review_hidden")
    assert mail.to_email == "lan@example.vn"
    assert "Mật ong hoa rừng" in mail.subject and "đã bị ẩn" in mail.subject
    assert "Thông tin sai sự thật" in mail.text_body and "Thông tin sai sự thật" in mail.html_body
    assert "/don-hang/" in mail.text_body

    with pytest.raises(ReviewError):  # hiding it again is refused and writes nothing
        services.hide_review(shops["operator"], review, "Lần nữa")
    assert len(mails("review_hidden")) == 1

    db.session.get(User, lan).locale = "en"
    db.session.commit()
    other = services.write_review(lan, buy(lan, "lan@example.vn", shops["honey"]).line_id, 1, "Tệ")
    services.hide_review(shops["operator"], other, "Spam")
    english = mails("review_hidden")[-1]
    assert "was hidden" in english.subject and "Spam" in english.text_body

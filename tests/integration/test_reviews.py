"""Reviews: only the buyer of a delivered line, once per line, editable for 30 days;
operators hide them with a reason; the product's average follows in the same commit."""

import dataclasses
import io
import json
import re
import secrets
from datetime import timedelta

import pytest
from PIL import Image

from shop.accounts.services import create_user
from shop.audit.models import AuditEntry
from shop.catalog.models import Product, Variant
from shop.checkout.services import place_order
from shop.extensions import db
from shop.formatting import utcnow
from shop.orders import services as orders
from shop.orders.models import SubOrder
from shop.reviews import queries, services
from shop.reviews.models import Review
from shop.storage import MEDIA, storage
from tests.support.auth import PASSWORD, sign_in
from tests.support.factories import cart_with, delivery_to, make_producer, make_product


@dataclasses.dataclass
class Bought:
    user_id: int
    line_id: int
    product_id: int
    sub_order_id: int
    producer_id: int


def buy(user_id: int, email: str, variant_id: int, *, deliver: bool = True) -> Bought:
    cart_id = cart_with((db.session.get(Variant, variant_id), 1), user_id=user_id)
    order = place_order(
        cart_id=cart_id,
        user_id=user_id,
        delivery=dataclasses.replace(delivery_to(), email=email),
        payment_method="cod",
        checkout_key=secrets.token_urlsafe(16),
    )
    sub = order.sub_orders[0]
    if deliver:
        orders.confirm_sub_order(sub.id)
        orders.ship_sub_order(sub.id, "GHN", "GHN123")
        orders.deliver_sub_order(sub.id)
    variant = db.session.get(Variant, variant_id)
    return Bought(user_id, sub.lines[0].id, variant.product_id, sub.id, sub.producer_id)


@pytest.fixture
def honey(app) -> int:
    return make_product("Mật ong hoa rừng", producer=make_producer("HTX ong Phong Thổ"), stock=50).variants[0].id


@pytest.fixture
def lan(app) -> int:
    return create_user("lan@example.vn", "shopper", PASSWORD, name="Nguyễn Thị Lan").id


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


def product(product_id: int) -> Product:
    db.session.expire_all()
    return db.session.get(Product, product_id)


def test_a_buyer_reviews_a_delivered_line_once_and_the_average_follows(app, honey, lan):
    first = buy(lan, "lan@example.vn", honey)
    second = buy(lan, "lan@example.vn", honey)
    services.write_review(lan, first.line_id, 5, "Mật thơm, đặc.", [services.Photo("a.jpg", jpeg())])
    services.write_review(lan, second.line_id, 4, "")
    p = product(first.product_id)
    assert (p.rating_sum, p.rating_count, p.rating_average) == (9, 2, 4.5)
    with pytest.raises(services.ReviewError) as err:
        services.write_review(lan, first.line_id, 1, "lần nữa")
    assert err.value.code == "already_reviewed"
    [photo] = db.session.scalars(db.select(Review).where(Review.order_line_id == first.line_id)).one().photos
    stored = storage().get(MEDIA, photo.path)
    assert Image.open(io.BytesIO(stored)).format == "JPEG" and storage().exists(MEDIA, photo.path[:-4] + "-400.jpg")
    assert [r.author_name for r in queries.visible_for_product(first.product_id)] == ["Lan", "Lan"]


def test_only_the_buyer_of_a_delivered_line_may_review_it(app, honey, lan):
    other = create_user("minh@example.vn", "shopper", PASSWORD, name="Minh").id
    waiting = buy(lan, "lan@example.vn", honey, deliver=False)
    with pytest.raises(services.ReviewError) as err:
        services.write_review(lan, waiting.line_id, 5, "")
    assert err.value.code == "not_delivered"
    delivered = buy(lan, "lan@example.vn", honey)
    with pytest.raises(services.NotFound):
        services.write_review(other, delivered.line_id, 1, "không phải của tôi")
    for rating in (0, 6, None):
        with pytest.raises(services.ReviewError):
            services.write_review(lan, delivered.line_id, rating, "")
    with pytest.raises(services.ReviewError) as err:
        services.write_review(lan, delivered.line_id, 5, "", [services.Photo("x.jpg", b"<svg/>")])
    assert err.value.code == "invalid_image"
    assert product(delivered.product_id).rating_count == 0
    assert db.session.scalar(db.select(db.func.count(Review.id))) == 0


def test_a_review_is_editable_for_thirty_days_only(app, honey, lan):
    bought = buy(lan, "lan@example.vn", honey)
    review_id = services.write_review(lan, bought.line_id, 2, "Hơi loãng")
    services.edit_review(lan, review_id, 4, "Đổi ý: ngon", now=utcnow() + timedelta(days=29))
    assert (product(bought.product_id).rating_sum, product(bought.product_id).rating_count) == (4, 1)
    with pytest.raises(services.ReviewError) as err:
        services.edit_review(lan, review_id, 1, "muộn", now=utcnow() + timedelta(days=31))
    assert err.value.code == "too_late"
    other = create_user("minh@example.vn", "shopper", PASSWORD, name="Minh").id
    with pytest.raises(services.NotFound):
        services.edit_review(other, review_id, 1, "")


def test_an_operator_hides_a_review_with_a_reason_and_the_average_drops_it(app, honey, lan):
    operator = create_user("vanhanh@example.vn", "operator", PASSWORD, name="Vận Hành").id
    a = buy(lan, "lan@example.vn", honey)
    b = buy(lan, "lan@example.vn", honey)
    services.write_review(lan, a.line_id, 5, "Tuyệt")
    spam = services.write_review(lan, b.line_id, 1, "quảng cáo http://spam")
    with pytest.raises(services.ReviewError):
        services.hide_review(operator, spam, "  ")
    services.hide_review(operator, spam, "Quảng cáo")
    p = product(a.product_id)
    assert (p.rating_sum, p.rating_count) == (5, 1)
    assert [r.rating for r in queries.visible_for_product(a.product_id)] == [5]
    entry = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "review.hide")).one()
    assert (entry.actor_id, entry.target_id, entry.reason) == (operator, spam, "Quảng cáo")
    # Editing a hidden review does not bring its rating back into the average.
    services.edit_review(lan, spam, 3, "sửa")
    assert product(a.product_id).rating_sum == 5


def test_producers_see_reviews_of_their_own_products_only(app, honey, lan):
    tea = make_product("Trà Tân Cương", producer=make_producer("HTX chè Tân Cương"), stock=50).variants[0].id
    mine, theirs = buy(lan, "lan@example.vn", honey), buy(lan, "lan@example.vn", tea)
    services.write_review(lan, mine.line_id, 5, "")
    services.write_review(lan, theirs.line_id, 3, "")
    assert [r.rating for r in queries.for_producer(mine.producer_id)] == [5]
    assert [r.rating for r in queries.for_producer(theirs.producer_id)] == [3]


def test_the_shopper_writes_a_review_from_the_order_page_and_the_product_page_shows_it(app, client, honey, lan):
    bought = buy(lan, "lan@example.vn", honey)
    sign_in(client, "lan@example.vn")
    order_page = client.get(f"/don-hang/{bought_number(bought)}").get_data(as_text=True)
    assert f"/danh-gia/viet/{bought.line_id}" in order_page and "Viết đánh giá" in order_page
    for odd in ("99999999999999999999", "-1", "abc"):
        assert client.get(f"/danh-gia/viet/{odd}").status_code == 404
    assert client.post(f"/danh-gia/viet/{bought.line_id}", data={"rating": "9"}).status_code == 200
    response = client.post(
        f"/danh-gia/viet/{bought.line_id}",
        data={"rating": "4", "body": "Ngọt dịu, đóng gói kỹ", "photos": (io.BytesIO(jpeg()), "mat-ong.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    slug = product(bought.product_id).slug
    html = client.get(f"/san-pham/{slug}").get_data(as_text=True)
    assert "Ngọt dịu, đóng gói kỹ" in html and "4,0" in html
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))
    assert data["aggregateRating"]["ratingValue"] == 4.0 and data["aggregateRating"]["reviewCount"] == 1
    assert data["review"][0]["reviewBody"] == "Ngọt dịu, đóng gói kỹ"
    # The order page now links to the review to edit it.
    review_id = db.session.scalar(db.select(Review.id))
    assert f"/danh-gia/{review_id}/sua" in client.get(f"/don-hang/{bought_number(bought)}").get_data(as_text=True)


def test_the_console_lists_reviews_and_hides_one_with_a_reason(app, client, honey, lan):
    create_user("vanhanh@example.vn", "operator", PASSWORD, name="Vận Hành")
    bought = buy(lan, "lan@example.vn", honey)
    review_id = services.write_review(lan, bought.line_id, 1, "Nội dung xấu")
    ops = sign_in(client, "vanhanh@example.vn")
    assert "Nội dung xấu" in ops.get("/ops/danh-gia").get_data(as_text=True)
    assert ops.post(f"/ops/danh-gia/{review_id}/an", data={"reason": ""}).status_code == 303
    assert not db.session.get(Review, review_id).hidden
    assert ops.post(f"/ops/danh-gia/{review_id}/an", data={"reason": "Lời lẽ xúc phạm"}).status_code == 303
    assert ops.post("/ops/danh-gia/99999999999999999999/an", data={"reason": "x"}).status_code in (303, 404)
    db.session.expire_all()
    assert db.session.get(Review, review_id).hidden
    html = client.get(f"/san-pham/{product(bought.product_id).slug}").get_data(as_text=True)
    assert "Nội dung xấu" not in html and "aggregateRating" not in html


def bought_number(bought: Bought) -> str:
    return db.session.get(SubOrder, bought.sub_order_id).order.number


def test_a_new_or_hidden_review_purges_the_shared_product_page_and_its_card(cached, client, honey, lan):
    operator = create_user("vanhanh@example.vn", "operator", PASSWORD, name="Vận Hành").id
    a, b = buy(lan, "lan@example.vn", honey), buy(lan, "lan@example.vn", honey)
    slug = product(a.product_id).slug
    assert "Chưa có đánh giá" in client.get(f"/san-pham/{slug}").get_data(as_text=True)
    assert 'class="card-rating"' not in client.get("/san-pham").get_data(as_text=True)
    services.write_review(lan, a.line_id, 5, "Thơm")
    bad = services.write_review(lan, b.line_id, 2, "Tệ")
    page = client.get(f"/san-pham/{slug}").get_data(as_text=True)
    assert "Thơm" in page and "3,5" in page
    assert "3,5" in client.get("/san-pham").get_data(as_text=True)
    services.hide_review(operator, bad, "Sai sự thật")
    page = client.get(f"/san-pham/{slug}").get_data(as_text=True)
    assert "Tệ" not in page and "5,0" in page
    assert "5,0" in client.get("/san-pham").get_data(as_text=True)

"""The operators' console for the catalog, orders and settings: taking products
down and allowing them back, editing the category tree, finding any order and
cancelling or refunding it (card refunds through a real localstripe), and
changing the COD limit, reservation time, default commission and shipping rates.
Every action is audited; every refusal says why and changes nothing."""

import csv
import dataclasses
import html
import io
import re
import secrets
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from shop.accounts.services import create_user
from shop.audit.models import AuditEntry
from shop.catalog.models import Category, Product, Variant
from shop.checkout.services import place_order
from shop.extensions import db
from shop.ledger.models import CommissionOverride
from shop.notifications.models import OutboxEmail
from shop.operator import catalog_services, orders_services
from shop.orders import services as orders
from shop.orders.models import Order, SubOrder
from shop.payments import card_services
from shop.payments.models import Refund
from shop.settings.services import get_int
from shop.shipping.models import ShippingRate
from shop.shipping.services import rate_table
from tests.support.auth import PASSWORD, sign_in
from tests.support.cache import warm
from tests.support.factories import (
    BEES,
    TEAS,
    TwoProducerShop,
    cart_with,
    category,
    delivery_to,
    make_product,
    two_producer_shop,
)
from tests.support.stripe import refunded_at_stripe


@pytest.fixture
def shop(app) -> TwoProducerShop:
    """HTX ong Phong Thổ ("mine": honey, pollen) and HTX chè Tân Cương ("other": tea, in the
    tea category), no owners yet (see `add_people`), and an operator."""
    teas = dataclasses.replace(TEAS, goods=(dataclasses.replace(TEAS.goods[0], category_slug="che"),))
    return two_producer_shop(BEES, teas, owners=False, operator=True)


def add_people(shop: TwoProducerShop) -> None:
    """A shopper and an owner of the producer "bees", for the tests that sign them in."""
    create_user("ong@example.vn", "producer", PASSWORD, producer_slug=fresh(Product, shop.honey_product).producer.slug)
    create_user("khach@example.vn", "shopper", PASSWORD)


@pytest.fixture
def ops(app, shop):
    """A test client signed in as an operator (the `client` fixture stays a shopper's)."""
    return sign_in(app.test_client(), "vanhanh@example.vn")


def fresh(model, id_):
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(model, id_)


def audit(action: str) -> list[AuditEntry]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def text_of(response) -> str:
    return response.get_data(as_text=True)


def place(items: list[tuple[int, int]], method: str = "cod", **delivery) -> Order:
    cart_id = cart_with(*[(db.session.get(Variant, vid), qty) for vid, qty in items])
    return place_order(
        cart_id=cart_id,
        user_id=None,
        delivery=dataclasses.replace(delivery_to(), **delivery),
        payment_method=method,
        checkout_key=secrets.token_urlsafe(16),
    )


def part_of(order: Order, producer_id: int) -> SubOrder:
    return next(s for s in fresh(Order, order.id).sub_orders if s.producer_id == producer_id)


def stock(variant_id: int) -> int:
    return fresh(Variant, variant_id).stock


def flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _, message in session.get("_flashes", [])]


# --- who may see the console ----------------------------------------------------------------


def test_anyone_but_an_operator_gets_a_404_on_every_page_and_action(client, shop):
    add_people(shop)
    order = place([(shop.honey, 1)])
    sub = part_of(order, shop.mine)
    group = category("thuc-pham")
    gets = [
        "/ops/san-pham",
        "/ops/danh-muc",
        "/ops/don-hang",
        "/ops/don-hang.csv",
        f"/ops/don-hang/{order.id}",
        "/ops/cai-dat",
    ]
    posts = {
        f"/ops/san-pham/{shop.honey_product}/go": {"reason": "ảnh giả"},
        f"/ops/san-pham/{shop.honey_product}/cho-phep": {},
        "/ops/danh-muc/them": {"parent_id": str(group.id), "name_vi": "Mới", "name_en": "New"},
        f"/ops/danh-muc/{group.id}/xoa": {},
        f"/ops/don-hang/{order.id}/huy": {"reason": "thử"},
        f"/ops/don-hang/{order.id}/phan/{sub.id}/huy": {"reason": "thử"},
        "/ops/cai-dat": {"cod_max_amount": "1", "card_reservation_minutes": "5", "default_commission_bp": "1"},
    }
    for who in (None, "khach@example.vn", "ong@example.vn"):
        if who:
            sign_in(client, who)
        for url in gets:
            assert client.get(url).status_code == 404, (who, url)
        for url, data in posts.items():
            assert client.post(url, data=data).status_code == 404, (who, url)
        client.post("/tai-khoan/dang-xuat")
    assert fresh(Product, shop.honey_product).moderation_reason == ""
    assert fresh(Order, order.id).status == "placed"
    assert get_int("cod_max_amount") == 3_000_000
    assert count(AuditEntry) == 0


def test_console_pages_are_never_stored_by_a_cache(ops):
    for url in ("/ops/san-pham", "/ops/danh-muc", "/ops/don-hang", "/ops/cai-dat"):
        response = ops.get(url)
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"


# --- catalog moderation ---------------------------------------------------------------------------


def test_the_product_table_filters_by_name_sku_producer_status_listing_and_moderation(ops, shop):
    draft = make_product("Mật ong bạc hà nháp", producer=fresh(Product, shop.honey_product).producer, status="draft")
    catalog_services.unpublish_product(shop.operator, shop.tea_product, "nhãn sai")

    def names(query: str) -> set[str]:
        page = text_of(ops.get("/ops/san-pham" + query))
        return {n for n in ("Mật ong hoa rừng", "Phấn hoa", "Trà Tân Cương", "Mật ong bạc hà nháp") if n in page}

    assert names("?q=mat ong") == {"Mật ong hoa rừng", "Mật ong bạc hà nháp"}  # without tone marks
    assert names(f"?q={draft.variants[0].sku.lower()}") == {"Mật ong bạc hà nháp"}
    assert names(f"?producer={shop.other}") == {"Trà Tân Cương"}
    assert names("?status=draft") == {"Mật ong bạc hà nháp"}
    assert names("?listed=1") == {"Mật ong hoa rừng", "Phấn hoa"}
    assert names("?moderated=1") == {"Trà Tân Cương"}
    assert "nhãn sai" in text_of(ops.get("/ops/san-pham?moderated=1"))
    # Unknown filter values are ignored rather than failing.
    assert ops.get("/ops/san-pham?status=lost&listed=maybe&producer=abc&page=-3").status_code == 200


def test_the_product_table_is_paginated_newest_first(app, shop):
    for n in range(3):
        make_product(f"Bánh đa số {n}", created_days_ago=0)
    first = catalog_services.search_products(catalog_services.ProductQuery(q="banh da"), per_page=2)
    second = catalog_services.search_products(catalog_services.ProductQuery(q="banh da", page=2), per_page=2)
    assert (first.total, first.pages) == (3, 2)
    assert [p.name for p in first.items] == ["Bánh đa số 2", "Bánh đa số 1"]
    assert [p.name for p in second.items] == ["Bánh đa số 0"]


def test_taking_a_product_down_hides_it_at_once_and_tells_the_producer_why(ops, shop, client, app):
    app.config.update(PAGE_CACHE_SECONDS=300)
    add_people(shop)
    product = fresh(Product, shop.honey_product)
    warm(client, f"/san-pham/{product.slug}")
    warm(client, "/san-pham")

    response = ops.post(f"/ops/san-pham/{shop.honey_product}/go", data={"reason": "Ảnh không đúng sản phẩm"})

    assert response.status_code == 303
    product = fresh(Product, shop.honey_product)
    assert (product.moderation_reason, product.listed, product.status) == (
        "Ảnh không đúng sản phẩm",
        False,
        "published",
    )
    assert client.get(f"/san-pham/{product.slug}").status_code == 404
    assert "Mật ong hoa rừng" not in text_of(client.get("/san-pham"))
    (entry,) = audit("product.unpublish")
    assert (entry.actor_id, entry.target_id, entry.reason) == (shop.operator, product.id, "Ảnh không đúng sản phẩm")
    assert entry.before == {"status": "published", "listed": True, "moderation_reason": ""}
    assert entry.after == {"status": "published", "listed": False, "moderation_reason": "Ảnh không đúng sản phẩm"}
    mail = db.session.scalars(select(OutboxEmail).where(OutboxEmail.kind == "product_moderated")).one()
    assert mail.to_email == "ong@example.vn" and "Ảnh không đúng sản phẩm" in mail.text_body

    ops.post("/tai-khoan/dang-xuat")
    sign_in(ops, "ong@example.vn")
    page = text_of(ops.get(f"/producer/san-pham/{product.id}"))
    assert "Sàn đã gỡ sản phẩm này khỏi chợ" in page and "Ảnh không đúng sản phẩm" in page
    assert "Sàn đã gỡ" in text_of(ops.get("/producer/san-pham"))


def test_a_take_down_needs_a_reason_and_a_product_that_exists(ops, shop):
    for reason in ("", "   "):
        response = ops.post(f"/ops/san-pham/{shop.honey_product}/go", data={"reason": reason})
        assert response.status_code == 400
        assert "Nhập lý do: nhà sản xuất sẽ đọc lý do này." in text_of(response)
    assert ops.post("/ops/san-pham/999999/go", data={"reason": "giả"}).status_code == 404
    assert fresh(Product, shop.honey_product).listed is True
    assert audit("product.unpublish") == []


def test_a_refused_take_down_comes_back_as_typed_beside_its_message(ops, shop):
    url = f"/ops/san-pham/{shop.honey_product}/go"
    missing = ops.post(url, data={})
    assert missing.status_code == 400 and "Nhập lý do: nhà sản xuất sẽ đọc lý do này." in text_of(missing)
    assert ops.post(url, data={"reason": "lỗi\x00"}).status_code == 400  # a NUL byte: refused, no 500
    page = text_of(ops.post(url, data={"reason": " \t "}))
    reason = re.search(rf'<textarea ([^>]*id="reason-{shop.honey_product}"[^>]*)>\r?\n?([^<]*)</textarea>', page)
    assert reason and reason[2] == " \t "  # as typed, its message tied to it
    assert f'aria-describedby="reason-{shop.honey_product}-error"' in reason[1] and 'aria-invalid="true"' in reason[1]
    assert f'<p class="field-error" id="reason-{shop.honey_product}-error">Nhập lý do' in page
    assert '<details class="oc-confirm" open>' in page
    assert (fresh(Product, shop.honey_product).listed, audit("product.unpublish")) == (True, [])
    # Odd but real text is a reason like any other, kept whole (up to the service's 2000 characters).
    assert ops.post(url, data={"reason": " ² " + "9" * 40}).status_code == 303
    assert fresh(Product, shop.honey_product).moderation_reason == "² " + "9" * 40


def test_a_product_taken_down_twice_or_allowed_when_not_down_is_refused(ops, shop):
    response = ops.post(f"/ops/san-pham/{shop.honey_product}/cho-phep")
    assert response.status_code == 400 and "Sản phẩm này không bị gỡ." in text_of(response)
    ops.post(f"/ops/san-pham/{shop.honey_product}/go", data={"reason": "lý do một"})
    response = ops.post(f"/ops/san-pham/{shop.honey_product}/go", data={"reason": "lý do hai"})
    assert response.status_code == 400 and "Sản phẩm này đã bị gỡ." in text_of(response)
    assert fresh(Product, shop.honey_product).moderation_reason == "lý do một"
    assert ops.post("/ops/san-pham/999999/cho-phep").status_code == 404


def test_the_producer_cannot_publish_a_taken_down_product_until_an_operator_allows_it(app, client, shop):
    add_people(shop)
    catalog_services.unpublish_product(shop.operator, shop.honey_product, "Thiếu giấy kiểm nghiệm")
    producer = sign_in(client, "ong@example.vn")
    url = f"/producer/san-pham/{shop.honey_product}/trang-thai"

    producer.post(url, data={"status": "draft"})  # hiding it is always allowed
    assert fresh(Product, shop.honey_product).status == "draft"
    producer.post(url, data={"status": "published"})
    assert fresh(Product, shop.honey_product).status == "draft"
    assert any("Sàn đã gỡ sản phẩm này nên chưa thể đăng bán lại" in m for m in flashes(producer))

    catalog_services.allow_product(shop.operator, shop.honey_product)
    assert fresh(Product, shop.honey_product).listed is False  # still the producer's draft
    producer.post(url, data={"status": "published"})
    product = fresh(Product, shop.honey_product)
    assert (product.status, product.listed, product.moderation_reason) == ("published", True, "")
    (entry,) = audit("product.allow")
    assert entry.before["moderation_reason"] == "Thiếu giấy kiểm nghiệm" and entry.after["moderation_reason"] == ""


def test_allowing_a_product_that_stayed_published_lists_it_again(ops, shop):
    catalog_services.unpublish_product(shop.operator, shop.tea_product, "sai nhãn")
    assert ops.post(f"/ops/san-pham/{shop.tea_product}/cho-phep").status_code == 303
    assert fresh(Product, shop.tea_product).listed is True
    assert audit("product.allow")[0].after == {"status": "published", "listed": True, "moderation_reason": ""}


def test_a_suspended_producers_product_stays_hidden_when_allowed(app, shop):
    catalog_services.unpublish_product(shop.operator, shop.tea_product, "sai nhãn")
    producer = fresh(Product, shop.tea_product).producer
    producer.status = "suspended"
    db.session.commit()
    catalog_services.allow_product(shop.operator, shop.tea_product)
    assert fresh(Product, shop.tea_product).listed is False


# --- the category tree ----------------------------------------------------------------------------------


def subgroup() -> Category:
    return category("thuc-pham-che-bien")


def test_the_tree_shows_the_three_levels_with_their_product_counts(ops, shop):
    page = text_of(ops.get("/ops/danh-muc"))
    assert "Thực phẩm" in page and "Thực phẩm chế biến" in page and "Chế biến từ gạo, ngũ cốc" in page
    assert "2 sản phẩm" in page  # honey and pollen


def test_an_operator_adds_a_category_under_a_parent_with_a_unique_address(ops, shop, client, app):
    app.config.update(PAGE_CACHE_SECONDS=300, VALUE_CACHE_SECONDS=300)
    warm(client, "/api/v1/categories")
    parent = subgroup()
    other = db.session.scalars(
        select(Category).where(Category.level == 2, Category.id != parent.id).order_by(Category.id)
    ).first()
    data = {"parent_id": str(parent.id), "name_vi": "Bánh tráng", "name_en": "Rice paper"}
    assert ops.post("/ops/danh-muc/them", data=data).status_code == 303
    twice = ops.post("/ops/danh-muc/them", data=data)  # the same name side by side would read as one
    assert twice.status_code == 400 and "Cùng cấp đã có danh mục tên “Bánh tráng”" in text_of(twice)
    assert ops.post("/ops/danh-muc/them", data={**data, "parent_id": str(other.id)}).status_code == 303
    added = list(db.session.scalars(select(Category).where(Category.name_vi == "Bánh tráng").order_by(Category.id)))
    assert [c.slug for c in added] == ["banh-trang", "banh-trang-2"]
    assert [c.parent_id for c in added] == [parent.id, other.id] and all(c.level == 3 for c in added)
    added = added[:1]
    siblings = db.session.scalars(select(Category.position).where(Category.parent_id == parent.id)).all()
    assert added[-1].position == max(siblings) and len(set(siblings)) == len(siblings)
    assert added[0].code.startswith(parent.code + ".")
    entry = audit("category.add")[0]
    assert entry.after["name_vi"] == "Bánh tráng" and entry.after["level"] == 3 and entry.actor_id == shop.operator
    assert '"slug":"banh-trang"' in text_of(client.get("/api/v1/categories"))  # the public tree shows it at once

    response = ops.post("/ops/danh-muc/them", data={"parent_id": "", "name_vi": "Quà tặng", "name_en": "Gifts"})
    assert response.status_code == 303
    group = db.session.scalars(select(Category).where(Category.name_vi == "Quà tặng")).one()
    assert (group.level, group.parent_id) == (1, None)


def test_adding_a_category_refuses_missing_names_a_fourth_level_and_an_unknown_parent(ops, shop):
    before = count(Category)
    leaf = category()  # a set, level 3
    cases = [
        ({"parent_id": str(subgroup().id), "name_vi": " ", "name_en": "x"}, "Nhập tên tiếng Việt."),
        ({"parent_id": str(subgroup().id), "name_vi": "Bánh", "name_en": ""}, "Nhập tên tiếng Anh."),
        ({"parent_id": str(leaf.id), "name_vi": "Bánh", "name_en": "Cake"}, "Danh mục chỉ có ba cấp"),
    ]
    for data, message in cases:
        response = ops.post("/ops/danh-muc/them", data=data)
        assert response.status_code == 400 and message in text_of(response)
    response = ops.post("/ops/danh-muc/them", data={"parent_id": "999999", "name_vi": "Bánh", "name_en": "Cake"})
    assert response.status_code == 404
    assert count(Category) == before and audit("category.add") == []


def test_a_parent_that_does_not_parse_is_no_category_not_the_top_level(ops, shop):
    before = count(Category)
    for parent in ("²", "9" * 40, "abc", "-1"):  # these once added a top-level group
        response = ops.post("/ops/danh-muc/them", data={"parent_id": parent, "name_vi": "Bánh", "name_en": "Cake"})
        assert response.status_code == 404 and "Không tìm thấy danh mục." in text_of(response), parent
    assert ops.post("/ops/danh-muc/them", data={"parent_id": "1\x00", "name_vi": "Bánh"}).status_code == 400
    assert count(Category) == before and audit("category.add") == []
    # Blank or missing is the top level, as the "add a group" form sends it.
    assert (
        ops.post("/ops/danh-muc/them", data={"parent_id": " ", "name_vi": "Quà", "name_en": "Gifts"}).status_code == 303
    )
    assert ops.post("/ops/danh-muc/them", data={"name_vi": "Quà Tết", "name_en": "Tet gifts"}).status_code == 303
    added = db.session.scalars(select(Category).where(Category.name_vi.in_(["Quà", "Quà Tết"]))).all()
    assert sorted((c.level, c.parent_id) for c in added) == [(1, None), (1, None)]


def test_renaming_keeps_the_address_and_search_finds_the_products_by_the_new_name(ops, client, shop):
    leaf = category()
    assert "Mật ong hoa rừng" not in text_of(client.get("/san-pham?q=com+lang+vong"))
    response = ops.post(f"/ops/danh-muc/{leaf.id}/doi-ten", data={"name_vi": "Cốm làng Vòng", "name_en": "Green rice"})
    assert response.status_code == 303
    leaf = fresh(Category, leaf.id)
    assert (leaf.name_vi, leaf.name_en, leaf.slug) == ("Cốm làng Vòng", "Green rice", "che-bien-tu-gao-ngu-coc")
    found = text_of(client.get("/san-pham?q=com+lang+vong"))
    assert "Mật ong hoa rừng" in found and "Trà Tân Cương" not in found
    (entry,) = audit("category.rename")
    assert entry.before["name_vi"] == "Chế biến từ gạo, ngũ cốc" and entry.after["name_vi"] == "Cốm làng Vòng"
    response = ops.post(f"/ops/danh-muc/{leaf.id}/doi-ten", data={"name_vi": "", "name_en": "x"})
    assert response.status_code == 400 and fresh(Category, leaf.id).name_vi == "Cốm làng Vòng"


def test_a_refused_name_is_shown_beside_its_input_in_the_form_it_was_typed_in(ops, shop):
    leaf = category()
    response = ops.post(f"/ops/danh-muc/{leaf.id}/doi-ten", data={"name_vi": "Cốm", "name_en": "x" * 201})
    page = text_of(response)
    assert response.status_code == 400
    field = re.search(rf'<div class="field has-error">\s*<label for="rn-{leaf.id}-en">.*?</div>', page, re.S)
    assert field and 'aria-invalid="true"' in field[0] and "Tên dài tối đa 200 ký tự." in field[0]
    assert f'id="rn-{leaf.id}-vi"' in page and 'value="Cốm"' in page  # what was typed, in its own form
    assert page.count('aria-invalid="true"') == 1  # only the form that was sent
    assert re.search(r'<details class="oc-edit" open>', page)

    response = ops.post("/ops/danh-muc/them", data={"parent_id": "", "name_vi": "", "name_en": "Gifts"})
    page = text_of(response)
    assert response.status_code == 400
    assert re.search(r'<details class="oc-add" open>', page)
    assert 'aria-describedby="add-0-vi-error"' in page and "Nhập tên tiếng Việt." in page
    assert 'value="Gifts"' in page


def test_reordering_moves_a_category_one_place_among_its_siblings(ops, shop):
    parent = subgroup()
    first, second = list(
        db.session.scalars(select(Category).where(Category.parent_id == parent.id).order_by(Category.position))
    )[:2]
    assert ops.post(f"/ops/danh-muc/{second.id}/thu-tu", data={"direction": "up"}).status_code == 303
    assert fresh(Category, second.id).position < fresh(Category, first.id).position
    response = ops.post(f"/ops/danh-muc/{second.id}/thu-tu", data={"direction": "up"})
    assert response.status_code == 400 and "Danh mục đã ở đầu danh sách." in text_of(response)
    response = ops.post(f"/ops/danh-muc/{second.id}/thu-tu", data={"direction": "sideways"})
    assert response.status_code == 400
    assert len(audit("category.reorder")) == 1


def test_moving_a_category_carries_its_children_and_refuses_cycles_and_a_fourth_level(ops, shop):
    food, drinks = category("thuc-pham"), category("do-uong")
    sub = subgroup()  # level 2 under food, with sets under it
    url = f"/ops/danh-muc/{sub.id}/chuyen"

    assert ops.post(url, data={"parent_id": str(drinks.id)}).status_code == 303
    assert (fresh(Category, sub.id).parent_id, fresh(Category, sub.id).level) == (drinks.id, 2)
    assert fresh(Category, category().id).level == 3
    (entry,) = audit("category.move")
    assert entry.before["parent_id"] == food.id and entry.after["parent_id"] == drinks.id

    child = category()
    for parent_id, message in (
        (str(child.id), "Không thể chuyển danh mục vào chính nó hoặc vào một danh mục con của nó."),
        (str(sub.id), "Không thể chuyển danh mục vào chính nó"),
        (str(category("thuc-pham-tuoi-song").id), "danh mục chỉ có ba cấp"),
    ):
        response = ops.post(url, data={"parent_id": parent_id})
        assert response.status_code == 400 and message in text_of(response), parent_id
    assert fresh(Category, sub.id).parent_id == drinks.id
    # The last refusal comes back in the category's own move form, the chosen parent kept.
    select_ = re.search(rf'<select [^>]*id="mv-{sub.id}-to"[^>]*>(.*?)</select>', text_of(response), re.S)
    assert select_ and f'<option selected value="{parent_id}">' in select_[1]
    box = text_of(response).split(f'id="dm-{sub.id}"', 1)[1].split('class="oc-node-add"', 1)[0]
    assert '<details class="oc-edit" open>' in box and "danh mục chỉ có ba cấp" in box
    # A parent the list does not offer (a set) leaves the current parent chosen, not "top level".
    response = ops.post(url, data={"parent_id": str(child.id)})
    select_ = re.search(rf'<select [^>]*id="mv-{sub.id}-to"[^>]*>(.*?)</select>', text_of(response), re.S)
    assert select_ and f'<option selected value="{drinks.id}">' in select_[1]

    # A set on its own may become a group; the tree is then one level shallower there.
    assert ops.post(f"/ops/danh-muc/{child.id}/chuyen", data={"parent_id": ""}).status_code == 303
    assert (fresh(Category, child.id).parent_id, fresh(Category, child.id).level) == (None, 1)
    assert ops.post(url, data={"parent_id": "999999"}).status_code == 404


def test_a_category_is_deleted_only_when_nothing_uses_it(ops, shop):
    used_by_products = category()
    response = ops.post(f"/ops/danh-muc/{used_by_products.id}/xoa")
    assert response.status_code == 400 and "còn 2 sản phẩm thuộc danh mục này" in text_of(response)
    response = ops.post(f"/ops/danh-muc/{subgroup().id}/xoa")
    assert response.status_code == 400 and "danh mục con" in text_of(response)

    empty = category("do-an-nhanh")
    db.session.add(CommissionOverride(producer_id=shop.mine, category_id=empty.id, rate_bp=500))
    db.session.commit()
    response = ops.post(f"/ops/danh-muc/{empty.id}/xoa")
    assert response.status_code == 400 and "mức hoa hồng riêng" in text_of(response)
    assert fresh(Category, empty.id) is not None and audit("category.delete") == []

    db.session.execute(CommissionOverride.__table__.delete())
    db.session.commit()
    assert ops.post(f"/ops/danh-muc/{empty.id}/xoa").status_code == 303
    assert fresh(Category, empty.id) is None
    assert audit("category.delete")[0].before["slug"] == "do-an-nhanh"
    assert ops.post(f"/ops/danh-muc/{empty.id}/xoa").status_code == 404


# --- the orders console -----------------------------------------------------------------------------------


def test_orders_are_found_by_number_email_phone_or_recipient(ops, shop):
    lan = place([(shop.honey, 1)], email="lan@example.vn", recipient="Nguyễn Thị Lan", phone="0912345678")
    binh = place([(shop.tea, 1)], email="binh@example.vn", recipient="Trần Văn Bình", phone="0987654321")

    def numbers(query: str) -> set[str]:
        page = text_of(ops.get("/ops/don-hang" + query))
        return {o.number for o in (lan, binh) if o.number in page}

    assert numbers("") == {lan.number, binh.number}
    assert numbers(f"?q={binh.number.lower()}") == {binh.number}
    assert numbers("?q=LAN@example") == {lan.number}
    assert numbers("?q=098 765 4321") == {binh.number}
    assert numbers("?q=%2B84987654321") == {binh.number}
    assert numbers("?q=Trần Văn") == {binh.number}
    assert numbers("?q=không có ai") == set()


def test_orders_are_filtered_by_status_payment_producer_vietnam_dates_and_amount(ops, shop, card_payments):
    cheap = place([(shop.honey, 1)])
    dear = place([(shop.tea, 3)], method="card")
    both = place([(shop.honey, 1), (shop.tea, 1)])
    orders.confirm_sub_order(part_of(both, shop.other).id)
    # 00:30 on 1 March in Vietnam, still 28 February in UTC.
    fresh(Order, cheap.id).created_at = datetime(2026, 2, 28, 17, 30, tzinfo=UTC)
    db.session.commit()

    def numbers(query: str) -> set[str]:
        response = ops.get("/ops/don-hang" + query)
        assert response.status_code == 200, query
        return {o.number for o in (cheap, dear, both) if o.number in text_of(response)}

    assert numbers("?status=awaiting_payment") == {dear.number}
    assert numbers("?payment=cod") == {cheap.number, both.number}
    assert numbers(f"?producer={shop.other}") == {dear.number, both.number}
    assert numbers("?part=confirmed") == {both.number}
    assert numbers("?from=01/03/2026&to=01/03/2026") == {cheap.number}
    assert numbers("?to=2026-02-28") == set()
    total = fresh(Order, dear.id).total
    assert numbers(f"?min={total}") == {dear.number}
    assert numbers(f"?max={total - 1}") == {cheap.number, both.number}


def test_the_order_list_is_paginated_newest_first(app, shop):
    placed = [place([(shop.honey, 1)]) for _ in range(3)]
    first = orders_services.search_orders(orders_services.OrderQuery(), per_page=2)
    second = orders_services.search_orders(orders_services.OrderQuery(page=2), per_page=2)
    assert first.total == 3 and first.pages == 2
    assert [o.id for o in first.items + second.items] == [o.id for o in reversed(placed)]


BAD_FILTERS = [
    ("?from=31/02/2026", "Ngày “31/02/2026” không hợp lệ"),
    ("?to=hôm qua", "không hợp lệ: nhập theo dạng dd/mm/yyyy"),
    ("?from=02/03/2026&to=01/03/2026", "Ngày bắt đầu phải trước hoặc bằng ngày kết thúc."),
    ("?min=abc", "Nhập số tiền là số đồng nguyên"),
    ("?max=-5", "Nhập số tiền là số đồng nguyên"),
    ("?min=1.5", "Nhập số tiền là số đồng nguyên"),
    ("?min=200000&max=100000", "Số tiền tối thiểu phải nhỏ hơn hoặc bằng tối đa."),
]


def test_a_filter_that_does_not_parse_is_explained_not_failed(ops, shop):
    for query, message in BAD_FILTERS:
        response = ops.get("/ops/don-hang" + query)
        assert response.status_code == 400 and message in text_of(response), query
        assert ops.get("/ops/don-hang.csv" + query).status_code == 400, query


def read_csv(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_csv_has_a_bom_a_row_per_line_neutralised_formulas_and_the_filters(ops, shop):
    mixed = place(
        [(shop.honey, 2), (shop.tea, 1)],
        recipient='=HYPERLINK("http://x.example","bấm")',
        street="@SUM(1+1) thôn Nà Thôm",
    )
    other = place([(shop.pollen, 1)], email="-cmd@example.vn")

    response = ops.get("/ops/don-hang.csv")

    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    header, *rows = read_csv(response)
    assert header[0] == "Mã đơn" and header[-1] == "Tổng đơn" and len(header) == 23
    assert [row[0] for row in rows] == [other.number, mixed.number, mixed.number]
    assert rows[0][4] == "'-cmd@example.vn"
    first, second = rows[1], rows[2]
    assert first[5].startswith("'=HYPERLINK") and first[7].startswith("'@SUM")
    assert {first[8], second[8]} == {"HTX ong Phong Thổ", "HTX chè Tân Cương"}
    assert first[22] == str(fresh(Order, mixed.id).total) and second[22] == ""  # the order total once
    only = read_csv(ops.get(f"/ops/don-hang.csv?producer={shop.other}"))[1:]
    assert [row[0] for row in only] == [mixed.number] and only[0][11] == "Trà Tân Cương"


def test_an_order_page_shows_every_part_line_discount_and_its_history(ops, shop):
    order = place([(shop.honey, 2), (shop.tea, 1)])
    line = next(line for line in part_of(order, shop.mine).lines)
    line.discount_reason = "Tuần lễ OCOP Tuyên Quang (−10.000 ₫ × 2)"
    db.session.commit()

    page = text_of(ops.get(f"/ops/don-hang/{order.id}"))

    assert order.number in page and "Nguyễn Thị Lan" in page
    assert "HTX ong Phong Thổ" in page and "HTX chè Tân Cương" in page
    assert "Mật ong hoa rừng" in page and "Trà Tân Cương" in page
    assert "Tuần lễ OCOP Tuyên Quang" in page and "Khách đặt hàng" in page
    assert ops.get("/ops/don-hang/999999").status_code == 404


def test_cancelling_a_cod_part_returns_its_stock_tells_the_buyer_and_is_audited(ops, shop):
    order = place([(shop.honey, 2), (shop.tea, 1)])
    sub = part_of(order, shop.mine)
    assert stock(shop.honey) == 8

    response = ops.post(f"/ops/don-hang/{order.id}/phan/{sub.id}/huy", data={"reason": "Nhà sản xuất báo hết hàng"})

    assert response.status_code == 303
    sub = fresh(SubOrder, sub.id)
    assert (sub.status, sub.cancel_reason) == ("cancelled", "Nhà sản xuất báo hết hàng")
    assert stock(shop.honey) == 10 and part_of(order, shop.other).status == "pending"
    (entry,) = audit("sub_order.cancel")
    assert entry.reason == "Nhà sản xuất báo hết hàng" and entry.actor_id == shop.operator
    assert entry.before["status"] == "pending" and entry.after["status"] == "cancelled"
    assert db.session.scalar(select(func.count(OutboxEmail.id)).where(OutboxEmail.kind == "cancelled")) >= 1
    assert "Nhà sản xuất báo hết hàng" in text_of(ops.get(f"/ops/don-hang/{order.id}"))


def test_cancelling_a_part_needs_a_reason_and_a_part_not_yet_shipped(ops, shop):
    order = place([(shop.honey, 1), (shop.tea, 1)])
    honey, tea = part_of(order, shop.mine), part_of(order, shop.other)
    response = ops.post(f"/ops/don-hang/{order.id}/phan/{honey.id}/huy", data={"reason": "  "})
    assert response.status_code == 400 and "Nhập lý do" in text_of(response)
    orders.confirm_sub_order(tea.id)
    orders.ship_sub_order(tea.id, "GHN", "GHN1")
    response = ops.post(f"/ops/don-hang/{order.id}/phan/{tea.id}/huy", data={"reason": "khách đổi ý"})
    assert response.status_code == 409 and "Chỉ huỷ được phần đơn chưa giao cho vận chuyển." in text_of(response)
    # A part of another order is not this order's.
    other = place([(shop.pollen, 1)])
    url = f"/ops/don-hang/{order.id}/phan/{part_of(other, shop.mine).id}/huy"
    assert ops.post(url, data={"reason": "x"}).status_code == 404
    assert (fresh(SubOrder, honey.id).status, fresh(SubOrder, tea.id).status) == ("pending", "shipped")
    assert audit("sub_order.cancel") == []


def test_a_cod_order_cannot_be_refunded_by_card(ops, shop):
    order = place([(shop.honey, 1)])
    sub = part_of(order, shop.mine)
    response = ops.post(
        f"/ops/don-hang/{order.id}/phan/{sub.id}/hoan-tien", data={"mode": "all", "reason": "hàng hỏng"}
    )
    assert response.status_code == 400 and "thanh toán khi nhận hàng (COD)" in text_of(response)
    assert fresh(SubOrder, sub.id).refunded_amount == 0 and audit("sub_order.refund") == []


def test_a_whole_unpaid_cod_order_is_cancelled_with_its_stock_released(ops, shop):
    order = place([(shop.honey, 2), (shop.tea, 1)])
    orders.confirm_sub_order(part_of(order, shop.other).id)

    response = ops.post(f"/ops/don-hang/{order.id}/huy", data={"reason": "Khách gọi huỷ"})

    assert response.status_code == 303
    order = fresh(Order, order.id)
    assert (order.status, order.cancel_reason) == ("cancelled", "Khách gọi huỷ")
    assert {s.status for s in order.sub_orders} == {"cancelled"}
    assert (stock(shop.honey), stock(shop.tea)) == (10, 10)
    (entry,) = audit("order.cancel")
    assert entry.before["status"] == "placed" and entry.after["status"] == "cancelled"
    assert set(entry.before["sub_orders"].values()) == {"pending", "confirmed"}
    response = ops.post(f"/ops/don-hang/{order.id}/huy", data={"reason": "lần nữa"})
    assert response.status_code == 409 and "Đơn hàng đã bị huỷ." in text_of(response)


def test_an_order_awaiting_card_payment_is_cancelled_whole_not_part_by_part(ops, shop):
    order = place([(shop.honey, 1)], method="card")
    sub = part_of(order, shop.mine)
    response = ops.post(f"/ops/don-hang/{order.id}/phan/{sub.id}/huy", data={"reason": "nghi gian lận"})
    assert response.status_code == 409 and "hãy huỷ cả đơn" in text_of(response)
    assert fresh(SubOrder, sub.id).status == "pending"
    assert ops.post(f"/ops/don-hang/{order.id}/huy", data={"reason": "nghi gian lận"}).status_code == 303
    assert fresh(Order, order.id).status == "cancelled" and stock(shop.honey) == 10


def test_a_whole_order_is_not_cancelled_without_a_reason_or_once_a_part_shipped(ops, shop):
    order = place([(shop.honey, 1), (shop.tea, 1)])
    response = ops.post(f"/ops/don-hang/{order.id}/huy", data={"reason": ""})
    assert response.status_code == 400 and "Nhập lý do" in text_of(response)
    tea = part_of(order, shop.other)
    orders.confirm_sub_order(tea.id)
    orders.ship_sub_order(tea.id, "GHN", "GHN2")
    response = ops.post(f"/ops/don-hang/{order.id}/huy", data={"reason": "khách đổi ý"})
    assert response.status_code == 409 and "có phần đơn đã giao cho vận chuyển" in text_of(response)
    assert fresh(Order, order.id).status == "placed" and audit("order.cancel") == []
    assert ops.post("/ops/don-hang/999999/huy", data={"reason": "x"}).status_code == 404


# --- card orders: refunds through localstripe ---------------------------------------------------------------


@pytest.fixture
def paid_order(card_payments, shop) -> Order:
    order = place([(shop.honey, 2), (shop.tea, 1)], method="card")
    assert card_services.pay_with_payment_method(order.id, "pm_card_visa").status == "succeeded"
    return fresh(Order, order.id)


def test_an_operator_refunds_an_amount_then_the_rest_of_a_paid_part(ops, shop, paid_order, card_payments):
    sub = part_of(paid_order, shop.mine)
    url = f"/ops/don-hang/{paid_order.id}/phan/{sub.id}/hoan-tien"
    assert "Hoàn tiền" in text_of(ops.get(f"/ops/don-hang/{paid_order.id}"))

    response = ops.post(url, data={"mode": "amount", "amount": "50.000", "reason": "Một hũ bị nứt"})

    assert response.status_code == 303
    assert fresh(SubOrder, sub.id).refunded_amount == 50_000
    assert refunded_at_stripe(card_payments, paid_order.id) == 50_000
    (entry,) = audit("sub_order.refund")
    assert entry.reason == "Một hũ bị nứt" and entry.before["refunded_amount"] == 0
    assert entry.after["refunded_amount"] == 50_000 and entry.after["refund"] == 50_000

    ops.post(url, data={"mode": "all", "reason": "Khách trả hàng"})
    sub = fresh(SubOrder, sub.id)
    assert sub.refunded_amount == sub.total and sub.status == "pending"
    assert refunded_at_stripe(card_payments, paid_order.id) == sub.total
    assert db.session.scalar(select(func.count(Refund.id))) == 2
    response = ops.post(url, data={"mode": "all", "reason": "lần nữa"})
    assert response.status_code == 400 and "đã được hoàn tiền đủ" in text_of(response)


BAD_REFUNDS = [
    ("abc", "hỏng", "Nhập số tiền là số đồng nguyên"),
    ("-5", "hỏng", "Nhập số tiền là số đồng nguyên"),
    ("1.5", "hỏng", "Nhập số tiền là số đồng nguyên"),
    ("", "hỏng", "Nhập số tiền là số đồng nguyên"),
    ("0", "hỏng", "Số tiền phải lớn hơn 0."),
    ("50000", "", "Nhập lý do"),
    ("99000000", "hỏng", "Không thể hoàn"),
    ("9" * 40, "hỏng", "Số tiền tối đa là 2.000.000.000 đồng."),
]


def test_a_refund_with_a_bad_amount_or_no_reason_is_refused_and_nothing_moves(ops, shop, paid_order, card_payments):
    sub = part_of(paid_order, shop.mine)
    for amount, reason, message in BAD_REFUNDS:
        response = ops.post(
            f"/ops/don-hang/{paid_order.id}/phan/{sub.id}/hoan-tien",
            data={"mode": "amount", "amount": amount, "reason": reason},
        )
        assert response.status_code == 400 and message in text_of(response), amount
    assert fresh(SubOrder, sub.id).refunded_amount == 0
    assert refunded_at_stripe(card_payments, paid_order.id) == 0
    assert audit("sub_order.refund") == []


def test_a_refused_refund_comes_back_as_typed_with_the_message_under_its_field(ops, shop, paid_order, card_payments):
    sub = part_of(paid_order, shop.mine)
    url = f"/ops/don-hang/{paid_order.id}/phan/{sub.id}/hoan-tien"
    page = text_of(ops.post(url, data={"mode": "amount", "amount": "1.5", "reason": "hàng vỡ"}))
    key = f"hoan-{sub.id}"
    amount = re.search(rf'<div class="field has-error">\s*<label for="{key}-amount">.*?</div>', page, re.S)
    assert amount and 'value="1.5"' in amount[0] and "Nhập số tiền là số đồng nguyên" in amount[0]
    assert f'aria-describedby="{key}-amount-error"' in amount[0]
    assert re.search(rf'<textarea[^>]*id="{key}-reason"[^>]*>\s*hàng vỡ</textarea>', page)
    assert re.search(rf'<details class="oc-confirm" id="{key}" open>', page)
    assert page.count('aria-invalid="true"') == 1  # the other parts' forms are untouched

    page = text_of(ops.post(url, data={"mode": "all", "amount": "", "reason": " "}))
    reason = re.search(rf'<div class="field has-error">\s*<label for="{key}-reason">.*?</div>', page, re.S)
    assert reason and "Nhập lý do" in reason[0]


def test_cancelling_a_paid_part_refunds_it_first(ops, shop, paid_order, card_payments):
    sub = part_of(paid_order, shop.other)
    response = ops.post(f"/ops/don-hang/{paid_order.id}/phan/{sub.id}/huy", data={"reason": "Lũ, không giao được"})
    assert response.status_code == 303
    sub = fresh(SubOrder, sub.id)
    assert (sub.status, sub.refunded_amount) == ("cancelled", sub.total)
    assert refunded_at_stripe(card_payments, paid_order.id) == sub.total and stock(shop.tea) == 10
    (entry,) = audit("sub_order.cancel")
    assert entry.before == {"status": "pending", "refunded_amount": 0, "order_status": "paid"}
    assert entry.after["status"] == "cancelled" and entry.after["refunded_amount"] == sub.total
    response = ops.post(f"/ops/don-hang/{paid_order.id}/huy", data={"reason": "cả đơn"})
    assert response.status_code == 409 and "huỷ từng phần đơn" in text_of(response)


def test_when_stripe_refuses_nothing_is_cancelled_or_audited(app, ops, shop, paid_order):
    from tests.support.servers import free_port

    sub = part_of(paid_order, shop.mine)
    app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    response = ops.post(f"/ops/don-hang/{paid_order.id}/phan/{sub.id}/huy", data={"reason": "hết hàng"})
    assert response.status_code == 503
    sub = fresh(SubOrder, sub.id)
    assert (sub.status, sub.refunded_amount) == ("pending", 0) and stock(shop.honey) == 8
    assert audit("sub_order.cancel") == []


# --- settings -------------------------------------------------------------------------------------------------


def input_value(page: str, name: str) -> str | None:
    """The value of the input called `name` on the page (None when there is none)."""
    tag = re.search(rf'<input [^>]*name="{name}"[^>]*>', page)
    value = re.search(r'value="([^"]*)"', tag[0]) if tag else None
    return html.unescape(value[1]) if value else None


def test_the_settings_page_shows_the_values_with_the_commission_as_a_percent(ops, shop):
    page = text_of(ops.get("/ops/cai-dat"))
    assert input_value(page, "cod_max_amount") == "3000000" and input_value(page, "card_reservation_minutes") == "15"
    assert input_value(page, "default_commission_bp") == "8"


def test_an_operator_changes_the_cod_limit_reservation_and_commission(ops, shop):
    response = ops.post(
        "/ops/cai-dat",
        data={"cod_max_amount": "5.000.000", "card_reservation_minutes": "30", "default_commission_bp": "8,25"},
    )
    assert response.status_code == 303
    assert (get_int("cod_max_amount"), get_int("card_reservation_minutes"), get_int("default_commission_bp")) == (
        5_000_000,
        30,
        825,
    )
    (entry,) = audit("settings.update")
    assert entry.before == {"cod_max_amount": 3_000_000, "card_reservation_minutes": 15, "default_commission_bp": 800}
    assert entry.after == {"cod_max_amount": 5_000_000, "card_reservation_minutes": 30, "default_commission_bp": 825}
    assert input_value(text_of(ops.get("/ops/cai-dat")), "default_commission_bp") == "8,25"

    ops.post(
        "/ops/cai-dat",
        data={"cod_max_amount": "5000000", "card_reservation_minutes": "30", "default_commission_bp": "10.5"},
    )
    assert get_int("default_commission_bp") == 1050
    assert audit("settings.update")[-1].after == {"default_commission_bp": 1050}  # only what changed


BAD_SETTINGS = [
    ("cod_max_amount", "abc", "Nhập số tiền là số đồng nguyên"),
    ("cod_max_amount", "-5", "Nhập số tiền là số đồng nguyên"),
    ("cod_max_amount", "1.5", "Nhập số tiền là số đồng nguyên"),
    ("cod_max_amount", "", "Nhập số tiền là số đồng nguyên"),
    ("cod_max_amount", "2000000000", "Hạn mức COD phải từ 0 đến 1.000.000.000 đ."),
    ("card_reservation_minutes", "2", "Nhập một số từ 5 đến 1440."),
    ("card_reservation_minutes", "1.5", "Nhập một số nguyên không âm."),
    ("default_commission_bp", "120", "Nhập tỷ lệ phần trăm từ 0 đến 100"),
    ("default_commission_bp", "8.125", "tối đa hai chữ số thập phân"),
    ("default_commission_bp", "-1", "Nhập tỷ lệ phần trăm từ 0 đến 100"),
    ("default_commission_bp", "tám", "Nhập tỷ lệ phần trăm từ 0 đến 100"),
]


def test_a_setting_that_does_not_parse_is_explained_and_nothing_is_saved(ops, shop):
    for field, value, message in BAD_SETTINGS:
        data = {"cod_max_amount": "4000000", "card_reservation_minutes": "20", "default_commission_bp": "9"}
        data[field] = value
        response = ops.post("/ops/cai-dat", data=data)
        assert response.status_code == 400 and message in text_of(response), (field, value)
        page = text_of(response)
        assert input_value(page, field) == value, (field, value)  # what was typed stays in the field
        assert f'aria-describedby="s-{field}-hint s-{field}-error"' in page and f'id="s-{field}-error"' in page
    assert (get_int("cod_max_amount"), get_int("card_reservation_minutes"), get_int("default_commission_bp")) == (
        3_000_000,
        15,
        800,
    )
    assert audit("settings.update") == []


def test_the_unstarred_section_is_switched_on_only_by_its_box(ops, shop):
    url = "/ops/cai-dat/chua-co-sao"
    assert ops.post(url, data={"unstarred_section": "1"}).status_code == 303
    assert get_int("unstarred_section") == 1
    box = re.search(r'<input [^>]*id="unstarred_section"[^>]*>', text_of(ops.get("/ops/cai-dat")))
    assert box and "checked" in box[0] and '<label for="unstarred_section">' in text_of(ops.get("/ops/cai-dat"))
    for odd in ("²", "9" * 40, "", "0", None):  # a box left unticked sends nothing: off, as anything but "1"
        response = ops.post(url, data={} if odd is None else {"unstarred_section": odd})
        assert response.status_code == 303 and get_int("unstarred_section") == 0, odd
    assert ops.post(url, data={"unstarred_section": "1\x00"}).status_code == 400
    box = re.search(r'<input [^>]*id="unstarred_section"[^>]*>', text_of(ops.get("/ops/cai-dat")))
    assert box and "checked" not in box[0]
    assert [e.after for e in audit("settings.update")] == [{"unstarred_section": 1}, {"unstarred_section": 0}]


def rates_form(table=None, **changes) -> dict:
    """The shipping form as the page sends it, from the current table, with changes."""
    table = table or rate_table()
    data = {}
    for zone, bands in table.items():
        for i, band in enumerate(bands):
            data[f"{zone}-bands-{i}-max"] = str(band.max_weight_grams)
            data[f"{zone}-bands-{i}-fee"] = str(band.fee)
            data[f"{zone}-bands-{i}-extra"] = str(band.extra_per_kg)
        for part in ("max", "fee", "extra"):
            data[f"{zone}-new-{part}"] = ""
    data.update(changes)
    return data


def test_an_operator_edits_adds_and_removes_shipping_bands(ops, shop):
    data = rates_form(
        **{
            "same_province-bands-0-fee": "20.000",
            "same_province-new-max": "10000",
            "same_province-new-fee": "60000",
            "same_province-new-extra": "4000",
            "elsewhere-bands-1-remove": "1",
        }
    )
    response = ops.post("/ops/cai-dat/phi-van-chuyen", data=data)
    assert response.status_code == 303
    table = rate_table()
    assert [(r.max_weight_grams, r.fee, r.extra_per_kg) for r in table["same_province"]] == [
        (1000, 20_000, 0),
        (3000, 25_000, 0),
        (5000, 32_000, 5_000),
        (10000, 60_000, 4_000),
    ]
    assert [r.max_weight_grams for r in table["elsewhere"]] == [1000, 5000]
    (entry,) = audit("shipping.rates")
    assert entry.before["same_province:1000"] == 18_000
    assert entry.after["same_province:1000"] == 20_000
    assert ops.post("/ops/cai-dat/phi-van-chuyen", data=rates_form()).status_code == 303
    assert len(audit("shipping.rates")) == 1  # saving the same table changes nothing


BAD_RATES = [
    ({"same_region-bands-0-fee": "-5"}, "Nhập số tiền là số đồng nguyên"),
    ({"same_region-bands-0-fee": "abc"}, "Nhập số tiền là số đồng nguyên"),
    ({"same_region-bands-0-extra": "1.5"}, "Nhập số tiền là số đồng nguyên"),
    ({"same_region-bands-0-max": "0"}, "Nhập một số từ 1 đến 1000000."),
    ({"same_region-bands-0-max": "2,5"}, "Nhập một số nguyên không âm."),
    ({"same_region-bands-1-max": "1000"}, "không được có cùng khối lượng tối đa"),
    ({"same_region-new-max": "3000", "same_region-new-fee": "1"}, "không được có cùng khối lượng tối đa"),
    ({"same_region-new-fee": "30000"}, "Nhập một số nguyên không âm."),
    (
        {"same_region-bands-0-remove": "1", "same_region-bands-1-remove": "1", "same_region-bands-2-remove": "1"},
        "Mỗi vùng cần ít nhất một mức phí.",
    ),
    ({"same_region-bands-1-max": "500"}, "Gói nặng hơn không được có phí thấp hơn"),
]


def test_a_refused_shipping_table_comes_back_as_typed_with_each_message_beside_its_cell(ops, shop):
    before = rate_table()
    typed = rates_form(
        before,
        **{
            "same_region-bands-0-fee": "²",
            "same_region-bands-1-max": "9" * 40,
            "elsewhere-bands-1-remove": "1",
            "same_province-new-fee": "7",
        },
    )
    del typed["elsewhere-bands-0-fee"]  # a missing field is a blank one
    response = ops.post("/ops/cai-dat/phi-van-chuyen", data=typed)
    page = text_of(response)
    assert response.status_code == 400
    for name, value, message in (
        ("same_region-bands-0-fee", "²", "Nhập số tiền là số đồng nguyên"),
        ("same_region-bands-1-max", "9" * 40, "Nhập một số từ 1 đến 1000000."),
        ("elsewhere-bands-0-fee", "", "Nhập số tiền là số đồng nguyên"),
        ("same_province-new-max", "", "Nhập một số nguyên không âm."),
    ):
        cell = re.search(rf'<input ([^>]*id="{name}"[^>]*)>', page)
        assert cell and input_value(page, name) == value, name  # as typed
        assert f'aria-describedby="{name}-error"' in cell[1] and 'aria-invalid="true"' in cell[1], name
        assert f'<p class="field-error" id="{name}-error">{message}' in page, name
    assert input_value(page, "same_province-new-fee") == "7"
    assert re.search(r'<input checked id="elsewhere-bands-1-remove" name="elsewhere-bands-1-remove"', page)
    assert page.count('class="field-error"') == 4  # the rows typed right carry no message

    # A whole-table refusal is said above its zone, the table still as typed.
    removed = {f"same_region-bands-{i}-remove": "1" for i in range(3)}
    page = text_of(ops.post("/ops/cai-dat/phi-van-chuyen", data=rates_form(before, **removed)))
    zone = page[page.index("Nội vùng") : page.index("Liên vùng")]
    assert '<div class="form-errors" role="alert">' in zone and "Mỗi vùng cần ít nhất một mức phí." in zone
    assert zone.count("<input checked") == 3

    assert (
        ops.post(
            "/ops/cai-dat/phi-van-chuyen", data=rates_form(before, **{"elsewhere-bands-0-fee": "1\x00"})
        ).status_code
        == 400
    )
    assert rate_table() == before and audit("shipping.rates") == []
    # Row numbers are read as ASCII digits only: "²" passes str.isdigit() and once reached int().
    odd = rates_form(before, **{"same_region-bands-²-max": "5", "same_region-bands-٣-fee": "5"})
    assert ops.post("/ops/cai-dat/phi-van-chuyen", data=odd).status_code == 303
    far = rates_form(
        before, **{f"same_region-bands-{'9' * 40}-max": "8000", f"same_region-bands-{'9' * 40}-fee": "60000"}
    )
    assert ops.post("/ops/cai-dat/phi-van-chuyen", data=far).status_code == 303  # any row number: one more band
    assert [r.max_weight_grams for r in rate_table()["same_region"]][-1] == 8000


def test_a_bad_shipping_table_is_refused_and_the_old_one_kept(ops, shop):
    before = rate_table()
    for changes, message in BAD_RATES:
        response = ops.post("/ops/cai-dat/phi-van-chuyen", data=rates_form(before, **changes))
        assert response.status_code == 400 and message in text_of(response), changes
    assert rate_table() == before and count(ShippingRate) == 9
    assert audit("shipping.rates") == []

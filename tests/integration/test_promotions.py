"""Promotion weeks: the operator creates, publishes and cancels them; producers
enrol SKUs in invitation-only weeks and the operator decides; shoppers see the
promotional prices from a week's first second to its last on every page, in
the page cache and in the API, and never a week that has not started or has
ended. Every refusal says why and changes nothing."""

import dataclasses
import functools
import html
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from shop.accounts.models import ProducerMember, User
from shop.accounts.passwords import hash_password
from shop.audit.models import AuditEntry
from shop.catalog.models import Product, Variant
from shop.errors import NotFound
from shop.extensions import db
from shop.producers.models import Producer
from shop.promotions import enrolment_services, pricing, storefront_queries, week_services
from shop.promotions.models import Promotion, PromotionEnrolment, Voucher
from shop.promotions.week_rules import PromotionError
from shop.promotions.week_services import Banner, WeekDetails
from tests.support.auth import PASSWORD, sign_in
from tests.support.factories import category, make_producer, make_product, province

NOW = datetime(2030, 5, 20, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


@dataclasses.dataclass
class World:
    operator: int  # user id
    mine: int  # producer ids
    other: int
    honey: int  # product ids (mine, Tuyên Quang)
    tea: int  # the other producer's (Thái Nguyên)
    honey_sku: int  # variant ids
    honey_big: int
    tea_sku: int


@functools.cache
def password_hash() -> str:
    return hash_password(PASSWORD)  # hashed once: a deliberately slow hash in every test adds up


def account(email: str, role: str, producer: Producer | None = None) -> User:
    """A verified account (what shop.accounts.services.create_user makes)."""
    user = User(email=email, password_hash=password_hash(), name=email, role=role, email_verified_at=NOW)
    db.session.add(user)
    if producer is not None:
        db.session.add(ProducerMember(user=user, producer=producer, role="owner"))
    db.session.flush()
    return user


@pytest.fixture
def world(app) -> World:
    mine = make_producer("HTX ong Phong Thổ", province_name="Tuyên Quang")
    other = make_producer("HTX chè Tân Cương", province_name="Thái Nguyên")
    honey = make_product("Mật ong hoa rừng", producer=mine, prices=(100_000, 300_000), stock=(10, 4), stars=4)
    tea = make_product("Trà Tân Cương", producer=other, prices=(200_000,), stock=10, stars=5)
    operator = account("vanhanh@example.vn", "operator")
    account("ong@example.vn", "producer", mine)
    account("che@example.vn", "producer", other)
    db.session.commit()
    return World(
        operator.id,
        mine.id,
        other.id,
        honey.id,
        tea.id,
        honey.variants[0].id,
        honey.variants[1].id,
        tea.variants[0].id,
    )


@pytest.fixture
def clock(monkeypatch):
    """Sets the instant every promotion read takes as now (pages, cache key, API)."""

    def set_now(moment: datetime) -> None:
        for module in ("shop.promotions.pricing", "shop.promotions.views", "shop.catalog.views", "shop.page_cache"):
            monkeypatch.setattr(f"{module}.utcnow", lambda: moment)

    set_now(NOW)
    return set_now


def week(**changes) -> WeekDetails:
    base = WeekDetails(
        name="Tuần lễ OCOP Tuyên Quang",
        starts_at=NOW + DAY,
        ends_at=NOW + 8 * DAY,
        kind="percent",
        value=20,
        max_discount=50_000,
        operator_share=100,
    )
    return dataclasses.replace(base, **changes)


def published(world: World, now: datetime = NOW, **changes) -> int:
    promotion_id = week_services.create_week(world.operator, week(**changes), now=now)
    week_services.publish_week(world.operator, promotion_id, now=now)
    return promotion_id


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def fresh(model, id_):
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(model, id_)


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (900, 300), (200, 40, 30)).save(out, format="PNG")
    return out.getvalue()


# --- the operator's weeks ---------------------------------------------------------------------


def test_a_new_week_is_a_draft_stored_in_utc_with_a_unique_slug_and_an_audit_entry(world):
    first = week_services.create_week(world.operator, week(), now=NOW)
    second = week_services.create_week(world.operator, week(starts_at=NOW + 20 * DAY, ends_at=NOW + 27 * DAY), now=NOW)

    a, b = db.session.get(Promotion, first), db.session.get(Promotion, second)
    assert a.state == "draft"
    assert a.slug == "tuan-le-ocop-tuyen-quang" and b.slug == "tuan-le-ocop-tuyen-quang-2"
    assert pricing_time(a.starts_at) == NOW + DAY
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.target_id == first)).one()
    assert entry.action == "promotion.create" and entry.actor_id == world.operator
    assert entry.after["value"] == 20


def pricing_time(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def test_a_week_keeps_a_banner_reencoded_under_the_media_folder(world, app):
    from pathlib import Path

    promotion_id = week_services.create_week(world.operator, week(), Banner("banner.png", png_bytes()), now=NOW)

    path = db.session.get(Promotion, promotion_id).banner_path
    assert path.startswith("promotions/") and path.endswith(".jpg")
    assert (Path(app.config["MEDIA_DIR"]) / path).read_bytes()[:3] == b"\xff\xd8\xff"


# Checks of what was typed do not depend on the database: run them on SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])


REFUSALS = [
    ("name", {"name": "  "}, "Nhập tên tuần lễ khuyến mãi."),
    ("start", {"starts_at": None}, "Nhập ngày giờ bắt đầu."),
    ("end_equal_start", {"ends_at": NOW + DAY}, "Thời điểm kết thúc phải sau thời điểm bắt đầu."),
    ("end_before_start", {"ends_at": NOW + DAY - SECOND}, "Thời điểm kết thúc phải sau thời điểm bắt đầu."),
    ("end_in_past", {"starts_at": NOW - 3 * DAY, "ends_at": NOW - DAY}, "Thời điểm kết thúc đã qua"),
    ("120_percent", {"value": 120}, "Mức giảm theo phần trăm phải từ 1 đến 99%."),
    ("zero_percent", {"value": 0}, "Mức giảm theo phần trăm phải từ 1 đến 99%."),
    ("negative_percent", {"value": -10}, "Mức giảm theo phần trăm phải từ 1 đến 99%."),
    ("no_value", {"value": None}, "Nhập mức giảm."),
    ("zero_amount", {"kind": "fixed", "value": 0}, "Số tiền giảm phải lớn hơn 0 ₫."),
    ("fractional_amount", {"kind": "fixed", "value": 12.5}, "Mức giảm phải là số nguyên."),
    ("zero_cap", {"max_discount": 0}, "Mức giảm tối đa phải là số tiền lớn hơn 0 ₫"),
    ("negative_cap", {"max_discount": -1}, "Mức giảm tối đa phải là số tiền lớn hơn 0 ₫"),
    ("bad_kind", {"kind": "bogo"}, "Chọn cách giảm"),
    ("share", {"operator_share": 101}, "Phần sàn chịu phải là số nguyên từ 0 đến 100%."),
    (
        "unknown_product",
        {"product_refs": ("khong-co-san-pham-nay",)},
        "Không tìm thấy sản phẩm “khong-co-san-pham-nay”.",
    ),
    ("unknown_producer", {"producers": (987654,)}, "Không tìm thấy nhà sản xuất #987654."),
    ("unknown_province", {"provinces": (987654,)}, "Không tìm thấy tỉnh, thành #987654."),
    ("unknown_category", {"categories": ("abc",)}, "Không tìm thấy nhóm sản phẩm #abc."),
    ("stars", {"min_stars": 2}, "Số sao tối thiểu là 3, 4 hoặc 5."),
    ("slug", {"slug": "Tuần Lễ!"}, "Đường dẫn chỉ gồm chữ thường"),
]


@SQLITE_ONLY
@pytest.mark.parametrize(("case", "changes", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_week_with_bad_input_is_refused_with_a_clear_message_and_nothing_saved(world, case, changes, message):
    with pytest.raises(PromotionError) as refused:
        week_services.create_week(world.operator, week(**changes), now=NOW)

    assert message in refused.value.message
    db.session.rollback()
    assert count(Promotion) == 0 and count(AuditEntry) == 0


def test_a_taken_slug_is_refused(world):
    week_services.create_week(world.operator, week(slug="tuan-le-vang"), now=NOW)
    with pytest.raises(PromotionError, match="Đường dẫn này đã được dùng"):
        week_services.create_week(world.operator, week(slug="tuan-le-vang", name="Khác"), now=NOW)


def test_the_same_product_cannot_be_chosen_for_two_weeks_that_overlap(world, app):
    tea_slug = db.session.get(Variant, world.tea_sku).product.slug
    week_services.create_week(world.operator, week(product_refs=(tea_slug,)), now=NOW)

    with pytest.raises(PromotionError) as refused:
        week_services.create_week(
            world.operator,
            week(name="Tuần lễ chè", product_refs=(str(world.tea),), starts_at=NOW + 7 * DAY, ends_at=NOW + 9 * DAY),
            now=NOW,
        )
    assert "Trà Tân Cương" in refused.value.message and "trùng thời gian" in refused.value.message
    db.session.rollback()
    assert count(Promotion) == 1
    # Back to back (the first ends the instant the second begins) is fine, and so
    # are open weeks whose rules overlap: each line gets the best single one.
    week_services.create_week(
        world.operator,
        week(name="Tuần sau", product_refs=(tea_slug,), starts_at=NOW + 8 * DAY, ends_at=NOW + 9 * DAY),
        now=NOW,
    )
    week_services.create_week(world.operator, week(name="Cả nước"), now=NOW)
    assert count(Promotion) == 3


def test_a_product_enrolled_in_one_week_cannot_be_chosen_for_another_at_the_same_time(world):
    invitation = published(world, invitation_only=True)
    enrolment_services.enrol(world.mine, invitation, world.honey_sku, 80_000, 5, now=NOW)

    with pytest.raises(PromotionError, match="Mật ong hoa rừng"):
        week_services.create_week(world.operator, week(name="Mật ong", product_refs=(str(world.honey),)), now=NOW)


def test_an_ended_week_keeps_its_timing_and_discount_but_may_be_renamed(world):
    promotion_id = published(world)
    after = NOW + 9 * DAY

    with pytest.raises(PromotionError, match="đã kết thúc"):
        week_services.update_week(world.operator, promotion_id, week(value=30), now=after)
    with pytest.raises(PromotionError, match="đã kết thúc"):
        week_services.update_week(world.operator, promotion_id, week(ends_at=NOW + 20 * DAY), now=after)
    assert fresh(Promotion, promotion_id).value == 20

    week_services.update_week(world.operator, promotion_id, week(name="Tuần lễ OCOP Tuyên Quang 2030"), now=after)
    promotion = fresh(Promotion, promotion_id)
    assert promotion.name == "Tuần lễ OCOP Tuyên Quang 2030" and promotion.value == 20
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "promotion.update")).one()
    assert entry.before == {"name": "Tuần lễ OCOP Tuyên Quang"}


def test_only_a_draft_is_published_and_cancelling_ends_a_running_week_at_once(world):
    promotion_id = published(world)
    with pytest.raises(PromotionError, match="nháp"):
        week_services.publish_week(world.operator, promotion_id, now=NOW)
    with pytest.raises(PromotionError, match="lý do"):
        week_services.cancel_week(world.operator, promotion_id, "  ", now=NOW + 2 * DAY)
    assert promotion_id in pricing.active_ids(NOW + 2 * DAY)

    week_services.cancel_week(world.operator, promotion_id, "Sai mức giảm", now=NOW + 2 * DAY)

    promotion = fresh(Promotion, promotion_id)
    assert promotion.state == "cancelled" and pricing_time(promotion.ends_at) == NOW + 2 * DAY
    assert pricing.active_ids(NOW + 2 * DAY) == ()
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert actions == {"promotion.create", "promotion.publish", "promotion.cancel"}
    assert db.session.scalars(select(AuditEntry.reason).where(AuditEntry.action == "promotion.cancel")).one() == (
        "Sai mức giảm"
    )


def test_an_unknown_week_is_not_found(world):
    with pytest.raises(NotFound):
        week_services.publish_week(world.operator, 4242)


# --- exact timing -------------------------------------------------------------------------------


def test_the_promotional_price_holds_from_the_first_second_to_the_last(world):
    promotion_id = published(world)
    start, end = NOW + DAY, NOW + 8 * DAY
    products = [db.session.get(Variant, world.honey_sku).product]

    assert pricing.card_offers(products, start - SECOND) == {}
    assert pricing.card_offers(products, start)[world.honey].promo_price == 80_000
    assert pricing.card_offers(products, end - SECOND)[world.honey].promo_price == 80_000
    assert pricing.card_offers(products, end) == {}
    assert pricing.active_ids(start - SECOND) == () == pricing.active_ids(end)
    assert pricing.active_ids(start) == (promotion_id,)
    assert pricing.next_boundary((start - SECOND).timestamp()) == start.timestamp()
    assert pricing.next_boundary(start.timestamp()) == end.timestamp()
    # The cap holds per unit: 20% of 300.000 ₫ would be 60.000 ₫.
    assert pricing.variant_offers(products[0], start)[world.honey_big].promo_price == 250_000


def test_the_landing_page_before_during_and_after_the_week(world, client, clock):
    published(world, provinces=(province("Tuyên Quang").id,))
    start, end = NOW + DAY, NOW + 8 * DAY

    clock(start - SECOND)
    page = client.get("/khuyen-mai/tuan-le-ocop-tuyen-quang").get_data(as_text=True)
    assert "Sắp diễn ra" in page and "Mật ong hoa rừng" in page and "Trà Tân Cương" not in page
    assert "80.000" not in page and 'data-countdown="2030-05-21T01:00:00Z"' in page
    assert "21/05/2030 08:00" in page  # the start in Vietnam time, readable without scripts

    clock(start)
    page = client.get("/khuyen-mai/tuan-le-ocop-tuyen-quang").get_data(as_text=True)
    assert "Đang diễn ra" in page and "80.000" in page and "-20%" in page
    assert 'data-countdown="2030-05-28T01:00:00Z"' in page

    clock(end)
    page = client.get("/khuyen-mai/tuan-le-ocop-tuyen-quang").get_data(as_text=True)
    assert "Tuần lễ đã kết thúc" in page and "80.000" not in page and "100.000" in page


def test_a_draft_week_has_no_landing_page(world, client):
    week_services.create_week(world.operator, week(), now=NOW)
    assert client.get("/khuyen-mai/tuan-le-ocop-tuyen-quang").status_code == 404
    assert client.get("/khuyen-mai/khong-co").status_code == 404


def test_a_rule_week_lists_only_the_listed_products_in_its_scope_page_by_page(world, client, clock, app):
    mine = db.session.get(Producer, world.mine)
    for n in range(3):
        make_product(f"Mật ong bạc hà {n}", producer=mine, prices=(50_000,))
    make_product("Mật ong nháp", producer=mine, prices=(50_000,), status="draft")
    published(world, producers=(world.mine,), min_stars=None)
    app.config["CATALOG_PER_PAGE"] = 2
    clock(NOW + DAY)

    first = client.get("/khuyen-mai/tuan-le-ocop-tuyen-quang").get_data(as_text=True)
    second = client.get("/khuyen-mai/tuan-le-ocop-tuyen-quang?page=2").get_data(as_text=True)

    assert '<span class="count">4</span>' in first
    names = ("Mật ong hoa rừng", "Mật ong bạc hà 0", "Mật ong bạc hà 1", "Mật ong bạc hà 2")
    assert all((n in first) != (n in second) for n in names)
    assert "Mật ong nháp" not in first + second and "Trà Tân Cương" not in first + second


def test_a_star_and_group_scope_is_built_into_the_landing_query(world):
    promotion_id = published(world, min_stars=5)
    items, total = storefront_queries.week_products(db.session.get(Promotion, promotion_id), 1, 10)
    assert [p.id for p in items] == [world.tea] and total == 1

    other_group = category("thu-cong-my-nghe-gia-dung-trang-tri").parent_id
    promotion_id = published(
        world, name="Thủ công", categories=(other_group,), starts_at=NOW + 30 * DAY, ends_at=NOW + 31 * DAY
    )
    assert storefront_queries.week_products(db.session.get(Promotion, promotion_id), 1, 10) == ([], 0)


def test_the_home_page_shows_running_weeks_and_counts_down_to_the_next(world, client, clock):
    published(world)
    published(world, name="Tuần lễ mùa thu", starts_at=NOW + 20 * DAY, ends_at=NOW + 27 * DAY)

    clock(NOW)
    page = client.get("/").get_data(as_text=True)
    assert "Tuần lễ OCOP Tuyên Quang" in page and 'data-countdown="2030-05-21T01:00:00Z"' in page
    assert "/khuyen-mai/tuan-le-ocop-tuyen-quang" in page and "week-card" not in page

    clock(NOW + DAY)
    page = client.get("/").get_data(as_text=True)
    assert 'class="week-card' in page and "Tuần lễ mùa thu" in page
    assert 'data-countdown="2030-06-09T01:00:00Z"' in page  # the next week's start
    assert "80.000" in page and "-20%" in page  # the honey card at its promotional price


def test_product_cards_and_the_product_page_show_the_promotional_price(world, client, clock):
    published(world)
    clock(NOW + DAY)
    slug = db.session.get(Variant, world.honey_sku).product.slug

    listing = client.get("/san-pham").get_data(as_text=True)
    assert 'class="price price-promo">80.000' in listing and "-20%" in listing
    page = client.get(f"/san-pham/{slug}").get_data(as_text=True)
    assert 'id="price">80.000' in page and '<span id="was">100.000' in page
    assert 'data-was="300.000' in page and "250.000" in page
    assert "Tuần lễ OCOP Tuyên Quang" in page and "28/05/2030 08:00" in page
    producer_page = client.get(f"/nha-san-xuat/{db.session.get(Producer, world.mine).slug}")
    assert "80.000" in producer_page.get_data(as_text=True)


def test_a_cached_page_ends_on_the_weeks_first_and_last_second(world, client, clock, app):
    app.config.update(PAGE_CACHE_SECONDS=300, VALUE_CACHE_SECONDS=300)
    published(world)
    start, end = NOW + DAY, NOW + 8 * DAY
    url = f"/san-pham/{db.session.get(Variant, world.honey_sku).product.slug}"

    clock(start - SECOND)
    before = client.get(url).get_data(as_text=True)
    second = client.get(url)
    assert second.headers["X-Cache"] == "HIT" and second.get_data(as_text=True) == before
    clock(start)
    during = client.get(url).get_data(as_text=True)
    clock(end - SECOND)
    assert client.get(url).get_data(as_text=True) == during
    clock(end)
    after = client.get(url).get_data(as_text=True)

    assert 'id="price">100.000' in before and 'id="price">80.000' in during and 'id="price">100.000' in after


def test_the_api_gives_each_variant_its_promotional_price_during_the_week(world, client, clock):
    published(world)
    slug = db.session.get(Variant, world.honey_sku).product.slug

    clock(NOW)
    variants = client.get(f"/api/v1/products/{slug}").get_json()["variants"]
    assert all("promo_price" not in v and "promotion" not in v for v in variants)

    clock(NOW + DAY)
    small, big = client.get(f"/api/v1/products/{slug}").get_json()["variants"]
    assert small["price"] == 100_000 and small["promo_price"] == 80_000
    assert big["promo_price"] == 250_000
    assert small["promotion"]["slug"] == "tuan-le-ocop-tuyen-quang"
    assert small["promotion"]["ends_at"] == "2030-05-28T01:00:00Z"
    schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert "PromotionRef" in schema


# --- producers' enrolments ---------------------------------------------------------------------


def test_a_producer_sees_the_invitations_that_take_it_in(world, client):
    published(world, name="Vùng cao", invitation_only=True, provinces=(province("Tuyên Quang").id,))
    published(
        world,
        name="Trung du",
        invitation_only=True,
        provinces=(province("Thái Nguyên").id,),
        starts_at=NOW + 30 * DAY,
        ends_at=NOW + 31 * DAY,
    )
    published(world, name="Mở cho mọi sản phẩm", starts_at=NOW + 40 * DAY, ends_at=NOW + 41 * DAY)

    page = sign_in(client, "ong@example.vn").get("/producer/khuyen-mai").get_data(as_text=True)

    assert "Vùng cao" in page and "Trung du" not in page and "Mở cho mọi sản phẩm" not in page
    assert "gợi ý 80.000" in page  # the week's rule applied to the SKU's price
    assert "Trà Tân Cương" not in page


def test_a_producer_enrols_a_sku_and_the_operator_approves_it(world, client, clock):
    promotion_id = published(world, invitation_only=True)
    producer = sign_in(client, "ong@example.vn")

    response = producer.post(
        f"/producer/khuyen-mai/{promotion_id}/dang-ky",
        data={
            f"w{promotion_id}-variant_id": world.honey_sku,
            f"w{promotion_id}-promo_price": "75.000",
            f"w{promotion_id}-quota": "6",
        },
    )
    assert response.status_code == 302
    enrolment = db.session.scalars(select(PromotionEnrolment)).one()
    assert (enrolment.promo_price, enrolment.quota, enrolment.state) == (75_000, 6, "pending")
    products = [db.session.get(Variant, world.honey_sku).product]
    assert pricing.card_offers(products, NOW + DAY) == {}  # nothing until approved

    week_services.decide_enrolment(world.operator, enrolment.id, True, now=NOW)

    offer = pricing.card_offers(products, NOW + DAY)[world.honey]
    assert offer.promo_price == 75_000 and offer.offer.units_left == 6 and offer.offer.operator_share == 100
    clock(NOW + DAY)
    page = client.get(f"/san-pham/{products[0].slug}").get_data(as_text=True)
    assert "Chỉ còn 6 suất giá khuyến mãi" in page
    assert fresh(PromotionEnrolment, enrolment.id).state == "approved"
    assert db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.target_type == "promotion_enrolment")
    ).one() == ("enrolment.approve")


def test_when_the_quota_is_sold_the_sku_is_back_at_its_normal_price(world):
    promotion_id = published(world, invitation_only=True)
    enrolment_id = enrolment_services.enrol(world.mine, promotion_id, world.honey_sku, 75_000, 3, now=NOW)
    week_services.decide_enrolment(world.operator, enrolment_id, True, now=NOW)
    db.session.get(PromotionEnrolment, enrolment_id).sold = 3
    db.session.commit()

    assert pricing.card_offers([db.session.get(Variant, world.honey_sku).product], NOW + DAY) == {}


ENROL_REFUSALS = [
    ("price_not_lower", {"promo_price": 100_000}, "Giá khuyến mãi phải thấp hơn giá bán hiện tại"),
    ("price_zero", {"promo_price": 0}, "Giá khuyến mãi phải là số tiền lớn hơn 0 ₫."),
    ("price_a_zero_short", {"promo_price": 1_000}, "giảm tối đa 90%, tức giá từ 10.000"),
    ("price_missing", {"promo_price": None}, "Nhập giá khuyến mãi."),
    ("quota_above_stock", {"quota": 11}, "Số suất (11) lớn hơn tồn kho hiện có (10)."),
    ("quota_zero", {"quota": 0}, "Số suất phải từ 1 trở lên."),
    ("no_sku", {"variant_id": None}, "Chọn sản phẩm muốn đăng ký."),
]


@SQLITE_ONLY
@pytest.mark.parametrize(("case", "changes", "message"), ENROL_REFUSALS, ids=[r[0] for r in ENROL_REFUSALS])
def test_an_enrolment_with_bad_input_is_refused_and_nothing_saved(world, case, changes, message):
    promotion_id = published(world, invitation_only=True)
    values = {"variant_id": world.honey_sku, "promo_price": 80_000, "quota": 5, **changes}

    with pytest.raises(PromotionError) as refused:
        enrolment_services.enrol(
            world.mine, promotion_id, values["variant_id"], values["promo_price"], values["quota"], now=NOW
        )

    assert message in refused.value.message
    db.session.rollback()
    assert count(PromotionEnrolment) == 0


def test_the_portal_form_shows_a_refusal_next_to_its_field(world, client):
    promotion_id = published(world, invitation_only=True)
    producer = sign_in(client, "ong@example.vn")
    p = f"w{promotion_id}-"

    fractional = producer.post(
        f"/producer/khuyen-mai/{promotion_id}/dang-ky",
        data={p + "variant_id": world.honey_sku, p + "promo_price": "80.5", p + "quota": "5"},
    )
    too_many = producer.post(
        f"/producer/khuyen-mai/{promotion_id}/dang-ky",
        data={p + "variant_id": world.honey_sku, p + "promo_price": "80.000", p + "quota": "50"},
    )

    assert fractional.status_code == 400 and "Nhập số tiền nguyên" in fractional.get_data(as_text=True)
    assert too_many.status_code == 400 and "Số suất (50) lớn hơn tồn kho hiện có (10)." in too_many.get_data(
        as_text=True
    )
    assert count(PromotionEnrolment) == 0


def test_another_producers_sku_or_enrolment_is_not_found(world, client):
    promotion_id = published(world, invitation_only=True)
    theirs = enrolment_services.enrol(world.other, promotion_id, world.tea_sku, 150_000, 5, now=NOW)
    producer = sign_in(client, "ong@example.vn")
    p = f"w{promotion_id}-"

    enrol = producer.post(
        f"/producer/khuyen-mai/{promotion_id}/dang-ky",
        data={p + "variant_id": world.tea_sku, p + "promo_price": "150.000", p + "quota": "5"},
    )
    withdraw = producer.post(f"/producer/khuyen-mai/dang-ky/{theirs}/rut")

    assert enrol.status_code == 404 and withdraw.status_code == 404
    assert fresh(PromotionEnrolment, theirs).state == "pending" and count(PromotionEnrolment) == 1
    with pytest.raises(NotFound):
        enrolment_services.enrol(world.mine, promotion_id, world.tea_sku, 150_000, 5, now=NOW)


def test_a_producer_outside_the_invitation_or_a_sku_outside_its_rules_is_refused(world):
    far = published(world, invitation_only=True, provinces=(province("Thái Nguyên").id,))
    with pytest.raises(PromotionError, match="không mời gian hàng của bạn"):
        enrolment_services.enrol(world.mine, far, world.honey_sku, 80_000, 5, now=NOW)

    five_stars = published(
        world, name="5 sao", invitation_only=True, min_stars=5, starts_at=NOW + 30 * DAY, ends_at=NOW + 31 * DAY
    )
    with pytest.raises(PromotionError, match="không thuộc phạm vi"):
        enrolment_services.enrol(world.mine, five_stars, world.honey_sku, 80_000, 5, now=NOW)
    assert [
        v.id for v in enrolment_services.enrolable_variants(world.mine, db.session.get(Promotion, five_stars))
    ] == []

    with pytest.raises(PromotionError, match="đã kết thúc"):
        enrolment_services.enrol(world.other, five_stars, world.tea_sku, 150_000, 5, now=NOW + 40 * DAY)


def test_one_sku_cannot_be_enrolled_twice_or_in_two_overlapping_weeks(world):
    first = published(world, invitation_only=True)
    second = published(
        world, name="Tuần chồng lấn", invitation_only=True, starts_at=NOW + 5 * DAY, ends_at=NOW + 12 * DAY
    )
    enrolment_services.enrol(world.mine, first, world.honey_sku, 80_000, 5, now=NOW)
    week = db.session.get(Promotion, first)
    assert world.honey_sku not in [v.id for v in enrolment_services.enrolable_variants(world.mine, week, now=NOW)]

    with pytest.raises(PromotionError, match="đã được đăng ký cho tuần lễ này"):
        enrolment_services.enrol(world.mine, first, world.honey_sku, 70_000, 5, now=NOW)
    with pytest.raises(PromotionError, match="trùng thời gian"):
        enrolment_services.enrol(world.mine, second, world.honey_sku, 80_000, 5, now=NOW)
    # Another SKU of the same product is a different offer.
    enrolment_services.enrol(world.mine, second, world.honey_big, 250_000, 2, now=NOW)
    assert count(PromotionEnrolment) == 2


def test_a_pending_offer_may_be_withdrawn_and_offered_again(world, client):
    promotion_id = published(world, invitation_only=True)
    enrolment_id = enrolment_services.enrol(world.mine, promotion_id, world.honey_sku, 80_000, 5, now=NOW)

    response = sign_in(client, "ong@example.vn").post(f"/producer/khuyen-mai/dang-ky/{enrolment_id}/rut")

    assert response.status_code == 302 and fresh(PromotionEnrolment, enrolment_id).state == "withdrawn"
    with pytest.raises(PromotionError, match="Chỉ rút được"):
        enrolment_services.withdraw_enrolment(world.mine, enrolment_id)
    week = db.session.get(Promotion, promotion_id)
    assert world.honey_sku in [v.id for v in enrolment_services.enrolable_variants(world.mine, week, now=NOW)]
    assert enrolment_services.enrol(world.mine, promotion_id, world.honey_sku, 85_000, 4, now=NOW) == enrolment_id
    assert fresh(PromotionEnrolment, enrolment_id).state == "pending"


def test_a_rejection_needs_a_reason_the_producer_then_reads(world, client, app):
    promotion_id = published(world, invitation_only=True)
    enrolment_id = enrolment_services.enrol(world.mine, promotion_id, world.honey_sku, 80_000, 5, now=NOW)
    operator = sign_in(client, "vanhanh@example.vn")

    blank = operator.post(f"/ops/khuyen-mai/dang-ky/{enrolment_id}/tu-choi", data={"reason": " "})
    assert blank.status_code == 400 and "Nhập lý do từ chối" in blank.get_data(as_text=True)
    assert fresh(PromotionEnrolment, enrolment_id).state == "pending"

    operator.post(f"/ops/khuyen-mai/dang-ky/{enrolment_id}/tu-choi", data={"reason": "Giá chưa đủ hấp dẫn"})
    assert fresh(PromotionEnrolment, enrolment_id).state == "rejected"
    with app.app_context():  # a fresh `g`: the test's own context would carry the operator's sign-in
        page = sign_in(app.test_client(), "ong@example.vn").get("/producer/khuyen-mai").get_data(as_text=True)
    assert "Bị từ chối" in page and "Lý do: Giá chưa đủ hấp dẫn" in page
    with pytest.raises(PromotionError, match="đã được xử lý"):
        week_services.decide_enrolment(world.operator, enrolment_id, True, now=NOW)


def test_a_producer_still_sees_its_offers_in_weeks_that_have_ended(world, client):
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    promotion_id = published(
        world, now=long_ago, name="Tết 2020", invitation_only=True, starts_at=long_ago + DAY, ends_at=long_ago + 8 * DAY
    )
    enrolment_services.enrol(world.mine, promotion_id, world.honey_sku, 80_000, 5, now=long_ago)

    page = sign_in(client, "ong@example.vn").get("/producer/khuyen-mai").get_data(as_text=True)

    assert "Hiện chưa có lời mời nào" in page
    assert "Các tuần lễ khác đã đăng ký" in page and "Tết 2020" in page and "Chờ duyệt" in page


def test_an_offer_from_a_producer_no_longer_selling_cannot_be_approved(world):
    promotion_id = published(world, invitation_only=True)
    enrolment_id = enrolment_services.enrol(world.mine, promotion_id, world.honey_sku, 80_000, 5, now=NOW)
    db.session.get(Producer, world.mine).status = "suspended"
    db.session.commit()

    with pytest.raises(PromotionError, match="không còn hoạt động"):
        week_services.decide_enrolment(world.operator, enrolment_id, True, now=NOW)
    assert fresh(PromotionEnrolment, enrolment_id).state == "pending"


# --- the console pages ---------------------------------------------------------------------------


def test_the_console_creates_a_week_from_vietnam_local_times(world, client):
    operator = sign_in(client, "vanhanh@example.vn")
    assert operator.get("/ops/khuyen-mai/moi").status_code == 200

    response = operator.post(
        "/ops/khuyen-mai/moi",
        data={
            "name": "Tuần lễ Tết",
            "starts_at": "2030-06-01T00:00",
            "ends_at": "2030-06-08T00:00",
            "kind": "fixed",
            "value": "30.000",
            "operator_share": "50",
            "provinces": [str(province("Tuyên Quang").id)],
            "products": "",
        },
    )

    assert response.status_code == 302
    promotion = db.session.scalars(select(Promotion)).one()
    assert pricing_time(promotion.starts_at) == datetime(2030, 5, 31, 17, 0, tzinfo=UTC)
    assert (promotion.kind, promotion.value, promotion.operator_share) == ("fixed", 30_000, 50)
    edit = operator.get(f"/ops/khuyen-mai/{promotion.id}").get_data(as_text=True)
    assert 'value="2030-06-01T00:00"' in edit and "Tuyên Quang" in edit
    listing = operator.get("/ops/khuyen-mai").get_data(as_text=True)
    assert "Tuần lễ Tết" in listing and "Nháp" in listing


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("value", "12,5", "Nhập một số nguyên"),
        ("value", "120", "Mức giảm theo phần trăm phải từ 1 đến 99%."),
        ("starts_at", "ngày mai", "Ngày giờ không hợp lệ"),
        ("ends_at", "2030-05-31T00:00", "Thời điểm kết thúc phải sau thời điểm bắt đầu."),
    ],
)
def test_the_console_form_shows_what_is_wrong_and_saves_nothing(world, client, field, typed, message):
    data = {
        "name": "Tuần lễ Tết",
        "starts_at": "2030-06-01T00:00",
        "ends_at": "2030-06-08T00:00",
        "kind": "percent",
        "value": "20",
        "operator_share": "100",
        field: typed,
    }
    response = sign_in(client, "vanhanh@example.vn").post("/ops/khuyen-mai/moi", data=data)

    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert count(Promotion) == 0


def test_the_console_publishes_reviews_and_cancels(world, client):
    promotion_id = week_services.create_week(world.operator, week(invitation_only=True), now=NOW)
    operator = sign_in(client, "vanhanh@example.vn")

    operator.post(f"/ops/khuyen-mai/{promotion_id}/cong-bo")
    assert fresh(Promotion, promotion_id).state == "published"
    enrolment_services.enrol(world.mine, promotion_id, world.honey_sku, 80_000, 5, now=NOW)
    review = operator.get(f"/ops/khuyen-mai/{promotion_id}/dang-ky").get_data(as_text=True)
    assert "Mật ong hoa rừng" in review and "80.000" in review and "HTX ong Phong Thổ" in review
    no_reason = operator.post(f"/ops/khuyen-mai/{promotion_id}/huy", data={"reason": ""})
    assert no_reason.status_code == 400 and "Nhập lý do huỷ tuần lễ." in no_reason.get_data(as_text=True)

    operator.post(f"/ops/khuyen-mai/{promotion_id}/huy", data={"reason": "Đổi kế hoạch"})

    assert fresh(Promotion, promotion_id).state == "cancelled"
    assert client.get("/ops/khuyen-mai").status_code == 200


def test_the_console_is_not_there_for_producers_or_shoppers(world, client):
    assert client.get("/ops/khuyen-mai").status_code == 404
    assert sign_in(client, "ong@example.vn").get("/ops/khuyen-mai/moi").status_code == 404
    assert sign_in(client, "ong@example.vn").get("/ops/khuyen-mai/tim-san-pham?q=mat").status_code == 404


def picked(operator, typed: str) -> list[str]:
    response = operator.get("/ops/khuyen-mai/tim-san-pham", query_string={"q": typed})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    return [item["label"] for item in response.get_json()["items"]]


def test_the_product_picker_finds_by_name_without_tone_marks_slug_id_or_sku(world, client):
    operator = sign_in(client, "vanhanh@example.vn")
    honey = db.session.get(Product, world.honey)
    label = "Mật ong hoa rừng — HTX ong Phong Thổ"

    assert picked(operator, "mat ong") == picked(operator, "MẬT ONG") == [label]
    assert picked(operator, honey.slug) == picked(operator, str(honey.id)) == [label]
    assert picked(operator, db.session.get(Variant, world.tea_sku).sku) == ["Trà Tân Cương — HTX chè Tân Cương"]
    assert picked(operator, "") == picked(operator, "không có") == picked(operator, "%") == []
    item = operator.get("/ops/khuyen-mai/tim-san-pham?q=tra").get_json()["items"][0]
    assert item == {"value": db.session.get(Product, world.tea).slug, "label": "Trà Tân Cương — HTX chè Tân Cương"}


def test_the_week_form_works_without_javascript_and_names_the_chosen_products_for_the_picker(world, client):
    operator = sign_in(client, "vanhanh@example.vn")
    honey = db.session.get(Product, world.honey)
    promotion_id = week_services.create_week(world.operator, week(product_refs=(honey.slug,)), now=NOW)

    page = operator.get(f"/ops/khuyen-mai/{promotion_id}").get_data(as_text=True)

    textarea = re.search(r"<textarea[^>]*name=\"products\"[^>]*>([^<]*)</textarea>", page)
    assert textarea and textarea.group(1).strip() == honey.slug  # the typed-lines field, as without JavaScript
    assert 'data-picker-url="/ops/khuyen-mai/tim-san-pham"' in textarea.group(0)
    labels = re.search(r'data-picker-labels="([^"]*)"', textarea.group(0)).group(1)
    assert json.loads(html.unescape(labels)) == {honey.slug: "Mật ong hoa rừng — HTX ong Phong Thổ"}
    assert re.search(r'<select[^>]*data-picker[^>]*name="producers"|<select[^>]*name="producers"[^>]*data-picker', page)
    assert 'src="/static/js/picker.js' in page


# --- demo data -------------------------------------------------------------------------------------


def test_demo_promotions_and_voucher_are_added_once(world):
    from shop.demo.seed import seed_demo_promotions

    assert seed_demo_promotions(now=NOW, with_images=False) == {"promotions": 2, "enrolments": 0, "vouchers": 1}
    assert seed_demo_promotions(now=NOW, with_images=False) == {"promotions": 0, "enrolments": 0, "vouchers": 0}
    running = db.session.scalars(select(Promotion).where(Promotion.invitation_only.is_(False))).one()
    assert running.id in pricing.active_ids(NOW)
    voucher = db.session.scalars(select(Voucher)).one()
    assert (voucher.code, voucher.value, voucher.min_order, voucher.per_customer_limit) == (
        "OCOP50K",
        50_000,
        300_000,
        1,
    )

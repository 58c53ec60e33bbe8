"""The producer API end to end through the web app: bearer tokens (made in the
portal and by the CLI), stock on hand against what real orders hold, bulk
updates, Idempotency-Key retries, orders and shipping, the rate limit, and a
checkout racing a stock update on PostgreSQL."""

import dataclasses
import multiprocessing as mp
import re
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shop import create_app
from shop.accounts.services import create_user
from shop.catalog.models import Product, Variant
from shop.checkout.services import place_order
from shop.extensions import db
from shop.formatting import utcnow
from shop.inventory import services as inventory
from shop.inventory import tokens
from shop.inventory.models import ApiToken, IdempotencyKey
from shop.orders import services as orders
from shop.orders.models import Order, SubOrder
from shop.producers.models import Producer
from tests.support.auth import PASSWORD, sign_in
from tests.support.cache import from_cache, warm
from tests.support.factories import cart_with, delivery_to, make_producer, make_product


@dataclasses.dataclass
class Shop:
    mine: int  # producer ids
    other: int
    honey: str  # SKUs of "mine"
    pollen: str
    tea: str  # the other producer's
    token: str  # a token of "mine"
    other_token: str


@pytest.fixture
def shop(app) -> Shop:
    mine = make_producer("HTX ong Phong Thổ", province_name="Tuyên Quang")
    other = make_producer("HTX chè Tân Cương", province_name="Thái Nguyên")
    honey = make_product("Mật ong hoa rừng", producer=mine, prices=(95_000,), stock=10)
    pollen = make_product("Phấn hoa", producer=mine, prices=(150_000,), stock=4)
    tea = make_product("Trà Tân Cương", producer=other, prices=(120_000,), stock=10)
    _, raw = tokens.create_token(mine.id, "Phần mềm kho")
    _, other_raw = tokens.create_token(other.id, "Kho chè")
    return Shop(mine.id, other.id, honey.variants[0].sku, pollen.variants[0].sku, tea.variants[0].sku, raw, other_raw)


def auth(token: str, **headers) -> dict:
    return {"Authorization": f"Bearer {token}", **headers}


def variant(sku: str) -> Variant:
    db.session.rollback()
    return db.session.scalars(select(Variant).where(Variant.sku == sku)).one()


def place(items: list[tuple[str, int]], method: str = "cod") -> Order:
    cart_id = cart_with(*[(variant(sku), qty) for sku, qty in items])
    return place_order(
        cart_id=cart_id,
        user_id=None,
        delivery=delivery_to(),
        payment_method=method,
        checkout_key=secrets.token_urlsafe(16),
    )


def sub_order_of(order: Order, producer_id: int) -> int:
    return db.session.scalars(
        select(SubOrder.id).where(SubOrder.order_id == order.id, SubOrder.producer_id == producer_id)
    ).one()


# --- authentication ---------------------------------------------------------------------


def test_a_request_without_a_token_is_refused_with_a_bearer_challenge(client, shop):
    response = client.get("/api/v1/producer/products")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer ocop_wrong", "Bearer ", "Basic dXNlcjpwYXNz", "ocop_nope"])
def test_a_wrong_or_malformed_token_is_refused(client, shop, header):
    response = client.get("/api/v1/producer/products", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_a_revoked_token_stops_working_at_once(client, shop):
    assert client.get("/api/v1/producer/products", headers=auth(shop.token)).status_code == 200
    token_id = db.session.scalars(select(ApiToken.id).where(ApiToken.producer_id == shop.mine)).one()
    tokens.revoke_token(shop.mine, token_id)
    response = client.get("/api/v1/producer/products", headers=auth(shop.token))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_an_expired_token_is_refused(client, shop):
    _, raw = tokens.create_token(shop.mine, "Ngắn hạn", expires_in_days=1)
    assert client.get("/api/v1/producer/products", headers=auth(raw)).status_code == 200
    token = db.session.scalars(select(ApiToken).where(ApiToken.token_hash == tokens.hash_token(raw))).one()
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/producer/products", headers=auth(raw)).status_code == 401


def test_a_suspended_producers_tokens_are_refused(client, shop):
    db.session.get(Producer, shop.mine).status = "suspended"
    db.session.commit()
    assert client.get("/api/v1/producer/products", headers=auth(shop.token)).status_code == 401


def test_tokens_are_stored_only_as_a_hash_with_a_short_prefix(app, shop):
    row = db.session.scalars(select(ApiToken).where(ApiToken.producer_id == shop.mine)).one()
    assert shop.token.startswith("ocop_") and len(shop.token) > 40
    assert row.token_hash == tokens.hash_token(shop.token) and shop.token not in row.token_hash
    assert row.prefix == shop.token[:12]


def test_the_last_use_of_a_token_is_recorded(client, shop):
    client.get("/api/v1/producer/products", headers=auth(shop.token))
    db.session.rollback()
    row = db.session.scalars(select(ApiToken).where(ApiToken.producer_id == shop.mine)).one()
    assert row.last_used_at is not None


def test_requests_are_limited_per_token(app, shop):
    # The same database, served by an app whose limits are on (the limiter is shared,
    # so the next test's app turns them off again).
    limited = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        RATELIMIT_ENABLED=True,
        PRODUCER_API_RATE_LIMIT="3 per minute",
    )
    client = limited.test_client()
    codes = [client.get("/api/v1/producer/products", headers=auth(shop.token)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = client.get("/api/v1/producer/products", headers=auth(shop.token))
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    assert "Retry-After" in refused.headers
    # Another token has its own allowance.
    assert client.get("/api/v1/producer/products", headers=auth(shop.other_token)).status_code == 200
    with limited.app_context():
        db.session.remove()
        db.engine.dispose()


# --- products and stock --------------------------------------------------------------------


def test_the_producer_lists_its_own_products_with_on_hand_held_and_available(client, shop):
    place([(shop.honey, 3)])
    body = client.get("/api/v1/producer/products", headers=auth(shop.token)).get_json()
    assert body["total"] == 2
    variants = {v["sku"]: v for p in body["items"] for v in p["variants"]}
    assert set(variants) == {shop.honey, shop.pollen}
    assert variants[shop.honey] | {} == {
        "sku": shop.honey,
        "label": "Gói 1",
        "price": 95_000,
        "currency": "VND",
        "on_hand": 10,
        "held": 3,
        "available": 7,
    }


def test_setting_stock_on_hand_subtracts_what_unshipped_orders_hold(client, shop):
    place([(shop.honey, 2)])
    response = client.put(f"/api/v1/producer/stock/{shop.honey}", json={"quantity": 20}, headers=auth(shop.token))
    assert response.status_code == 200
    assert response.get_json() | {} == {
        "sku": shop.honey,
        "status": "applied",
        "available": 18,
        "on_hand": 20,
        "held": 2,
        "price": 95_000,
    }
    assert variant(shop.honey).stock == 18


def test_shipped_units_no_longer_count_as_held(client, shop):
    order = place([(shop.honey, 2)])
    sub_id = sub_order_of(order, shop.mine)
    orders.confirm_sub_order(sub_id)
    orders.ship_sub_order(sub_id, "GHN", "GHN123")
    response = client.put(f"/api/v1/producer/stock/{shop.honey}", json={"quantity": 8}, headers=auth(shop.token))
    assert response.get_json()["available"] == 8


def test_stock_on_hand_can_never_go_below_what_is_sold_but_not_shipped(client, shop):
    place([(shop.honey, 4)])  # cash on delivery: sold
    response = client.put(f"/api/v1/producer/stock/{shop.honey}", json={"quantity": 3}, headers=auth(shop.token))
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "sold_not_shipped"
    assert error["message"] == "đang có 4 sản phẩm đã bán chưa giao"
    assert variant(shop.honey).stock == 6  # untouched
    response = client.put(f"/api/v1/producer/stock/{shop.honey}", json={"quantity": 4}, headers=auth(shop.token))
    assert response.get_json()["available"] == 0


def test_a_card_order_awaiting_payment_keeps_its_reservation_when_stock_is_counted_lower(client, shop):
    place([(shop.honey, 3)], method="card")
    response = client.put(f"/api/v1/producer/stock/{shop.honey}", json={"quantity": 1}, headers=auth(shop.token))
    body = response.get_json()
    assert (response.status_code, body["status"], body["available"]) == (200, "applied", 0)
    assert (body["reason_code"], body["held"]) == ("short_reserved", 3)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"quantity": -1}, "negative_quantity"),
        ({"quantity": 2.5}, "bad_quantity"),
        ({"quantity": "=1+1"}, "formula"),
        ({"quantity": None}, "bad_quantity"),
        ({}, "bad_quantity"),
        ({"quantity": 5, "price": 0}, "bad_price"),
    ],
)
def test_a_bad_quantity_or_price_is_a_400_and_changes_nothing(client, shop, payload, code):
    response = client.put(f"/api/v1/producer/stock/{shop.honey}", json=payload, headers=auth(shop.token))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code
    assert variant(shop.honey).stock == 10


def test_a_body_that_is_not_json_is_a_400(client, shop):
    response = client.put(f"/api/v1/producer/stock/{shop.honey}", data="quantity=5", headers=auth(shop.token))
    assert (response.status_code, response.get_json()["error"]["code"]) == (400, "invalid_json")


def test_another_producers_sku_and_an_unknown_one_are_not_found(client, shop):
    for sku in (shop.tea, "KHONG-CO"):
        response = client.put(f"/api/v1/producer/stock/{sku}", json={"quantity": 0}, headers=auth(shop.token))
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    assert variant(shop.tea).stock == 10


def test_a_price_can_be_set_with_the_stock(client, shop):
    response = client.put(
        f"/api/v1/producer/stock/{shop.honey}", json={"quantity": 10, "price": 99_000}, headers=auth(shop.token)
    )
    assert response.get_json()["status"] == "applied"
    assert variant(shop.honey).price == 99_000
    assert db.session.scalar(select(Product.min_price).join(Variant).where(Variant.sku == shop.honey)) == 99_000


def test_an_item_already_at_that_stock_is_unchanged(client, shop):
    response = client.put(f"/api/v1/producer/stock/{shop.honey}", json={"quantity": 10}, headers=auth(shop.token))
    assert response.get_json()["status"] == "unchanged"


def test_a_sync_that_changes_nothing_leaves_the_page_cache_alone(client, shop, app):
    app.config.update(PAGE_CACHE_SECONDS=300)
    page = "/san-pham/" + db.session.scalar(select(Product.slug).join(Variant).where(Variant.sku == shop.honey))
    warm(client, page)
    client.put(f"/api/v1/producer/stock/{shop.honey}", json={"quantity": 10}, headers=auth(shop.token))
    assert from_cache(client, page)
    client.put(f"/api/v1/producer/stock/{shop.honey}", json={"quantity": 11}, headers=auth(shop.token))
    assert not from_cache(client, page)


def test_a_bulk_update_applies_every_usable_item_and_reports_the_rest(client, shop):
    place([(shop.pollen, 2)])  # sold, not shipped
    items = [
        {"sku": shop.honey, "quantity": 0},
        {"sku": shop.pollen, "quantity": 1},  # below the 2 sold
        {"sku": shop.tea, "quantity": 50},  # another producer's
        {"sku": "KHONG-CO", "quantity": 1},
        {"sku": shop.honey, "quantity": 5},  # the same SKU again
        {"sku": "X", "quantity": -2},
        "not an object",
    ]
    response = client.post("/api/v1/producer/stock", json={"items": items}, headers=auth(shop.token))
    assert response.status_code == 200
    body = response.get_json()
    assert [(r["sku"], r["status"], r.get("reason_code")) for r in body["results"]] == [
        (shop.honey, "applied", None),
        (shop.pollen, "rejected", "sold_not_shipped"),
        (shop.tea, "unknown", "other_producer"),
        ("KHONG-CO", "unknown", "unknown_sku"),
        (shop.honey, "rejected", "duplicate_sku"),
        ("X", "rejected", "negative_quantity"),
        ("", "rejected", "bad_item"),
    ]
    assert body["results"][1]["reason"] == "đang có 2 sản phẩm đã bán chưa giao"
    assert body["counts"] == {"applied": 1, "unchanged": 0, "rejected": 4, "unknown": 2}
    assert (variant(shop.honey).stock, variant(shop.pollen).stock, variant(shop.tea).stock) == (0, 2, 10)
    assert db.session.scalar(select(Product.in_stock).join(Variant).where(Variant.sku == shop.honey)) is False


def test_more_than_1000_items_are_refused_whole(client, shop):
    items = [{"sku": shop.honey, "quantity": 1}] * 1001
    response = client.post("/api/v1/producer/stock", json={"items": items}, headers=auth(shop.token))
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_many_items"
    assert variant(shop.honey).stock == 10


def test_a_bulk_update_of_1000_items_is_one_transaction(client, shop, app):
    statements = []
    from sqlalchemy import event

    def count(conn, cursor, statement, *args):
        statements.append(statement.split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        items = [{"sku": shop.honey, "quantity": 3}] + [{"sku": f"NONE-{i}", "quantity": 1} for i in range(999)]
        response = client.post("/api/v1/producer/stock", json={"items": items}, headers=auth(shop.token))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.get_json()["counts"] == {"applied": 1, "unchanged": 0, "rejected": 0, "unknown": 999}
    assert len(statements) < 30  # a handful of set-based statements, not one per item


# --- Idempotency-Key ------------------------------------------------------------------------


def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer_and_applies_nothing(client, shop):
    headers = auth(shop.token, **{"Idempotency-Key": "lan-1"})
    first = client.post("/api/v1/producer/stock", json={"items": [{"sku": shop.honey, "quantity": 7}]}, headers=headers)
    # Meanwhile a shopper buys one: a blind re-apply would give the unit back.
    place([(shop.honey, 1)])
    again = client.post("/api/v1/producer/stock", json={"items": [{"sku": shop.honey, "quantity": 7}]}, headers=headers)
    assert again.status_code == first.status_code == 200
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert variant(shop.honey).stock == 6
    assert db.session.scalar(select(func.count(IdempotencyKey.id))) == 1


def test_the_same_idempotency_key_with_a_different_request_is_refused(client, shop):
    headers = auth(shop.token, **{"Idempotency-Key": "lan-2"})
    client.put(f"/api/v1/producer/stock/{shop.honey}", json={"quantity": 7}, headers=headers)
    response = client.put(f"/api/v1/producer/stock/{shop.honey}", json={"quantity": 8}, headers=headers)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "idempotency_key_reused"
    assert variant(shop.honey).stock == 7


def test_refusals_are_replayed_too_and_keys_belong_to_one_token(client, shop):
    headers = auth(shop.token, **{"Idempotency-Key": "k"})
    first = client.put("/api/v1/producer/stock/KHONG-CO", json={"quantity": 1}, headers=headers)
    again = client.put("/api/v1/producer/stock/KHONG-CO", json={"quantity": 1}, headers=headers)
    assert first.status_code == again.status_code == 404 and again.headers["Idempotent-Replayed"] == "true"
    other = client.put(
        f"/api/v1/producer/stock/{shop.tea}",
        json={"quantity": 1},
        headers=auth(shop.other_token, **{"Idempotency-Key": "k"}),
    )
    assert other.status_code == 200 and "Idempotent-Replayed" not in other.headers


def test_an_abandoned_idempotency_claim_is_taken_over_later(app, shop):
    token_id = db.session.scalars(select(ApiToken.id).where(ApiToken.producer_id == shop.mine)).one()
    now = utcnow()
    assert inventory.claim_key(token_id, "k", "h", now).state == "new"
    assert inventory.claim_key(token_id, "k", "h", now).state == "in_progress"
    assert inventory.claim_key(token_id, "k", "h", now + timedelta(minutes=3)).state == "new"


def test_stored_answers_are_purged_after_a_day(app, shop):
    token_id = db.session.scalars(select(ApiToken.id).where(ApiToken.producer_id == shop.mine)).one()
    claim = inventory.claim_key(token_id, "old", "h", utcnow())
    inventory.finish_key(claim.key_id, 200, "{}")
    assert inventory.purge_keys(utcnow() + timedelta(hours=25)) == 1


# --- orders ------------------------------------------------------------------------------------


def test_the_producer_lists_its_sub_orders_by_status_with_lines(client, shop):
    cod = place([(shop.honey, 2), (shop.tea, 1)])
    place([(shop.pollen, 1)], method="card")  # awaiting payment: not an order to ship yet
    body = client.get("/api/v1/producer/orders", headers=auth(shop.token)).get_json()
    assert body["total"] == 1
    (sub,) = body["items"]
    assert (sub["order_number"], sub["status"], sub["payment_method"]) == (cod.number, "pending", "cod")
    assert [(line["sku"], line["quantity"]) for line in sub["lines"]] == [(shop.honey, 2)]
    assert sub["ship_to"]["recipient"] == "Nguyễn Thị Lan"
    assert client.get("/api/v1/producer/orders?status=shipped", headers=auth(shop.token)).get_json()["total"] == 0
    bad = client.get("/api/v1/producer/orders?status=lost", headers=auth(shop.token))
    assert (bad.status_code, bad.get_json()["error"]["parameter"]) == (400, "status")


def test_the_orders_list_is_paginated(client, shop):
    for _ in range(3):
        place([(shop.honey, 1)])
    body = client.get("/api/v1/producer/orders?per_page=2&page=2", headers=auth(shop.token)).get_json()
    assert (body["total"], len(body["items"]), body["page"]) == (3, 1, 2)
    assert client.get("/api/v1/producer/orders?per_page=500", headers=auth(shop.token)).status_code == 400


def test_the_producer_confirms_and_ships_a_sub_order_and_a_retry_changes_nothing(client, shop):
    sub_id = sub_order_of(place([(shop.honey, 1)]), shop.mine)
    assert client.post(f"/api/v1/producer/orders/{sub_id}/confirm", headers=auth(shop.token)).status_code == 200
    headers = auth(shop.token, **{"Idempotency-Key": "ship-1"})
    payload = {"carrier": "Viettel Post", "tracking_number": "VTP123"}
    shipped = client.post(f"/api/v1/producer/orders/{sub_id}/ship", json=payload, headers=headers)
    assert shipped.status_code == 200
    assert (shipped.get_json()["status"], shipped.get_json()["tracking_number"]) == ("shipped", "VTP123")
    again = client.post(f"/api/v1/producer/orders/{sub_id}/ship", json=payload, headers=headers)
    assert again.status_code == 200 and again.get_data() == shipped.get_data()
    without_key = client.post(f"/api/v1/producer/orders/{sub_id}/ship", json=payload, headers=auth(shop.token))
    assert (without_key.status_code, without_key.get_json()["error"]["code"]) == (409, "bad_state")


def test_shipping_needs_a_carrier_and_tracking_number(client, shop):
    sub_id = sub_order_of(place([(shop.honey, 1)]), shop.mine)
    orders.confirm_sub_order(sub_id)
    response = client.post(f"/api/v1/producer/orders/{sub_id}/ship", json={"carrier": "GHN"}, headers=auth(shop.token))
    assert (response.status_code, response.get_json()["error"]["code"]) == (400, "missing_tracking")


def test_another_producers_sub_order_is_not_found(client, shop):
    order = place([(shop.honey, 1), (shop.tea, 1)])
    theirs = sub_order_of(order, shop.other)
    orders.confirm_sub_order(theirs)
    payload = {"carrier": "GHN", "tracking_number": "X1"}
    response = client.post(f"/api/v1/producer/orders/{theirs}/ship", json=payload, headers=auth(shop.token))
    assert response.status_code == 404
    assert client.post(f"/api/v1/producer/orders/{theirs}/confirm", headers=auth(shop.token)).status_code == 404
    assert db.session.get(SubOrder, theirs).status == "confirmed"


# --- documentation, CLI, portal ------------------------------------------------------------------


def test_openapi_documents_every_producer_endpoint_with_the_bearer_scheme(client, app):
    doc = client.get("/api/v1/openapi.json").get_json()
    rules = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r.rule.removeprefix("/api/v1"))
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/api/v1")
    }
    assert rules == set(doc["paths"])
    assert doc["components"]["securitySchemes"]["producerToken"] == doc["components"]["securitySchemes"][
        "producerToken"
    ] | {"type": "http", "scheme": "bearer"}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if path.startswith("/producer/"):
                assert op["security"] == [{"producerToken": []}]
                assert "401" in op["responses"]
                if method in ("post", "put"):
                    assert "Idempotency-Key" in {p["name"] for p in op["parameters"]}
    assert doc["paths"]["/producer/stock"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/StockBatch"
    }
    assert "StockBatchResult" in doc["components"]["schemas"]


def test_the_producer_token_command_prints_a_token_that_works(runner, client, shop):
    slug = db.session.get(Producer, shop.mine).slug
    result = runner.invoke(args=["producer-token", slug, "--name", "Máy POS"])
    assert result.exit_code == 0, result.output
    raw = result.output.strip().splitlines()[-1]
    assert client.get("/api/v1/producer/products", headers=auth(raw)).status_code == 200
    assert runner.invoke(args=["producer-token", "khong-co"]).exit_code != 0


def test_an_owner_makes_a_token_in_the_portal_sees_it_once_and_revokes_it(client, shop):
    slug = db.session.get(Producer, shop.mine).slug
    create_user("ong@example.vn", "producer", PASSWORD, producer_slug=slug, name="Chị Hoa")
    sign_in(client, "ong@example.vn")
    made = client.post("/producer/api", data={"name": "Phần mềm KiotViet", "expires": "90"})
    assert made.status_code == 201
    page = made.get_data(as_text=True)
    raw = re.search(r">(ocop_[^<]+)</textarea>", page).group(1)
    assert "chỉ hiện một lần" in page
    assert client.get("/api/v1/producer/products", headers=auth(raw)).status_code == 200
    listing = client.get("/producer/api").get_data(as_text=True)
    assert raw not in listing and raw[:12] in listing and "Phần mềm KiotViet" in listing
    token_id = db.session.scalars(select(ApiToken.id).where(ApiToken.token_hash == tokens.hash_token(raw))).one()
    assert client.get(f"/producer/api/{token_id}/thu-hoi").status_code == 405  # POST only
    assert client.post(f"/producer/api/{token_id}/thu-hoi").status_code == 302
    assert client.get("/api/v1/producer/products", headers=auth(raw)).status_code == 401


def test_staff_cannot_manage_tokens_and_nobody_revokes_another_producers(client, shop):
    slug = db.session.get(Producer, shop.mine).slug
    create_user("ong@example.vn", "producer", PASSWORD, producer_slug=slug)
    sign_in(client, "ong@example.vn")
    theirs = db.session.scalars(select(ApiToken.id).where(ApiToken.producer_id == shop.other)).one()
    assert client.post(f"/producer/api/{theirs}/thu-hoi").status_code == 404
    assert client.post("/producer/api", data={"name": ""}).status_code == 400


# --- stock updates against concurrent order changes -------------------------------------------------


def test_a_stock_count_waits_for_a_cancellation_in_progress_and_counts_its_units_back(app, shop):
    """A cancellation has locked the variant and released its units but not committed
    yet: the count must wait for it, then see nothing held. Reading what is held
    before taking the lock would subtract the two cancelled units for ever."""
    import threading
    import time

    from sqlalchemy import text

    sub_id = sub_order_of(place([(shop.honey, 2)]), shop.mine)
    variant_id = variant(shop.honey).id
    db.session.rollback()
    locked, failure, engine = threading.Event(), [], db.engine

    def cancel_slowly():
        try:
            with engine.connect() as conn:
                conn.execute(text("UPDATE variant SET stock = stock + 2 WHERE id = :id"), {"id": variant_id})
                conn.execute(text("UPDATE sub_order SET status = 'cancelled' WHERE id = :id"), {"id": sub_id})
                locked.set()
                time.sleep(1.0)
                conn.commit()
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            failure.append(exc)
            locked.set()

    worker = threading.Thread(target=cancel_slowly)
    worker.start()
    assert locked.wait(10)
    started = time.monotonic()
    result = inventory.set_stock(shop.mine, shop.honey, 10)
    waited = time.monotonic() - started
    worker.join(10)
    assert not failure
    assert waited > 0.5  # it waited for the cancellation's commit
    assert (result.held, result.available) == (0, 10)
    assert variant(shop.honey).stock == 10


# --- a checkout racing a stock update (PostgreSQL) ------------------------------------------------

BUYERS = 8
ON_HAND = 10


def buyer(url: str, variant_id: int, delivery: dict, start, results) -> None:
    from shop.cart.services import OutOfStock, add_item, get_cart
    from shop.checkout.services import Delivery

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        token, _ = add_item(None, None, variant_id, 1)
        cart_id = get_cart(None, token).id
        start.wait(timeout=60)
        try:
            place_order(
                cart_id=cart_id,
                user_id=None,
                delivery=Delivery(**delivery),
                payment_method="cod",
                checkout_key=secrets.token_urlsafe(16),
            )
            results.put("ordered")
        except OutOfStock:
            results.put("sold_out")


def counter(url: str, producer_id: int, sku: str, start, results) -> None:
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        start.wait(timeout=60)
        statuses = [
            inventory.update_stock(producer_id, [{"sku": sku, "quantity": ON_HAND}])[0].status for _ in range(25)
        ]
        results.put(statuses)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_stock_count_racing_checkouts_never_sells_a_unit_twice(app, backend):
    producer = make_producer("HTX Ong Mật")
    product = make_product("Mật ong bạc hà", producer=producer, prices=(200_000,), stock=ON_HAND)
    variant_id, sku, producer_id = product.variants[0].id, product.variants[0].sku, producer.id
    delivery = delivery_to().__dict__
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()

    ctx = mp.get_context("spawn")
    start, results = ctx.Barrier(BUYERS + 1), ctx.Queue()
    procs = [ctx.Process(target=buyer, args=(url, variant_id, delivery, start, results)) for _ in range(BUYERS)]
    procs.append(ctx.Process(target=counter, args=(url, producer_id, sku, start, results)))
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)

    assert sum(1 for o in outcomes if o == "ordered") == BUYERS  # 8 buyers, 10 on hand
    held = inventory.holds_of([variant_id]).get(variant_id, inventory.Holds()).held
    assert held == BUYERS
    # Whatever the interleaving, what is on the shelf is what was counted.
    assert db.session.get(Variant, variant_id).stock + held == ON_HAND
    assert db.session.scalar(select(func.count(Order.id))) == BUYERS

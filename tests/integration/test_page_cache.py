"""One cached page for everyone, purged by what changed, on a real redis-server."""

import gzip
import secrets
import time

import pytest
import redis
from sqlalchemy import select, update

from shop.accounts.services import create_user
from shop.cache import make_shared_cache
from shop.catalog.models import Product, Variant
from shop.catalog.services import commit_catalog_change
from shop.checkout.services import place_order
from shop.extensions import db
from tests.support.cache import from_cache, warm
from tests.support.factories import cart_with, delivery_to, make_producer, make_product

PASSWORD = "mat-khau-dai-12"


@pytest.fixture
def shop(cached):
    north = make_producer("HTX Mật ong Bắc Ninh", province_name="Bắc Ninh")
    south = make_producer("HTX Dừa Vĩnh Long", province_name="Vĩnh Long")
    honey = make_product("Mật ong hoa nhãn", producer=north, stars=4, stock=10)
    rice = make_product("Bánh đa Kế", producer=north, stock=3, category_slug="che-bien-tu-gao-ngu-coc")
    candy = make_product("Kẹo dừa sáp", producer=south, stock=8, category_slug="do-uong-khong-con-khac")
    db.session.commit()
    return {"honey": honey.id, "rice": rice.id, "candy": candy.id, "north": north.id, "south": south.id}


def slug(product_id: int) -> str:
    return db.session.get(Product, product_id).slug


def sign_in(client, email: str, name: str) -> None:
    create_user(email, "shopper", PASSWORD, name=name)
    assert client.post("/tai-khoan/dang-nhap", data={"email": email, "password": PASSWORD}).status_code in (302, 303)


def add_to_cart(client, product_id: int, quantity: int = 1):
    variant_id = db.session.get(Product, product_id).variants[0].id
    return client.post("/gio-hang/them", data={"variant_id": variant_id, "quantity": quantity, "next": "/"})


# --- one page for everyone ----------------------------------------------------------------------


@pytest.mark.parametrize("warmed_by", ["anonymous", "lan", "minh"])
def test_two_shoppers_never_see_each_others_cart_name_or_messages(cached, shop, warmed_by):
    lan, minh, anonymous = cached.test_client(), cached.test_client(), cached.test_client()
    sign_in(lan, "lan@example.vn", "Nguyễn Thị Lan")
    sign_in(minh, "minh@example.vn", "Trần Văn Minh")
    add_to_cart(lan, shop["honey"], 2)
    add_to_cart(minh, shop["rice"], 1)
    for client in (lan, minh):
        client.get("/gio-hang")  # reads the "added to cart" message
    pages = ["/", "/san-pham", "/san-pham?q=mat+ong", f"/san-pham/{slug(shop['honey'])}", "/nha-san-xuat"]
    first = {"anonymous": anonymous, "lan": lan, "minh": minh}[warmed_by]
    for page in pages:
        first.get(page)

    for page in pages:
        bodies = {who: c.get(page) for who, c in (("anonymous", anonymous), ("lan", lan), ("minh", minh))}
        assert all(r.headers.get("X-Cache") == "HIT" for r in bodies.values()), page
        html = {r.get_data(as_text=True) for r in bodies.values()}
        assert len(html) == 1, f"{page} differs between shoppers"
        (text,) = html
        for private in ("Nguyễn Thị Lan", "Trần Văn Minh", "lan@example.vn", "minh@example.vn", "csrf_token"):
            assert private not in text, (page, private)
        assert 'data-personal="cart" hidden' in text

    personal = {who: c.get("/ca-nhan?next=/san-pham").get_json() for who, c in (("lan", lan), ("minh", minh))}
    assert personal["lan"]["cart"] == 2 and "Nguyễn Thị Lan" in personal["lan"]["account"]
    assert personal["minh"]["cart"] == 1 and "Trần Văn Minh" in personal["minh"]["account"]
    assert "Lan" not in personal["minh"]["account"] and "Minh" not in personal["lan"]["account"]
    nobody = anonymous.get("/ca-nhan").get_json()
    assert nobody["cart"] == 0 and not nobody["signed_in"] and "Đăng nhập" in nobody["account"]
    assert lan.get("/ca-nhan").headers["Cache-Control"] == "private, no-store"


def test_a_message_is_shown_to_its_shopper_only_and_once(cached, shop):
    lan, other = cached.test_client(), cached.test_client()
    page = f"/san-pham/{slug(shop['honey'])}"
    warm(other, page)

    added = add_to_cart(lan, shop["honey"])
    assert added.status_code == 303 and "ocop_msg=1" in " ".join(added.headers.getlist("Set-Cookie"))
    shown = lan.get(page)
    assert "Đã thêm vào giỏ hàng" in shown.get_data(as_text=True) and "X-Cache" not in shown.headers
    assert shown.headers["Cache-Control"] == "private, no-store"
    assert "Đã thêm vào giỏ hàng" not in other.get(page).get_data(as_text=True)
    again = lan.get(page)
    assert again.headers.get("X-Cache") == "HIT" and "Đã thêm vào giỏ hàng" not in again.get_data(as_text=True)


def test_cart_checkout_and_account_pages_are_never_cached(cached, shop):
    client = cached.test_client()
    sign_in(client, "lan@example.vn", "Nguyễn Thị Lan")
    add_to_cart(client, shop["honey"])
    for page in ("/gio-hang", "/tai-khoan", "/don-hang", "/thanh-toan"):
        first, second = client.get(page), client.get(page)
        assert "X-Cache" not in second.headers, page
        assert "no-store" in first.headers["Cache-Control"], page


# --- purging what changed --------------------------------------------------------------------------


def test_a_stock_change_purges_the_product_page_but_not_the_listings(cached, shop):
    client = cached.test_client()
    honey_page, listing = f"/san-pham/{slug(shop['honey'])}", "/san-pham"
    for page in (honey_page, listing, "/"):
        warm(client, page)

    db.session.execute(update(Variant).where(Variant.product_id == shop["honey"]).values(stock=9))
    commit_catalog_change([shop["honey"]])

    assert not from_cache(client, honey_page)
    assert from_cache(client, listing) and from_cache(client, "/")


def test_selling_out_purges_the_listings_that_count_the_product_only(cached, shop):
    client = cached.test_client()
    same_group = "/san-pham?group=thuc-pham"
    elsewhere = "/san-pham?group=do-uong&province=vinh-long"  # neither shows nor counts Bắc Ninh's rice
    unrelated = f"/san-pham/{slug(shop['candy'])}"
    for page in ("/san-pham", same_group, elsewhere, unrelated):
        warm(client, page)

    db.session.execute(update(Variant).where(Variant.product_id == shop["rice"]).values(stock=0))
    commit_catalog_change([shop["rice"]])

    assert not from_cache(client, "/san-pham") and not from_cache(client, same_group)
    assert from_cache(client, elsewhere) and from_cache(client, unrelated)
    assert "Hết hàng" in client.get("/san-pham").get_data(as_text=True)


def test_placing_an_order_does_not_empty_the_cache(cached, shop):
    client = cached.test_client()
    pages = ["/", "/san-pham", "/san-pham?q=keo", f"/san-pham/{slug(shop['candy'])}", f"/san-pham/{slug(shop['rice'])}"]
    for page in pages:
        warm(client, page)

    honey = db.session.get(Product, shop["honey"])
    place_order(
        cart_id=cart_with((honey.variants[0], 1)),
        user_id=None,
        delivery=delivery_to(),
        payment_method="cod",
        checkout_key=secrets.token_urlsafe(16),
    )

    assert all(from_cache(client, page) for page in pages)
    assert not from_cache(client, f"/san-pham/{slug(shop['honey'])}")


def test_a_new_price_purges_the_cards_that_show_it(cached, shop):
    client = cached.test_client()
    candy_listing = "/san-pham?q=keo+dua"
    honey_listing = "/san-pham?q=mat+ong&province=bac-ninh"
    other_province = "/san-pham?group=do-uong&province=vinh-long"
    for page in (candy_listing, honey_listing, other_province):
        warm(client, page)

    db.session.scalars(select(Variant).where(Variant.product_id == shop["honey"])).one().price = 123_000
    commit_catalog_change([shop["honey"]])

    assert "123.000" in client.get(honey_listing).get_data(as_text=True)
    assert from_cache(client, other_province)


def test_renaming_a_producer_purges_the_pages_showing_it(cached, shop):
    client = cached.test_client()
    honey_page, candy_page = f"/san-pham/{slug(shop['honey'])}", f"/san-pham/{slug(shop['candy'])}"
    for page in (honey_page, candy_page):
        warm(client, page)

    from shop.producers.models import Producer

    db.session.get(Producer, shop["north"]).name = "HTX Ong Mật Thuận Thành"
    db.session.commit()

    assert "HTX Ong Mật Thuận Thành" in client.get(honey_page).get_data(as_text=True)
    assert from_cache(client, candy_page)


def test_a_product_published_later_replaces_its_cached_not_found_page(cached, shop):
    client = cached.test_client()
    draft = make_product("Trà shan tuyết", producer=db.session.get(Product, shop["honey"]).producer, status="draft")
    db.session.commit()
    page = f"/san-pham/{draft.slug}"
    assert client.get(page).status_code == 404 and client.get(page).headers.get("X-Cache") == "HIT"

    draft.status = "published"
    commit_catalog_change([draft.id])

    assert client.get(page).status_code == 200


def test_a_change_committed_during_a_render_is_not_kept(cached, shop, monkeypatch):
    """A page that read the old stock while the change committed must not stay cached."""
    client = cached.test_client()
    page = f"/san-pham/{slug(shop['rice'])}"
    from shop.catalog import queries

    real = queries.get_product

    def slow_read(slug_):
        product = real(slug_)
        # Another request commits new stock after this one read the product.
        db.session.execute(update(Variant).where(Variant.product_id == shop["rice"]).values(stock=0))
        commit_catalog_change([shop["rice"]])
        monkeypatch.setattr(queries, "get_product", real)
        return product

    monkeypatch.setattr(queries, "get_product", slow_read)
    client.get(page)

    assert not from_cache(client, page)


# --- HTTP caching --------------------------------------------------------------------------------


def test_cached_pages_carry_validators_and_answer_304(cached, shop):
    client = cached.test_client()
    first = client.get("/san-pham")
    etag = first.headers["ETag"]
    assert first.headers["Vary"] == "Accept-Encoding, Cookie"
    assert first.headers["Cache-Control"].startswith("public, max-age=0, must-revalidate, s-maxage=")
    assert "Set-Cookie" not in first.headers

    again = client.get("/san-pham", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag


def test_cached_pages_are_sent_gzipped_to_browsers_that_accept_it(cached, shop):
    client = cached.test_client()
    plain = client.get("/san-pham").data
    for _ in range(2):  # rendered, then from the cache
        zipped = client.get("/san-pham", headers={"Accept-Encoding": "gzip, br"})
        assert zipped.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(zipped.data) == plain


def test_a_visitor_with_a_long_session_gets_no_cookie_with_a_cached_page(cached, shop):
    client = cached.test_client()
    add_to_cart(client, shop["honey"])
    client.get("/gio-hang")
    for _ in range(2):
        response = client.get("/san-pham")
        assert "Set-Cookie" not in response.headers


def test_static_files_have_fingerprinted_urls_kept_a_year(cached, shop):
    client = cached.test_client()
    html = client.get("/").get_data(as_text=True)
    (css,) = [part.split('"')[0] for part in html.split('href="') if part.startswith("/static/css/site.css?v=")]
    response = client.get(css, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"] and "immutable" in response.headers["Cache-Control"]
    assert response.headers["Content-Encoding"] == "gzip"


def test_personal_json_and_pages_are_compressed(cached, shop):
    client = cached.test_client()
    sign_in(client, "lan@example.vn", "Nguyễn Thị Lan")
    response = client.get("/tai-khoan", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip" and b"Nguy" in gzip.decompress(response.data)


# --- a cache that is down ------------------------------------------------------------------------


def test_with_the_cache_down_pages_render_and_nothing_personal_leaks(cached, shop, redis_server):
    lan, other = cached.test_client(), cached.test_client()
    sign_in(lan, "lan@example.vn", "Nguyễn Thị Lan")
    lan.get("/tai-khoan")  # reads the welcome message: her next pages are the shared ones
    redis_server.stop()
    try:
        for page in ("/", "/san-pham", f"/san-pham/{slug(shop['honey'])}"):
            response = lan.get(page)
            assert response.status_code == 200 and "Nguyễn Thị Lan" not in response.get_data(as_text=True)
            assert other.get(page).status_code == 200
        assert "Nguyễn Thị Lan" in lan.get("/ca-nhan").get_json()["account"]
    finally:
        redis_server.start()


@pytest.mark.parametrize("policy", ["noeviction", "volatile-lru", "allkeys-lru"])
def test_a_full_cache_only_costs_a_render_and_never_serves_a_stale_page(app, shop, policy):
    """noeviction refuses writes when full (a purge then deletes the tags' stamps, which
    it may); volatile-lru evicts pages but keeps the stamps (no expiry); allkeys-lru may
    evict a stamp too, and an entry whose stamp is gone is a miss."""
    from tests.support.servers import RedisServer

    small = RedisServer("--maxmemory", "2mb", "--maxmemory-policy", policy).start()
    try:
        app.config.update(PAGE_CACHE_SECONDS=300, VALUE_CACHE_SECONDS=300, REDIS_URL=small.url)
        app.extensions["shared_cache"] = make_shared_cache(app.config)
        client = app.test_client()
        page = f"/san-pham/{slug(shop['honey'])}"
        warm(client, page)
        if policy == "noeviction":  # over the limit now: every write is refused, reads still answer
            redis.Redis.from_url(small.url).config_set("maxmemory", "100kb")
        for n in range(400):  # ~15 kB each: far more than 2 MB
            assert client.get(f"/san-pham?n={n}").status_code == 200
        time.sleep(2.1)
        assert policy != "noeviction" or from_cache(client, page)  # still there, and the store is full

        db.session.execute(update(Variant).where(Variant.product_id == shop["honey"]).values(stock=0))
        commit_catalog_change([shop["honey"]])
        if policy == "noeviction":  # room again: what was stored before must not come back stale
            redis.Redis.from_url(small.url).config_set("maxmemory", "0")
        time.sleep(2.1)  # past the pause a failing store gets

        for _ in range(2):
            response = client.get(page)
            assert response.status_code == 200 and '<span class="stock-out">' in response.get_data(as_text=True)
    finally:
        small.stop()


def test_producer_staff_land_in_the_portal_and_see_their_new_orders_in_the_header(cached, shop):
    from shop.accounts.services import create_user as make_staff
    from shop.producers.models import Producer

    producer = db.session.get(Producer, shop["north"])
    make_staff("chu@htx.vn", "producer", PASSWORD, producer_slug=producer.slug, name="Chủ HTX")
    honey = db.session.get(Product, shop["honey"])
    place_order(
        cart_id=cart_with((honey.variants[0], 1)),
        user_id=None,
        delivery=delivery_to(),
        payment_method="cod",
        checkout_key=secrets.token_urlsafe(16),
    )
    staff = cached.test_client()
    landed = staff.post("/tai-khoan/dang-nhap", data={"email": "chu@htx.vn", "password": PASSWORD})
    assert landed.headers["Location"].endswith("/producer")
    staff.get("/producer")  # reads the welcome message

    badge = staff.get("/ca-nhan?next=/").get_json()["account"]
    assert 'class="orders-badge"' in badge and "<b>1</b>" in badge
    shopper = cached.test_client()
    sign_in(shopper, "lan@example.vn", "Nguyễn Thị Lan")
    assert "orders-badge" not in shopper.get("/ca-nhan").get_json()["account"]


def test_links_with_ad_and_social_click_ids_share_the_page_and_do_not_show_them(cached, shop):
    """Every click from an ad, a Facebook or Zalo share or a newsletter carries its own
    click id: keyed with it, each click would be a page nobody asked for."""
    client = cached.test_client()
    first = client.get("/san-pham?q=mat+ong&utm_source=zalo&fbclid=Click1&UTM_Campaign=tuan-le")
    body = first.get_data(as_text=True)
    assert first.status_code == 200 and "Mật ong hoa nhãn" in body
    assert "Click1" not in body and "zalo" not in body and "tuan-le" not in body
    again = client.get("/san-pham?gclid=Click2&q=mat+ong&zarsrc=30")
    assert again.headers.get("X-Cache") == "HIT" and again.get_data(as_text=True) == body
    plain = client.get("/san-pham?q=mat+ong")
    assert plain.headers.get("X-Cache") == "HIT"
    # A parameter the page reads still makes another page; an unknown one too (kept as sent).
    other = client.get(f"/san-pham/{slug(shop['honey'])}?utm_medium=cpc&variant=2")
    assert other.status_code == 200 and "X-Cache" not in other.headers
    assert client.get(f"/san-pham/{slug(shop['honey'])}?variant=2").headers.get("X-Cache") == "HIT"

"""The same review page submitted five times at once (a shopper tapping "Đặt
hàng" again and again on a slow phone): one order, and every request answers
with the way to that order, never an error. Real concurrency: five threads
posting through the real app, on SQLite and on PostgreSQL."""

import threading

import pytest
from sqlalchemy import func, select

from shop.catalog.models import Variant
from shop.extensions import db
from shop.orders.models import Order
from tests.support.checkout import review_form
from tests.support.factories import make_product

SUBMITS = 5


def _clone(app, client):
    """Another browser tab: a client with the same cookies (session, cart)."""
    other = app.test_client()
    for cookie in client._cookies.values():  # noqa: SLF001 - werkzeug has no public way to list them
        other.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    return other


@pytest.mark.parametrize("method", ["cod", "card"])
def test_five_submits_of_one_review_page_at_once_place_one_order(app, client, method):
    product = make_product("Mật ong Hoa Rừng", prices=(180_000,), stock=10)
    variant_id = product.variants[0].id
    form = {**review_form(client, variant_id), "payment_method": method}
    db.session.remove()

    tabs = [_clone(app, client) for _ in range(SUBMITS)]
    start = threading.Barrier(SUBMITS)
    answers: list = [None] * SUBMITS

    def submit(i: int) -> None:
        start.wait(30)
        try:
            response = tabs[i].post("/thanh-toan/dat-hang", data=form)
            answers[i] = (response.status_code, response.headers.get("Location", ""))
        except BaseException as exc:  # noqa: BLE001 - shown by the assertion below
            answers[i] = (repr(exc), "")

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(SUBMITS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    numbers = list(db.session.scalars(select(Order.number)))
    assert len(numbers) == 1, answers
    number = numbers[0]
    # Everyone is sent to the one order: its page (COD) or its payment page (card).
    target = f"/don-hang/{number}/thanh-toan" if method == "card" else f"/don-hang/{number}"
    assert all(status == 303 and target in location for status, location in answers), answers
    assert db.session.scalar(select(func.count(Order.id))) == 1
    assert db.session.get(Variant, variant_id).stock == 10 - 2


def test_a_submit_whose_cart_was_emptied_by_its_twin_meanwhile_gets_the_twins_order(app, client, monkeypatch):
    """The window the five-at-once test can only hit by chance: this submit found no
    order for its key, then its twin committed the order (emptying the cart) before
    this one read the cart."""
    from shop.checkout import services

    product = make_product("Mật ong Hoa Rừng", prices=(180_000,), stock=10)
    form = {**review_form(client, product.variants[0].id), "payment_method": "cod"}
    real_view_cart = services.view_cart
    twins: list[str] = []

    def twin_commits_first(*args, **kwargs):
        monkeypatch.setattr(services, "view_cart", real_view_cart)
        twin = _clone(app, client).post("/thanh-toan/dat-hang", data=form)
        twins.append(twin.headers["Location"])
        return real_view_cart(*args, **kwargs)

    monkeypatch.setattr(services, "view_cart", twin_commits_first)
    answer = client.post("/thanh-toan/dat-hang", data=form)
    (number,) = db.session.scalars(select(Order.number))
    assert answer.status_code == 303 and f"/don-hang/{number}" in answer.headers["Location"]
    assert twins and f"/don-hang/{number}" in twins[0]


def test_an_order_number_already_taken_is_drawn_again_and_the_order_placed_once(app, client, monkeypatch):
    """Order numbers are random (five characters of 32 a day): a clash with an
    existing order is drawn again, not a 500 that drops the shopper's order."""
    from shop.checkout import services

    product = make_product("Trà Shan Tuyết", prices=(120_000,), stock=10)
    first = client.post("/thanh-toan/dat-hang", data={**review_form(client, product.variants[0].id, 1)})
    assert first.status_code == 303
    (taken,) = db.session.scalars(select(Order.number))
    shopper = app.test_client()
    form = {**review_form(shopper, product.variants[0].id, 2), "payment_method": "cod"}
    real_number = services.new_order_number
    drawn: list[str] = []

    def first_draw_clashes(now=None):
        drawn.append(taken if not drawn else real_number(now))
        return drawn[-1]

    monkeypatch.setattr(services, "new_order_number", first_draw_clashes)
    answer = shopper.post("/thanh-toan/dat-hang", data=form)
    assert answer.status_code == 303 and "/don-hang/" in answer.headers["Location"]
    db.session.expire_all()
    numbers = db.session.scalars(select(Order.number).order_by(Order.id)).all()
    assert len(numbers) == 2 and numbers[0] == taken and numbers[1] == drawn[1] != taken
    assert len(drawn) == 2
    assert db.session.get(Variant, product.variants[0].id).stock == 10 - 1 - 2

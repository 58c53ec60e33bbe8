"""Faults on the real stack (see conftest.py): nothing lost, nothing twice, no 500."""

import os
import secrets
import signal
import threading
import time
from collections import Counter

import psutil
import requests
from sqlalchemy import func, select

from shop.extensions import db
from shop.orders.models import Order
from tests.fault.conftest import MAIL_TIMEOUT
from tests.fault.helpers import Shopper, wait_until

PRODUCER = "don@ongphongtho.example.vn"


def address(tag: str) -> str:
    return f"{tag}-{secrets.token_hex(3)}@example.vn"


def settle(seconds: float = 6.0) -> None:
    """Time for a duplicate to show up: several sweeper rounds (1 s each)."""
    time.sleep(seconds)


def orders_of(email: str) -> int:
    db.session.remove()
    return db.session.scalar(select(func.count(Order.id)).where(Order.email == email))


def test_redis_stopped_and_restarted_during_checkout(stack):
    shoppers = [Shopper(stack, address(f"redis{i}")) for i in range(3)]
    shoppers[0].checkout()  # before the outage
    # Its e-mails are sent before Redis stops: a send task still running when the broker
    # connection drops is cancelled, and its claimed row waits out the claim (300 s: it
    # may have been sent) before the sweeper takes it — tests/fault's worker tests cover
    # that. This test is about the orders placed while Redis is down.
    wait_until(lambda: stack.smtp.to(shoppers[0].email), timeout=60)
    forms = [shopper.review() for shopper in shoppers[1:]]
    stack.redis.stop()
    try:
        for shopper, form in zip(shoppers[1:], forms, strict=True):
            answer = shopper.place(form)
            assert answer.status_code == 303 and "/don-hang/" in answer.headers["Location"]
        assert all(orders_of(s.email) == 1 for s in shoppers)
        time.sleep(3)  # the worker and beat are retrying meanwhile
    finally:
        stack.redis.start()  # same port
    # Each shopper gets "đã nhận đơn hàng" once, and the producer one "Đơn mới" per order.
    wait_until(lambda: all(stack.smtp.to(s.email) for s in shoppers), timeout=90)
    settle()
    assert [len(stack.smtp.to(s.email)) for s in shoppers] == [1, 1, 1]
    assert all(stack.procs[name].poll() is None for name in ("worker", "beat")), "worker and beat survive"
    subjects = Counter(str(m["Subject"]) for m in stack.smtp.to(PRODUCER))
    numbers = [stack.outbox(s.email)[0].subject.rsplit(" ", 1)[-1] for s in shoppers]
    assert all(subjects[f"Đơn mới {n} trên Chợ OCOP"] == 1 for n in numbers), subjects


def test_a_worker_killed_mid_send_leaves_at_most_two_copies_with_one_message_id(stack):
    shopper = Shopper(stack, address("kill"))
    stack.smtp.keep_abandoned, stack.smtp.hold_first_seconds = True, 8
    stack.smtp.holding.clear()
    try:
        shopper.checkout()
        assert stack.smtp.holding.wait(60), "the worker never started sending"
        for child in psutil.Process(stack.procs["worker"].pid).children(recursive=True):
            os.kill(child.pid, signal.SIGKILL)  # dies while the server holds its message
        wait_until(lambda: len(stack.smtp.to(shopper.email)) >= 1 and not stack.outbox(shopper.email)[0].claimed_at, 60)
        wait_until(lambda: all(row.sent_at for row in stack.outbox(shopper.email)), timeout=90)
        settle()
    finally:
        stack.smtp.keep_abandoned, stack.smtp.hold_first_seconds = False, 0
    copies = stack.smtp.to(shopper.email)
    assert 1 <= len(copies) <= 2
    assert len({str(m["Message-ID"]) for m in copies}) == 1
    (row,) = stack.outbox(shopper.email)
    assert row.sent_at is not None and row.failed_at is None


def test_slow_smtp_gets_at_most_two_copies_then_the_email_is_marked_failed(stack):
    shopper = Shopper(stack, address("slow"))
    stack.smtp.answer_after_seconds = MAIL_TIMEOUT + 1.5  # keeps the message, answers after the timeout
    try:
        shopper.checkout()
        rows = wait_until(
            lambda: [r for r in stack.outbox(shopper.email) if r.failed_at is not None], timeout=90, every=0.5
        )
        assert rows, "the row is given up on"
        settle(4)
    finally:
        stack.smtp.answer_after_seconds = 0
    copies = stack.smtp.to(shopper.email)
    assert len(copies) == 2  # before: 6 in 3 minutes and counting
    assert len({str(m["Message-ID"]) for m in copies}) == 1
    (row,) = stack.outbox(shopper.email)
    assert row.sent_at is None and row.attempts == 2 and row.maybe_sent == 2


def test_five_submits_at_once_give_one_order_and_no_error(stack):
    shopper = Shopper(stack, address("double"))
    form = shopper.review()
    start, answers = threading.Barrier(5), []

    def tap():
        tab = requests.Session()
        tab.headers.update(shopper.http.headers)
        tab.cookies.update(shopper.http.cookies)
        start.wait(30)
        answer = tab.post(shopper.url("/thanh-toan/dat-hang"), data=form, allow_redirects=False, timeout=60)
        answers.append((answer.status_code, answer.headers.get("Location", "")))

    threads = [threading.Thread(target=tap) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert orders_of(shopper.email) == 1
    assert len(answers) == 5 and all(status == 303 and "/don-hang/" in where for status, where in answers), answers
    assert len({where.split("?")[0] for _, where in answers}) == 1


def test_postgresql_restarted_under_load_answers_503_meanwhile_and_never_500(stack):
    paths = ["/", "/san-pham", "/san-pham?q=mat+ong", "/api/v1/products"]
    seen: list[tuple[float, int]] = []
    stop = threading.Event()

    def load(offset: int):
        http = requests.Session()
        i = offset
        while not stop.is_set():
            try:
                status = http.get(stack.web.url + paths[i % len(paths)], timeout=30).status_code
            except requests.RequestException:
                status = -1  # no answer at all
            seen.append((time.monotonic(), status))
            i += 1
            time.sleep(0.05)

    workers = [threading.Thread(target=load, args=(n,)) for n in range(3)]
    for w in workers:
        w.start()
    try:
        time.sleep(3)
        went_down = time.monotonic()
        stack.pg.restart(down_seconds=3)
        came_back = time.monotonic()
        time.sleep(8)
    finally:
        stop.set()
        for w in workers:
            w.join(30)
    before = [s for t, s in seen if t < went_down]
    during = [s for t, s in seen if went_down <= t <= came_back + 2]
    after = [s for t, s in seen if t > came_back + 2]
    assert before and after and during
    assert set(before) == {200}
    assert set(during) <= {200, 503}, Counter(during)  # a clear 503 while it is away, never a 500
    assert 503 in during  # the outage was seen
    assert set(after) == {200}, Counter(after)  # pool_pre_ping: back at once, no stale connection errors
    # Something to buy still works after the restart.
    Shopper(stack, address("after-pg")).checkout()

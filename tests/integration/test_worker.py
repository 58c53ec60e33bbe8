"""The notification outbox with a real Redis, a real Celery worker (not eager
mode) and a real SMTP server: one e-mail per recipient, whatever fails."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from flask_migrate import upgrade

from shop import create_app
from shop.accounts.models import ProducerMember, User
from shop.checkout.services import place_order
from shop.extensions import db
from shop.reference import load_reference_data
from tests.support.factories import cart_with, delivery_to, make_producer, make_product
from tests.support.mail import LocalSmtpServer
from tests.support.servers import ROOT, RedisServer


class Stack:
    """An app, its own Redis, an SMTP server and worker/beat processes sharing one SQLite file."""

    def __init__(self, base: Path, smtp: LocalSmtpServer):
        self.base = base
        self.redis = RedisServer().start()
        self.smtp = smtp
        self.env = {
            **os.environ,
            "SHOP_INSTANCE_DIR": str(base),
            "DATABASE_URL": f"sqlite:///{base / 'shop.db'}",
            "REDIS_URL": self.redis.url,
            "SECRET_KEY": "worker-test",
            "MAIL_SERVER": smtp.host,
            "MAIL_PORT": str(smtp.port),
            "MAIL_USE_TLS": "0",
            "OUTBOX_SWEEP_SECONDS": "1",
            "OUTBOX_SWEEP_MIN_AGE_SECONDS": "1",
            "PAGE_CACHE_SECONDS": "0",
        }
        self.procs: list[subprocess.Popen] = []
        self.logs: list = []
        self.app = create_app(
            "testing",
            SQLALCHEMY_DATABASE_URI=self.env["DATABASE_URL"],
            REDIS_URL=self.redis.url,
            MEDIA_DIR=str(base / "media"),
        )
        self.ctx = self.app.app_context()
        self.ctx.push()
        upgrade()
        load_reference_data()

    def start(self, kind: str) -> subprocess.Popen:
        args = ["worker", "--pool", "prefork", "--concurrency", "1", "--without-mingle", "--without-gossip"]
        if kind == "beat":
            args = ["beat", "--schedule", str(self.base / "beat-schedule")]
        log = open(self.base / f"{kind}.log", "ab")  # noqa: SIM115 - closed in stop()
        self.logs.append(log)
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "worker.celery_app", *args, "--loglevel", "INFO"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for log in self.logs:
            log.close()
        db.session.remove()
        db.engine.dispose()
        self.ctx.pop()
        self.redis.stop()


@pytest.fixture
def stack(tmp_path):
    smtp = LocalSmtpServer().start()
    built = Stack(tmp_path, smtp)
    yield built
    built.stop()
    smtp.stop()


def an_order_from_two_producers() -> None:
    """A COD order from two producers, one run by a member with an account, one by contact e-mail."""
    honey = make_producer("HTX ong Phong Thổ", province_name="Tuyên Quang")
    tea = make_producer("HTX chè Tân Cương", province_name="Thái Nguyên")
    tea.email = "lienhe@chetancuong.example.vn"
    owner = User(email="chu@ongphongtho.example.vn", password_hash="x", name="Chủ HTX", role="producer")
    db.session.add_all([owner, ProducerMember(user=owner, producer=honey, role="owner")])
    db.session.commit()
    items = [
        (make_product("Mật ong", producer=honey, stock=9).variants[0], 1),
        (make_product("Trà xanh", producer=tea, stock=9).variants[0], 1),
    ]
    place_order(
        cart_id=cart_with(*items),
        user_id=None,
        delivery=delivery_to(email="khach@example.vn"),
        payment_method="cod",
        checkout_key=f"k-{time.monotonic_ns()}",
    )


def recipients(messages) -> list[str]:
    return sorted(str(m["To"]) for m in messages)


EXPECTED = ["chu@ongphongtho.example.vn", "khach@example.vn", "lienhe@chetancuong.example.vn"]


def settle(smtp: LocalSmtpServer, seconds: float = 3.0) -> None:
    """Give a duplicate the time it would need to show up."""
    time.sleep(seconds)


def test_an_order_sends_one_email_to_the_shopper_and_one_to_each_producer(stack):
    stack.start("worker")
    an_order_from_two_producers()
    stack.smtp.wait_for(3, timeout=60)
    settle(stack.smtp)
    assert recipients(stack.smtp.messages) == EXPECTED
    subjects = {str(m["To"]): str(m["Subject"]) for m in stack.smtp.messages}
    assert subjects["khach@example.vn"].startswith("Chợ OCOP: đã nhận đơn hàng OC")
    assert subjects["chu@ongphongtho.example.vn"].startswith("Đơn mới OC")


def test_with_redis_stopped_the_order_succeeds_and_the_emails_follow_when_it_returns(stack):
    stack.redis.stop()
    started = time.monotonic()
    an_order_from_two_producers()  # must not fail, nor hang
    assert time.monotonic() - started < 30
    assert stack.smtp.messages == []

    stack.redis.start()  # same port: clients already point there
    stack.start("worker")
    stack.start("beat")  # its outbox sweeper finds the rows whose tasks were never queued
    stack.smtp.wait_for(3, timeout=90)
    settle(stack.smtp)
    assert recipients(stack.smtp.messages) == EXPECTED


def test_a_worker_killed_in_the_middle_of_a_send_runs_it_again_and_still_sends_one_email(tmp_path):
    smtp = LocalSmtpServer(hold_first_seconds=6).start()
    stack = Stack(tmp_path, smtp)
    try:
        worker = stack.start("worker")
        an_order_from_two_producers()
        assert smtp.holding.wait(60), "the worker never started sending"
        children = psutil.Process(worker.pid).children(recursive=True)
        assert children, "a prefork worker has a child process"
        for child in children:
            os.kill(child.pid, signal.SIGKILL)  # dies while the SMTP server holds its message
        smtp.wait_for(3, timeout=90)
        settle(smtp, 8)
        assert recipients(smtp.messages) == EXPECTED
    finally:
        stack.stop()
        smtp.stop()

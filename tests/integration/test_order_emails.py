"""An order's e-mails are written unrendered in the order's transaction and rendered
by the worker, once: one Celery message for all of them, each mail in its recipient's
language, showing the order as placed (a shop renamed before the worker runs keeps its
old name in the mail), and a retry sends the very mail the first attempt rendered."""

import pytest
from sqlalchemy import select

from shop.accounts.models import User
from shop.catalog.models import Variant
from shop.checkout.services import place_order
from shop.extensions import db
from shop.notifications import services as notifications
from shop.notifications.models import OutboxEmail
from shop.orders.models import Order
from shop.producers.models import Producer
from tests.support.factories import cart_with, delivery_to, two_producer_shop
from tests.support.mail import smtp_server  # noqa: F401 - a fixture
from tests.support.servers import free_port


@pytest.fixture
def app(app):
    app.config.update(OUTBOX_RETRY_SECONDS=0, OUTBOX_SWEEP_MIN_AGE_SECONDS=0)
    return app


@pytest.fixture
def queued(monkeypatch) -> list[tuple]:
    """The Celery messages the shop sends (recorded, not sent)."""
    sent: list[tuple] = []
    monkeypatch.setattr(notifications, "enqueue", lambda name, *args, **_kw: sent.append((name, *args)) or True)
    return sent


def an_order() -> Order:
    """A COD order from two producers; the tea producer's owner reads English."""
    shop = two_producer_shop()
    db.session.scalars(select(User).where(User.email == "che@example.vn")).one().locale = "en"
    db.session.commit()
    honey, tea = db.session.get(Variant, shop.mine_variants[0]), db.session.get(Variant, shop.other_variants[0])
    return place_order(
        cart_id=cart_with((honey, 1), (tea, 2)),
        user_id=None,
        delivery=delivery_to(email="khach@example.vn"),
        payment_method="cod",
        checkout_key="k-1",
    )


def rows() -> dict[str, OutboxEmail]:
    db.session.expire_all()
    return {row.to_email: row for row in db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.id))}


def plain(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n").strip()


def send_all(claimant: str = "task-1") -> None:
    for outbox_id in notifications.unsent_outbox_ids():
        notifications.send_outbox_email(outbox_id, claimant=claimant)


def test_the_order_writes_its_emails_unrendered_and_queues_one_message_for_all(app, queued):
    order = an_order()
    written = rows()
    assert sorted(written) == ["che@example.vn", "khach@example.vn", "ong@example.vn"]
    assert all(row.params is not None and row.subject == row.text_body == "" for row in written.values())
    assert written["khach@example.vn"].dedupe_key == f"order_placed:{order.id}"
    assert queued == [("notifications.send_many", sorted(row.id for row in written.values()))]
    # Written twice (a card payment confirmed again): the dedupe keys keep one row each.
    notifications.notify_order_placed(db.session.get(Order, order.id))
    db.session.commit()
    assert len(rows()) == 3 and len(queued) == 1


def test_the_worker_renders_each_email_once_as_the_order_was_placed(app, queued, smtp_server):  # noqa: F811
    order = an_order()
    number = order.number
    db.session.scalars(select(Producer).where(Producer.name == "HTX ong Phong Thổ")).one().name = "Tên mới"
    db.session.commit()  # renamed after the order, before the worker ran
    send_all()
    messages = {str(m["To"]): m for m in smtp_server.wait_for(3)}
    buyer = plain(messages["khach@example.vn"])
    assert str(messages["khach@example.vn"]["Subject"]) == f"Chợ OCOP: đã nhận đơn hàng {number}"
    assert "HTX ong Phong Thổ" in buyer and "HTX chè Tân Cương" in buyer and "Tên mới" not in buyer
    assert "Trà Tân Cương" in buyer and number in buyer
    assert str(messages["ong@example.vn"]["Subject"]) == f"Đơn mới {number} trên Chợ OCOP"
    honey = messages["ong@example.vn"].get_body(("html",)).get_content()
    assert "HTX ong Phong Thổ" in honey and "Mật ong hoa rừng" in honey and "Trà Tân Cương" not in honey
    assert str(messages["che@example.vn"]["Subject"]) == f"New order {number} on Chợ OCOP"
    written = rows()
    assert all(row.params is None and row.sent_at is not None for row in written.values())
    assert written["che@example.vn"].text_body.strip() == plain(messages["che@example.vn"])
    send_all("task-2")
    assert len(smtp_server.wait_for(3)) == 3  # nothing sent twice


def test_a_retry_sends_the_mail_the_first_attempt_rendered(app, queued, smtp_server):  # noqa: F811
    an_order()
    working = dict(app.config)
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_USE_TLS=False)
    send_all()  # nobody listening: rendered, committed, not sent
    first = {email: (row.subject, row.text_body, row.html_body) for email, row in rows().items()}
    assert all(row.params is None and row.attempts == 1 and row.sent_at is None for row in rows().values())
    db.session.scalars(select(Producer).where(Producer.name == "HTX chè Tân Cương")).one().name = "Tên mới"
    db.session.commit()
    app.config.update({key: working[key] for key in ("MAIL_BACKEND", "MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS")})
    send_all("task-2")
    for message in smtp_server.wait_for(3):
        subject, text, _html = first[str(message["To"])]
        assert (str(message["Subject"]), plain(message)) == (subject, text.strip())
        assert "Tên mới" not in text


def test_an_email_that_cannot_be_rendered_is_retried_like_a_failed_send(app, queued, smtp_server):  # noqa: F811
    an_order()
    row = rows()["khach@example.vn"]
    row.params = {**row.params, "order_id": 999_999}
    db.session.commit()
    assert notifications.send_outbox_email(row.id, claimant="task-1") is False
    row = rows()["khach@example.vn"]
    assert row.attempts == 1 and row.sent_at is None and row.failed_at is None and row.claimed_at is None
    assert row.params is not None and row.subject == "" and row.next_attempt_at is not None
    assert "999999" in row.last_error or "NoResult" in row.last_error or "ObjectDeleted" in row.last_error

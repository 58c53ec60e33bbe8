"""The e-mail outbox against a real local SMTP server (aiosmtpd): one copy
normally; a server slower than MAIL_TIMEOUT gets at most two copies, with the
same Message-ID, before the row is marked failed; an unreachable server is
tried OUTBOX_MAX_ATTEMPTS times with backoff; operators see failed e-mails in
/ops and send them again."""

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from shop.accounts.services import create_user
from shop.audit.models import AuditEntry
from shop.extensions import db
from shop.formatting import as_utc, utcnow
from shop.notifications import services as notifications
from shop.notifications.models import OutboxEmail
from tests.support.mail import LocalSmtpServer, smtp_server  # noqa: F401 - a fixture
from tests.support.servers import free_port

PASSWORD = "mat-khau-an-toan-1"


class FreshContextClient(FlaskClient):
    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(app):
    app.config.update(OUTBOX_RETRY_SECONDS=0, OUTBOX_SWEEP_MIN_AGE_SECONDS=0)
    app.test_client_class = FreshContextClient
    return app


def a_row(key: str = "test:1") -> int:
    row = OutboxEmail(
        kind="order_placed",
        dedupe_key=key,
        to_email="khach@example.vn",
        subject="Chợ OCOP: đã nhận đơn hàng OC1",
        text_body="Cảm ơn bạn.",
        html_body="<p>Cảm ơn bạn.</p>",
    )
    db.session.add(row)
    db.session.commit()
    return row.id


def sweep_until_settled(rounds: int = 12) -> None:
    """What the beat's sweeper and the tasks it queues do, round after round."""
    for n in range(rounds):
        for outbox_id in notifications.unsent_outbox_ids():
            notifications.send_outbox_email(outbox_id, claimant=f"sweep-{n}-{outbox_id}")


def fresh(outbox_id: int) -> OutboxEmail:
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(OutboxEmail, outbox_id)


def test_an_email_is_sent_once_with_its_rows_message_id(app, smtp_server):  # noqa: F811
    outbox_id = a_row()
    assert notifications.send_outbox_email(outbox_id, claimant="task-1")
    sweep_until_settled()
    assert notifications.send_outbox_email(outbox_id, claimant="task-1") is False  # a redelivered task
    (message,) = smtp_server.wait_for(1)
    row = fresh(outbox_id)
    assert str(message["Message-ID"]) == notifications.message_id_of(row)
    assert (row.attempts, row.maybe_sent, row.failed_at) == (1, 0, None)


def test_a_server_slower_than_the_timeout_gets_at_most_two_copies_with_one_message_id(app):
    slow = LocalSmtpServer(answer_after_seconds=1.5).start()
    try:
        slow.configure(app)
        app.config["MAIL_TIMEOUT"] = 0.5
        outbox_id = a_row()
        assert notifications.send_outbox_email(outbox_id, claimant="task-1") is False
        row = fresh(outbox_id)
        assert (row.attempts, row.maybe_sent, row.failed_at is None) == (1, 1, True)
        assert row.next_attempt_at is not None and row.claimed_at is None
        sweep_until_settled()
        copies = slow.wait_for(2, timeout=10)
    finally:
        slow.stop()
    assert len(copies) == 2  # before: 6 in 3 minutes, and counting
    assert len({str(m["Message-ID"]) for m in copies}) == 1
    row = fresh(outbox_id)
    assert row.failed_at is not None and row.sent_at is None and row.attempts == 2
    assert "Maybe" in row.last_error or "timed out" in row.last_error


def nobody_listening(app) -> None:
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_USE_TLS=False)


def test_an_unreachable_server_is_tried_the_allowed_times_then_the_row_fails(app):
    nobody_listening(app)
    outbox_id = a_row()
    sweep_until_settled()
    row = fresh(outbox_id)
    assert row.attempts == app.config["OUTBOX_MAX_ATTEMPTS"] and row.maybe_sent == 0
    assert row.failed_at is not None and "ConnectionRefused" in row.last_error
    assert notifications.unsent_outbox_ids() == []  # the sweeper leaves it to an operator


def test_a_failed_attempt_waits_its_backoff(app):
    app.config["OUTBOX_RETRY_SECONDS"] = 3600
    nobody_listening(app)
    outbox_id = a_row()
    assert notifications.send_outbox_email(outbox_id, claimant="task-1") is False
    sweep_until_settled()
    row = fresh(outbox_id)
    assert row.attempts == 1 and row.failed_at is None
    assert as_utc(row.next_attempt_at) > utcnow()


def test_operators_see_failed_emails_and_send_one_again(app, client, smtp_server):  # noqa: F811
    operator_id = create_user("vanhanh@example.vn", "operator", PASSWORD, name="Chị Vận Hành").id
    outbox_id = a_row()
    row = fresh(outbox_id)
    row.attempts, row.failed_at, row.last_error = 5, utcnow(), "ConnectionRefusedError: [Errno 111]"
    db.session.commit()

    assert client.get("/ops/email-loi").status_code == 404  # not signed in: the console does not exist
    client.post("/tai-khoan/dang-nhap", data={"email": "vanhanh@example.vn", "password": PASSWORD})
    page = client.get("/ops/email-loi").get_data(as_text=True)
    assert "khach@example.vn" in page and "ConnectionRefusedError" in page and "Gửi lại" in page

    answer = client.post(f"/ops/email-loi/{outbox_id}/gui-lai")
    assert answer.status_code == 303
    row = fresh(outbox_id)
    assert (row.failed_at, row.attempts) == (None, 0)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "email.resend")).one()
    assert (entry.actor_id, entry.target_id) == (operator_id, outbox_id)
    assert "Không có e-mail nào gửi lỗi" in client.get("/ops/email-loi").get_data(as_text=True)

    sweep_until_settled()  # no Redis here: the sweeper sends it
    (message,) = smtp_server.wait_for(1)
    assert str(message["Message-ID"]) == notifications.message_id_of(fresh(outbox_id))
    assert client.post(f"/ops/email-loi/{outbox_id}/gui-lai").status_code == 404  # sent: nothing to resend


def test_notices_about_a_row_that_is_gone_write_nothing(app):
    # Queued by id: the invite may be revoked, the producer deleted, before the notice is written.
    notifications.notify_invite(999_999, "token")
    notifications.notify_application_decided(999_999)
    db.session.commit()
    assert db.session.scalar(select(OutboxEmail.id)) is None

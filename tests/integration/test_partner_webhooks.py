"""Partner webhooks delivered to a real local HTTP server that records what it
receives: signed bodies, one SKU's changes in order, backoff, giving up."""

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from shop.extensions import db
from shop.formatting import utcnow
from shop.inventory import services as inventory
from shop.partners import services as partners
from shop.partners.models import PartnerWebhook, WebhookDelivery
from shop.partners.signing import SIGNATURE_HEADER, verify
from tests.support.factories import make_producer, make_product
from tests.support.servers import free_port


class Partner:
    """A partner's endpoint on 127.0.0.1: records every POST; `answer(body)` gives
    the status to reply with (200 unless a test says otherwise); `delay` seconds
    before answering."""

    def __init__(self):
        self.received: list[tuple[dict, bytes]] = []
        self.answer = lambda body: 200
        self.delay = 0.0
        partner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                partner.received.append((dict(self.headers), body))
                time.sleep(partner.delay)
                status = partner.answer(json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/ocop"

    def bodies(self) -> list[dict]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
def partner():
    server = Partner()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def catalog(app):
    producer = make_producer("HTX ong Phong Thổ")
    honey = make_product("Mật ong hoa rừng", producer=producer, prices=(95_000,), stock=10)
    tea = make_product("Trà shan tuyết", producer=producer, prices=(120_000,), stock=5)
    return producer.id, honey.variants[0].sku, tea.variants[0].sku


def set_stock(producer_id: int, *pairs: tuple[str, int]):
    return inventory.update_stock(producer_id, [{"sku": sku, "quantity": n} for sku, n in pairs])


def deliveries(status: str | None = None) -> list[WebhookDelivery]:
    db.session.rollback()
    stmt = select(WebhookDelivery).order_by(WebhookDelivery.id)
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    return list(db.session.scalars(stmt))


def test_a_stock_change_reaches_each_partner_signed_with_its_secret(app, catalog, partner):
    producer_id, honey, _tea = catalog
    hook = partners.add_webhook("Siêu thị Xanh", partner.url)
    set_stock(producer_id, (honey, 7))
    assert partners.deliver_due() == {"delivered": 1}
    ((headers, body),) = partner.received
    payload = json.loads(body)
    assert payload | {"occurred_at": None} == {
        "event": "variant.updated",
        "sku": honey,
        "available": 7,
        "price": 95_000,
        "currency": "VND",
        "sequence": 1,
        "occurred_at": None,
    }
    assert payload["occurred_at"].endswith("Z")
    assert verify(hook.secret, body, headers[SIGNATURE_HEADER])
    assert not verify("whsec_other", body, headers[SIGNATURE_HEADER])
    assert headers["X-OCOP-Event"] == "variant.updated"
    assert deliveries()[0].status == "delivered" and deliveries()[0].delivered_at is not None


def test_nothing_is_written_without_an_active_partner_or_without_a_change(app, catalog, partner):
    producer_id, honey, _tea = catalog
    set_stock(producer_id, (honey, 3))
    assert deliveries() == []
    partners.add_webhook("Siêu thị Xanh", partner.url)
    set_stock(producer_id, (honey, 3))  # unchanged
    assert deliveries() == []


def test_sequences_count_per_partner_and_sku(app, catalog, partner):
    producer_id, honey, tea = catalog
    partners.add_webhook("A", partner.url)
    partners.add_webhook("B", partner.url)
    set_stock(producer_id, (honey, 1), (tea, 1))
    set_stock(producer_id, (honey, 2))
    rows = [(d.webhook_id, d.sku, d.sequence) for d in deliveries()]
    a, b = sorted({hook for hook, _, _ in rows})
    assert sorted(rows) == sorted(
        [(a, honey, 1), (a, tea, 1), (b, honey, 1), (b, tea, 1), (a, honey, 2), (b, honey, 2)]
    )


def test_a_failed_delivery_holds_back_later_changes_of_the_same_sku_only(app, catalog, partner):
    producer_id, honey, tea = catalog
    partners.add_webhook("Siêu thị Xanh", partner.url)
    partner.answer = lambda body: 500 if body["sku"] == honey else 200
    set_stock(producer_id, (honey, 1), (tea, 1))
    set_stock(producer_id, (honey, 2))
    now = utcnow()
    assert partners.deliver_due(now) == {"retry": 1, "delivered": 1}
    assert [(b["sku"], b["sequence"]) for b in partner.bodies()] == [(honey, 1), (tea, 1)]
    # The honey's second change waits for its first, whatever the time.
    partner.answer = lambda body: 200
    assert partners.deliver_due(now + timedelta(seconds=5)) == {}
    assert partners.deliver_due(now + timedelta(seconds=31)) == {"delivered": 2}
    assert [(b["sku"], b["sequence"], b["available"]) for b in partner.bodies()[2:]] == [(honey, 1, 1), (honey, 2, 2)]


def test_retries_back_off_exponentially_then_succeed(app, catalog, partner):
    producer_id, honey, _tea = catalog
    partners.add_webhook("Siêu thị Xanh", partner.url)
    partner.answer = lambda body: 503
    set_stock(producer_id, (honey, 4))
    start = utcnow()
    assert partners.deliver_due(start) == {"retry": 1}  # 1st attempt; next in 30 s
    assert partners.deliver_due(start + timedelta(seconds=29)) == {}
    assert partners.deliver_due(start + timedelta(seconds=30)) == {"retry": 1}  # 2nd; next in 60 s
    assert partners.deliver_due(start + timedelta(seconds=89)) == {}
    partner.answer = lambda body: 204
    assert partners.deliver_due(start + timedelta(seconds=90)) == {"delivered": 1}
    (row,) = deliveries()
    assert (row.status, row.attempts, row.last_error) == ("delivered", 3, "")
    assert len(partner.received) == 3


def test_a_delivery_is_given_up_after_the_last_attempt_and_the_next_one_goes(app, catalog, partner):
    producer_id, honey, _tea = catalog
    app.config["WEBHOOK_MAX_ATTEMPTS"] = 3
    partners.add_webhook("Siêu thị Xanh", partner.url)
    partner.answer = lambda body: 500 if body["sequence"] == 1 else 200
    set_stock(producer_id, (honey, 4))
    set_stock(producer_id, (honey, 5))
    later = utcnow()
    for _ in range(5):
        later += timedelta(hours=7)
        partners.deliver_due(later)
    first, second = deliveries()
    assert (first.status, first.attempts) == ("failed", 3)
    assert "HTTP 500" in first.last_error
    assert (second.status, second.attempts) == ("delivered", 1)
    assert [b["sequence"] for b in partner.bodies()] == [1, 1, 1, 2]


def test_a_partner_that_does_not_answer_in_time_is_tried_again(app, catalog, partner):
    producer_id, honey, _tea = catalog
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 0.3
    partners.add_webhook("Siêu thị Xanh", partner.url)
    partner.delay = 1.0
    set_stock(producer_id, (honey, 4))
    assert partners.deliver_due() == {"retry": 1}
    assert "Timeout" in deliveries()[0].last_error


def test_a_delivery_claimed_by_another_worker_is_not_sent_twice(app, catalog, partner):
    producer_id, honey, _tea = catalog
    partners.add_webhook("Siêu thị Xanh", partner.url)
    set_stock(producer_id, (honey, 4))
    (row,) = deliveries()
    now = utcnow()
    assert partners.deliver(row.id, now) == "delivered"
    assert partners.deliver(row.id, now) == "skipped"
    assert len(partner.received) == 1


def test_the_periodic_task_sends_what_is_due(app, catalog, partner):
    from worker.tasks import deliver_webhooks

    producer_id, honey, _tea = catalog
    partners.add_webhook("Siêu thị Xanh", partner.url)
    set_stock(producer_id, (honey, 2))
    assert deliver_webhooks() == {"delivered": 1}
    assert deliver_webhooks() == {}


def test_an_inactive_partner_gets_nothing(app, catalog, partner):
    producer_id, honey, _tea = catalog
    hook = partners.add_webhook("Siêu thị Xanh", partner.url)
    set_stock(producer_id, (honey, 2))
    db.session.get(PartnerWebhook, hook.id).active = False
    db.session.commit()
    assert partners.deliver_due() == {}
    set_stock(producer_id, (honey, 3))
    assert db.session.scalar(select(func.count(WebhookDelivery.id))) == 1


def test_the_partner_webhook_command_adds_and_lists_partners(runner, partner):
    added = runner.invoke(args=["partner-webhook", "add", "Siêu thị Xanh", partner.url])
    assert added.exit_code == 0, added.output
    assert "whsec_" in added.output
    listed = runner.invoke(args=["partner-webhook", "list"])
    assert "Siêu thị Xanh" in listed.output and "no deliveries" in listed.output
    assert runner.invoke(args=["partner-webhook", "add", "X", "ftp://nope"]).exit_code != 0

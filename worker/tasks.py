"""Thin tasks: each takes ids, calls one service, and is safe to run twice."""

from typing import TypedDict

from celery import shared_task

from shop.bank import services as bank
from shop.catalog import services as catalog
from shop.catalog.sold import recount_sold
from shop.inventory import feed_services, import_services  # stock sync
from shop.inventory import services as inventory  # stock sync
from shop.ledger import services as ledger
from shop.notifications import services as notifications
from shop.orders import services as orders
from shop.partners import services as partners  # stock sync
from shop.payments.webhook_services import reconcile_awaiting_payments


class RetryOptions(TypedDict):
    autoretry_for: tuple[type[Exception], ...]
    retry_backoff: bool
    retry_backoff_max: int
    max_retries: int


RETRY: RetryOptions = {"autoretry_for": (Exception,), "retry_backoff": True, "retry_backoff_max": 600, "max_retries": 8}


@shared_task(name="orders.release_if_expired", **RETRY)
def release_if_expired(order_id: int) -> bool:
    return orders.release_if_expired(order_id)


@shared_task(name="orders.sweep_expired", **RETRY)
def sweep_expired() -> int:
    released = 0
    for order_id in orders.expired_unpaid_order_ids():
        released += orders.release_if_expired(order_id)
    return released


@shared_task(name="payments.reconcile", **RETRY)
def reconcile_payments() -> dict:
    return reconcile_awaiting_payments()


@shared_task(name="bank.reconcile", **RETRY)
def reconcile_bank_transfers() -> dict:
    """Transactions SePay's webhook did not deliver, and refunds owed by cancelled orders."""
    return bank.reconcile()


@shared_task(name="notifications.send", bind=True, **RETRY)
def send_notification(self, outbox_id: int) -> bool:
    # The task id is the claim: a copy redelivered after a worker died takes the row back.
    return notifications.send_outbox_email(outbox_id, claimant=self.request.id or "")


@shared_task(name="notifications.send_many", bind=True, **RETRY)
def send_notifications(self, outbox_ids: list[int]) -> int:
    """The rows one commit wrote (an order's e-mails), one after the other; each row is
    claimed on its own, so a retry or a redelivered copy sends only what is left."""
    return sum(notifications.send_outbox_email(outbox_id, claimant=self.request.id or "") for outbox_id in outbox_ids)


@shared_task(name="notifications.sweep", **RETRY)
def sweep_notifications() -> int:
    """Queue the rows whose own task never ran (Redis was down, a worker died)."""
    ids = notifications.unsent_outbox_ids()
    for outbox_id in ids:
        send_notification.delay(outbox_id)
    return len(ids)


@shared_task(name="catalog.recount_sold", **RETRY)
def recount_sold_counts() -> int:
    """Recount "Đã bán N" from the delivered order lines (only the products whose count moved)."""
    return recount_sold()


@shared_task(name="catalog.unlist_lapsed", **RETRY)
def unlist_lapsed() -> int:
    """Products whose certificate lapsed at midnight go off sale (OCOP-only)."""
    return catalog.unlist_lapsed()


@shared_task(name="certificates.reminders", **RETRY)
def certificate_reminders() -> int:
    return notifications.queue_certificate_reminders()


# --- stock sync (producer API, stock files and feeds, partner webhooks) ---


@shared_task(name="inventory.process_import", **RETRY)
def process_import(import_id: int) -> str:
    return import_services.process_import(import_id)


@shared_task(name="inventory.sweep_imports", **RETRY)
def sweep_imports() -> int:
    """Queue uploads whose own task was lost (Redis was down at upload time)."""
    ids = import_services.waiting_import_ids()
    for import_id in ids:
        process_import.delay(import_id)
    return len(ids)


@shared_task(name="inventory.pull_feed", **RETRY)
def pull_feed(feed_id: int) -> str:
    return feed_services.pull_feed(feed_id)


@shared_task(name="inventory.pull_feeds", **RETRY)
def pull_feeds() -> int:
    """Queue a pull of every feed whose own interval has run out."""
    ids = feed_services.due_feed_ids()
    for feed_id in ids:
        pull_feed.delay(feed_id)
    return len(ids)


@shared_task(name="inventory.purge_idempotency_keys", **RETRY)
def purge_idempotency_keys() -> int:
    return inventory.purge_keys()


@shared_task(name="partners.deliver_due", **RETRY)
def deliver_webhooks() -> dict:
    return partners.deliver_due()


# --- end stock sync ---


@shared_task(name="ledger.close_last_week", **RETRY)
def close_last_week() -> list[int]:
    """Monday just after midnight: the week that just ended becomes payouts (idempotent)."""
    return ledger.close_last_week()

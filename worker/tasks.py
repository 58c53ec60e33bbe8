"""Thin tasks: each takes ids, calls one service, and is safe to run twice."""

from celery import shared_task

from shop.orders import services as orders
from shop.payments.services import reconcile_awaiting_payments

RETRY = {"autoretry_for": (Exception,), "retry_backoff": True, "retry_backoff_max": 600, "max_retries": 8}


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

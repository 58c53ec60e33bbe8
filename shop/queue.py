"""Queueing background work by task name, after the commit that needs it.

The shop never imports the worker: it sends a task name and ids. If the broker
cannot be reached the work is not lost: a periodic sweeper in the worker finds
what is still to do from the database (expired reservations, unpaid orders)."""

import logging

from celery import Celery
from flask import current_app

log = logging.getLogger(__name__)


def celery_url(redis_url: str) -> str:
    """Celery spells a Redis unix socket `redis+socket://`; redis-py spells it `unix://`."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url[len("unix://") :]
    return redis_url


def _producer() -> Celery | None:
    app = current_app._get_current_object()
    if "celery_producer" not in app.extensions:
        url = app.config.get("REDIS_URL")
        if not url:
            app.extensions["celery_producer"] = None
        else:
            producer = Celery("shop-producer", broker=celery_url(url), set_as_current=False)
            producer.conf.broker_connection_retry_on_startup = False
            producer.conf.broker_transport_options = {
                "max_retries": 1,
                "socket_timeout": 2,
                "socket_connect_timeout": 2,
            }
            app.extensions["celery_producer"] = producer
    return app.extensions["celery_producer"]


def enqueue(task_name: str, *args, countdown: int | None = None) -> bool:
    """Send a task by name; returns False (and logs) when it could not be queued."""
    producer = _producer()
    if producer is None:
        return False
    try:
        producer.send_task(task_name, args=args, countdown=countdown, retry=False)
        return True
    except Exception:  # noqa: BLE001 - the sweeper catches up; the request must not fail
        log.warning("could not queue %s%r; the periodic sweeper will catch up", task_name, args, exc_info=True)
        return False

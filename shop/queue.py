"""Queueing background work by task name, after the commit that needs it.

The shop never imports the worker: it sends a task name and ids. If the broker
cannot be reached the work is not lost: a periodic sweeper in the worker finds
what is still to do from the database (expired reservations, unpaid orders)."""

import logging

from celery import Celery
from flask import current_app

from shop.logcontext import current_request_id

log = logging.getLogger(__name__)

# Three queues, each served by workers of its own (make cluster, compose.yaml): a slow
# SMTP server never holds up a stock import, nor a 20,000-row import an order e-mail.
MAIL_QUEUE, STOCK_QUEUE, DEFAULT_QUEUE = "mail", "stock", "default"
QUEUES = (DEFAULT_QUEUE, MAIL_QUEUE, STOCK_QUEUE)
TASK_ROUTES = {
    "notifications.*": {"queue": MAIL_QUEUE},
    "certificates.*": {"queue": MAIL_QUEUE},
    "inventory.*": {"queue": STOCK_QUEUE},
    "partners.*": {"queue": STOCK_QUEUE},
}


def celery_routing(config) -> dict:
    """The Celery settings the shop (sending) and the worker (consuming) share."""
    from kombu import Queue

    return {
        "task_queues": tuple(Queue(name) for name in QUEUES),
        "task_default_queue": DEFAULT_QUEUE,
        "task_routes": TASK_ROUTES,
        # A task not acknowledged within this long is handed to another worker: longer
        # than the longest task may run (CELERY_TASK_TIME_LIMIT), or it would run twice at once.
        "broker_transport_options": {
            "visibility_timeout": int(config.get("CELERY_VISIBILITY_TIMEOUT") or 3600),
        },
    }


def queue_depths() -> dict[str, int]:
    """Tasks waiting in each queue (Redis list lengths); {} when Redis does not answer."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return {}
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        pipe = client.pipeline()
        for name in QUEUES:
            pipe.llen(name)
        return dict(zip(QUEUES, pipe.execute(), strict=True))
    except Exception:  # noqa: BLE001 - metrics report what they can
        log.warning("queue depths unavailable", exc_info=True)
        return {}


def celery_url(redis_url: str) -> str:
    """Celery spells a Redis unix socket `redis+socket://`; redis-py spells it `unix://`."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url[len("unix://") :]
    return redis_url


def _producer() -> Celery | None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # current_app is typed as the Flask it proxies
    if "celery_producer" not in app.extensions:
        url = app.config.get("REDIS_URL")
        if not url:
            app.extensions["celery_producer"] = None
        else:
            producer = Celery("shop-producer", broker=celery_url(url), set_as_current=False)
            producer.conf.update(celery_routing(app.config))
            producer.conf.broker_connection_retry_on_startup = False
            producer.conf.broker_transport_options = {
                **producer.conf.broker_transport_options,
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
        # The request's id travels with the task, so its log lines can be found together.
        headers = {"request_id": current_request_id()} if current_request_id() else None
        producer.send_task(task_name, args=args, countdown=countdown, retry=False, headers=headers)
        return True
    except Exception:  # noqa: BLE001 - the sweeper catches up; the request must not fail
        log.warning("could not queue %s%r; the periodic sweeper will catch up", task_name, args, exc_info=True)
        return False

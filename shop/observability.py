"""What an operator's machines read: JSON logs carrying a request id (also into the
Celery tasks a request queues), Prometheus metrics shared by every gunicorn worker,
and Sentry when SENTRY_DSN is set.

Metrics: set PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py does) before anything
imports prometheus_client, and every worker process writes its samples there;
`/metrics` adds them up. Without it (make run, tests) a process counts for itself.
Gauges of shared state (outbox backlog, queue depth, orders and payments by
status) are read from the database and Redis at scrape time, so every node
reports the same figures: aggregate them with max(), not sum()."""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import time
import uuid
from typing import Any

from flask import Flask, Response, abort, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from shop.extensions import db
from shop.health.heartbeats import read_heartbeats
from shop.logcontext import request_id_var, task_id_var
from shop.notifications.models import OutboxEmail
from shop.orders.models import Order
from shop.payments.models import Payment
from shop.queue import queue_depths

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

REQUEST_SECONDS = Histogram(
    "shop_http_request_duration_seconds",
    "Time to answer a request, by endpoint (page-cache hits as endpoint page_cache).",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PAGE_CACHE = Counter(
    "shop_page_cache_lookups_total",
    "Look-ups of shared pages in the page cache (hit: answered before Flask; miss: rendered).",
    ["result"],
)


# --- request ids and JSON logs --------------------------------------------------------------


_ID_PREFIX = {"pid": 0, "prefix": ""}
_ID_COUNTER = itertools.count()


def new_request_id() -> str:
    """32 hex digits, unique across processes and nodes: a random prefix drawn once per
    process and a counter (a uuid4 per request cost a tenth of a page-cache hit)."""
    pid = os.getpid()
    if _ID_PREFIX["pid"] != pid:  # drawn again after a fork
        _ID_PREFIX.update(pid=pid, prefix=uuid.uuid4().hex[:20])
    return f"{_ID_PREFIX['prefix']}{next(_ID_COUNTER) & 0xFFFFFFFFFFFF:012x}"


def incoming_request_id(environ) -> str:
    """The proxy's id for this request when it sent a sane one (nginx's $request_id), else a new one."""
    given = environ.get("HTTP_X_REQUEST_ID", "")
    return given if _VALID_ID.match(given) else new_request_id()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request and task ids."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid, tid = request_id_var.get(), task_id_var.get()
        if rid:
            entry["request_id"] = rid
        if tid:
            entry["task_id"] = tid
        for name in ("task_name", "node"):
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


JsonFormatter.converter = time.gmtime


def configure_logging(config) -> None:
    """LOG_FORMAT=json puts every log line of this process (app, gunicorn's error log,
    Celery) on stderr as JSON; text keeps Python's default lines."""
    level = getattr(logging, str(config.get("LOG_LEVEL") or "INFO").upper(), logging.INFO)
    if (config.get("LOG_FORMAT") or "text") != "json":
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("gunicorn.error", "celery", "celery.task", "celery.worker"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True


# --- metrics -------------------------------------------------------------------------------


class SharedStateCollector:
    """Gauges read at scrape time from the database and Redis (the same on every node)."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        with self.app.app_context():
            orders = GaugeMetricFamily("shop_orders", "Orders by status (all time).", labels=["status"])
            payments = GaugeMetricFamily("shop_payments", "Card payments by status (all time).", labels=["status"])
            backlog = GaugeMetricFamily("shop_outbox_backlog", "E-mails written to the outbox and not yet sent.")
            try:
                for status, n in db.session.execute(select(Order.status, func.count()).group_by(Order.status)):
                    orders.add_metric([status], n)
                for status, n in db.session.execute(select(Payment.status, func.count()).group_by(Payment.status)):
                    payments.add_metric([status], n)
                backlog.add_metric([], db.session.scalar(select(func.count()).where(OutboxEmail.sent_at.is_(None))))
            except Exception:  # noqa: BLE001 - a scrape reports what it can
                logging.getLogger(__name__).warning("metrics: database figures unavailable")
            finally:
                db.session.remove()
            yield orders
            yield payments
            yield backlog
            depth = GaugeMetricFamily("shop_queue_depth", "Tasks waiting in each Celery queue.", labels=["queue"])
            for queue, n in queue_depths().items():
                depth.add_metric([queue], n)
            yield depth
            beats = GaugeMetricFamily(
                "shop_heartbeat_age_seconds",
                "Seconds since each worker and beat last said it was alive.",
                labels=["process"],
            )
            now = time.time()
            for beat in read_heartbeats():
                beats.add_metric([beat["name"]], max(0.0, now - beat["at"]))
            yield beats


def metrics_response() -> Response:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry.register(_Delegate(REGISTRY))
    registry.register(SharedStateCollector(current_app._get_current_object()))  # type: ignore[attr-defined]  # current_app is typed as the Flask it proxies
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


class _Delegate:
    def __init__(self, registry):
        self.registry = registry

    def collect(self):
        yield from self.registry.collect()


_TIMERS: dict[tuple[str, str, int], Any] = {}


def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    timer = _TIMERS.get((endpoint, method, status))
    if timer is None:  # labels() looked up once per combination: it costs as much as the observation
        timer = _TIMERS[(endpoint, method, status)] = REQUEST_SECONDS.labels(endpoint, method, str(status))
    timer.observe(seconds)


# --- wiring --------------------------------------------------------------------------------


def init_sentry(config) -> bool:
    dsn = config.get("SENTRY_DSN")
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.flask import FlaskIntegration

    sentry_sdk.init(
        dsn=dsn,
        integrations=[FlaskIntegration(), CeleryIntegration()],
        environment=config.get("SENTRY_ENVIRONMENT") or os.environ.get("SHOP_ENV", "development"),
        traces_sample_rate=float(config.get("SENTRY_TRACES_SAMPLE_RATE") or 0),
        send_default_pii=False,
    )
    return True


def init_observability(app: Flask) -> None:
    configure_logging(app.config)
    init_sentry(app.config)

    @app.before_request
    def start_request():
        g.request_started = time.perf_counter()
        rid = request.environ.get("shop.request_id") or incoming_request_id(request.environ)
        g.request_id = rid
        request_id_var.set(rid)
        if getattr(g, "sentry_tagged", None) is None and app.config.get("SENTRY_DSN"):
            import sentry_sdk

            sentry_sdk.set_tag("request_id", rid)

    @app.after_request
    def end_request(response):
        started = g.get("request_started")
        if started is not None:
            endpoint = request.url_rule.endpoint if request.url_rule else "unmatched"
            observe_request(endpoint, request.method, response.status_code, time.perf_counter() - started)
        rid = g.get("request_id")
        if rid:
            response.headers[REQUEST_ID_HEADER] = rid
        return response

    @app.teardown_request
    def forget_request_id(_exc):
        request_id_var.set(None)

    @app.get("/metrics")
    def metrics():
        token = app.config.get("METRICS_TOKEN")
        if token and request.headers.get("Authorization") != f"Bearer {token}":
            abort(404)
        return metrics_response()

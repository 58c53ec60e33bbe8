"""Production settings for gunicorn (read from the working directory, or `-c gunicorn.conf.py`).

Every value can be changed by an environment variable (see docs/deploy.md); options
given on the command line win over this file. Reload without dropping a request:
`kill -HUP <master pid>` starts new workers on the new code and lets the old ones
finish what they are serving (graceful_timeout)."""

import json
import multiprocessing
import os
import shutil
import tempfile
import threading
import time

from gunicorn.glogging import Logger


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


cpus = multiprocessing.cpu_count()
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Threads let a worker keep serving while one request waits on Stripe or SMTP; processes
# use the cores. 2 per core (at most 8) x 4 threads suits this I/O-bound app.
workers = _int("WEB_CONCURRENCY", min(2 * cpus, 8))
threads = _int("GUNICORN_THREADS", 4)
# gthread that accepts a connection only while a thread is free (shop/serving.py): plain
# gthread let one worker take every kept-alive connection and left the other core idle.
worker_class = "shop.serving.BalancedThreadWorker" if threads > 1 else "sync"
# A card payment may wait on Stripe for STRIPE_TIMEOUT (20 s) twice: stop a request only past that.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# No request-line limit here: gunicorn's own refusal is a bare English "Request Line is too large";
# the app answers an address longer than shop.errors.MAX_URL with the shop's own 414 page instead
# (nginx in front keeps its own 8 KB limit and shows the same page, see docs/deploy.md).
limit_request_line = _int("GUNICORN_LIMIT_REQUEST_LINE", 0)
keepalive = _int("GUNICORN_KEEPALIVE", 5)  # below nginx's upstream keepalive_timeout
# Replacing a worker after N requests bounds a slow leak, but a new worker starts cold
# (its catalog index and page copies are rebuilt) and, with page-cache hits at a few
# thousand a second, 5,000 requests made both workers restart together every few
# seconds: the site stopped answering for the seconds they took to boot. Off by
# default (no leak is known; /metrics shows process memory); set it with a large jitter.
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 0)
# X-Forwarded-Proto/-For are believed only from these addresses (the load balancers);
# the app's own ProxyFix (PROXY_FIX_HOPS) decides which hop is the client.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
control_socket_disable = True  # several masters on one machine (make cluster) would share ~/.gunicorn/

# Prometheus: every worker writes its samples under one folder; /metrics adds them up.
# Set before any worker imports prometheus_client; emptied when the master starts.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="ocop-metrics-")
raw_env = [f"PROMETHEUS_MULTIPROC_DIR={os.environ['PROMETHEUS_MULTIPROC_DIR']}"]


def on_starting(server):
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)


def post_worker_init(worker):
    """A worker builds its catalog index before its first request, not during it
    (bench/hello.py's baseline has none). The build runs beside a heartbeat: the
    master would take a silent worker for a hung one after `timeout`. The log says
    when each worker starts taking connections (shop.serving.READY_LINE)."""
    from shop.serving import READY_LINE

    started = time.monotonic()
    app = worker.wsgi
    if "catalog" in getattr(app, "blueprints", {}):
        from shop.catalog.index import build_before_serving

        build = threading.Thread(target=build_before_serving, args=(app,), name="catalog-index", daemon=True)
        build.start()
        while build.is_alive():
            worker.notify()
            build.join(1)
    worker.log.info("%s (after %.1f s)", READY_LINE, time.monotonic() - started)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


class JsonAccessLogger(Logger):
    """One JSON object per request on the access log (values escaped, unlike atoms in
    access_log_format), with nginx's request id so a request is followed across nodes."""

    def access(self, resp, req, environ, request_time):
        if not (self.cfg.accesslog or self.cfg.logconfig or self.cfg.syslog):
            return
        headers = {name.lower(): value for name, value in req.headers}
        sent = {name.lower(): value for name, value in resp.headers}
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "type": "access",
            "remote": environ.get("REMOTE_ADDR"),
            "forwarded_for": headers.get("x-forwarded-for"),
            "request_id": headers.get("x-request-id") or sent.get("x-request-id"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": environ.get("QUERY_STRING") or None,
            "status": int(status),
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 2),
            "cache": sent.get("x-cache"),
            "user_agent": headers.get("user-agent"),
            "pid": os.getpid(),
        }
        try:
            self.access_log.info(json.dumps(entry, ensure_ascii=False))
        except Exception:  # noqa: BLE001 - a log line never fails a request
            self.exception("access log line not written")


if os.environ.get("LOG_FORMAT", "json" if os.environ.get("SHOP_ENV") == "production" else "text") == "json":
    logger_class = JsonAccessLogger

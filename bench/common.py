"""What the benchmarks share: servers started the project's way, wrk, a catalog
seeded once per size and database, and the hello-world baseline.

Every benchmark prints ratios against a baseline measured in the same run on the
same machine, never absolute targets: the machine's speed cancels out."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shop.devstack import gunicorn_command  # noqa: E402
from shop.serving import READY_LINE  # noqa: E402
from tests.support.servers import PostgresServer, RedisServer, free_port, wait_for_port  # noqa: E402

__all__ = ["PostgresServer", "RedisServer", "free_port", "wait_for_port"]


def run(cmd: list[str], env: dict, timeout: float | None = None) -> str:
    return subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=timeout).stdout


def flask(args: list[str], env: dict, timeout: float | None = None) -> str:
    return run([sys.executable, "-m", "flask", "--app", "wsgi", *args], env, timeout)


def python(code: str, env: dict) -> str:
    """Run `code` with the app's environment; returns its last printed line."""
    return run([sys.executable, "-c", code], env).strip().splitlines()[-1]


APP_PRELUDE = (
    "from sqlalchemy import func, select\nfrom shop import create_app\nfrom shop.extensions import db\n"
    "from shop.formatting import today_vn\n"
    "from shop.catalog.models import Product, Variant\nfrom shop.producers.models import Producer\n"
    "app = create_app()\nctx = app.app_context(); ctx.push()\n"
    # On sale: listed, with a certificate valid today (OCOP only).
    "ON_SALE = (Product.listed.is_(True), Product.cert_valid_until >= today_vn())\n"
)


def product_count(env: dict) -> int:
    return int(python(APP_PRELUDE + "print(db.session.scalar(select(func.count(Product.id))))", env) or 0)


def seed_catalog(env: dict, products: int) -> None:
    """Migrate and top the catalog up to `products` (seed-bulk), once per folder."""
    flask(["db", "upgrade"], env)
    have = product_count(env)
    if have < products:
        print(f"  seeding {products - have:,} products…", flush=True)
        started = time.monotonic()
        flask(["seed-bulk", "--products", str(products - have)], env)
        print(f"  seeded in {time.monotonic() - started:.0f} s", flush=True)


class Backend:
    """SQLite in `folder`, or a PostgreSQL cluster kept in `folder` between runs."""

    def __init__(self, name: str, folder: Path, fresh: bool = False):
        self.name = name
        self.folder = folder
        self.fresh = fresh  # start from an empty database (else keep what an earlier run seeded)
        self.pg: PostgresServer | None = None

    def __enter__(self) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.name == "sqlite":
            path = self.folder / "bench.db"
            if self.fresh:
                for leftover in self.folder.glob("bench.db*"):
                    leftover.unlink()
            return f"sqlite:///{path}"
        self.pg = PostgresServer(self.folder / "pg").start()
        if self.pg.has_database("bench") and not self.fresh:
            return self.pg.url("bench")
        return self.pg.create_database("bench")

    def __exit__(self, *exc) -> None:
        if self.pg:
            self.pg.stop()


def app_env(instance: Path, database_url: str, redis_url: str, **extra: str) -> dict:
    instance.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "SHOP_INSTANCE_DIR": str(instance),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "bench-secret-key-" + "x" * 32,
        "PYTHONPATH": str(ROOT),
        **extra,
    }


class Gunicorn:
    """The app (or the baseline) the way the project serves it: gunicorn, 2 workers."""

    def __init__(self, app: str, env: dict, workers: int = 2):
        self.port = free_port()
        self.log = open(env.get("SHOP_INSTANCE_DIR", "/tmp") + f"/gunicorn-{self.port}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            gunicorn_command(self.port, workers=workers, app=app), cwd=ROOT, env=env, stdout=self.log, stderr=self.log
        )
        wait_for_port(self.port, timeout=120, proc=self.proc)
        self._wait_ready(workers, timeout=900)

    def _wait_ready(self, workers: int, timeout: float) -> None:
        """Until every worker has built its catalog index and takes connections: the
        port opens at once, and a run started before then was served by one worker
        (gunicorn.conf.py logs a line per worker when it is ready)."""
        deadline = time.monotonic() + timeout
        path = self.log.name
        while time.monotonic() < deadline:
            with open(path) as log:
                if log.read().count(READY_LINE) >= workers:
                    return
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {path}")
            time.sleep(0.2)
        raise TimeoutError(f"gunicorn workers not ready after {timeout:.0f} s; see {path}")

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


def wrk(url: str, seconds: int, connections: int, script: str = "latency.lua", args=(), headers=()) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(ROOT / "bench" / script)]
    for header in headers:
        cmd += ["-H", header]
    cmd.append(url)
    if args:
        cmd += ["--", *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def need_wrk() -> bool:
    if shutil.which("wrk"):
        return True
    print("wrk is needed: apt-get install wrk", file=sys.stderr)
    return False


def warm(url: str, times: int = 4, timeout: float = 600) -> None:
    """Ask a few times (each worker's first render of a page compiles its templates)."""
    import requests

    for _ in range(times):
        requests.get(url, timeout=timeout).raise_for_status()


class Ticker(threading.Thread):
    """Calls `action()` `per_second` times a second until stopped; counts errors."""

    def __init__(self, action, per_second: float):
        super().__init__(daemon=True)
        self.action = action
        self.interval = 1.0 / per_second
        self.stopping = threading.Event()
        self.done = 0
        self.errors = 0

    def run(self) -> None:
        next_at = time.monotonic()
        while not self.stopping.is_set():
            try:
                self.action()
                self.done += 1
            except Exception:  # noqa: BLE001 - counted, reported
                self.errors += 1
            next_at += self.interval
            self.stopping.wait(max(0.0, next_at - time.monotonic()))

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)


def table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    head = "| " + " | ".join(title for _, title in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(str(r.get(key, "")) for key, _ in columns) + " |" for r in rows]
    return "\n".join([head, rule, *body])

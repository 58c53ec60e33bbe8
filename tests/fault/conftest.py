"""The fault tier: the real processes (gunicorn, a Celery worker and beat,
redis-server, PostgreSQL, an SMTP server) started here, then broken on purpose
by the tests: Redis stopped, the worker killed, SMTP slow, PostgreSQL restarted.
One stack for the whole tier (starting it takes most of the time); each test
uses its own shoppers' addresses, so what it counts is its own."""

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import select

from shop import create_app
from shop.devstack import beat_command, worker_command
from shop.extensions import db
from shop.notifications.models import OutboxEmail
from shop.reference import load_reference_data
from tests.support.factories import make_producer, make_product
from tests.support.mail import LocalSmtpServer
from tests.support.servers import ROOT, PostgresServer, RedisServer, WebServer

MAIL_TIMEOUT = 1


class FaultStack:
    def __init__(self, base: Path):
        self.base = base
        self.pg = PostgresServer(base / "pg").start()
        self.redis = RedisServer().start()
        self.smtp = LocalSmtpServer().start()
        self.db_url = self.pg.create_database("shop")
        self.env = {
            "SHOP_INSTANCE_DIR": str(base),
            "DATABASE_URL": self.db_url,
            "REDIS_URL": self.redis.url,
            "SECRET_KEY": "fault-tier-" + secrets.token_hex(16),
            "MAIL_SERVER": self.smtp.host,
            "MAIL_PORT": str(self.smtp.port),
            "MAIL_USE_TLS": "0",
            "MAIL_TIMEOUT": str(MAIL_TIMEOUT),
            "OUTBOX_SWEEP_SECONDS": "1",
            "OUTBOX_SWEEP_MIN_AGE_SECONDS": "1",
            "OUTBOX_RETRY_SECONDS": "1",
            "PAGE_CACHE_SECONDS": "0",
            "VALUE_CACHE_SECONDS": "0",
            "PYTHONUNBUFFERED": "1",
        }
        self.app = create_app("testing", SQLALCHEMY_DATABASE_URI=self.db_url, MEDIA_DIR=str(base / "media"))
        self.ctx = self.app.app_context()
        self.ctx.push()
        upgrade()
        load_reference_data()
        self.variant_ids = self._catalog()
        db.session.remove()
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: list = []
        self.web = WebServer(self.env, base / "gunicorn.log")
        self.env["SITE_URL"] = self.web.url
        self.web.env = self.env
        self.web.start()
        self.start("worker")
        self.start("beat")

    def _catalog(self) -> list[int]:
        honey = make_producer("HTX ong Phong Thổ", province_name="Tuyên Quang")
        honey.email = "don@ongphongtho.example.vn"
        db.session.commit()
        product = make_product("Mật ong bạc hà", producer=honey, prices=(180_000, 320_000), stock=10_000)
        return [v.id for v in product.variants]

    def start(self, kind: str) -> subprocess.Popen:
        command = worker_command(1, "--pool", "prefork") if kind == "worker" else beat_command(self.base / "beat")
        log = open(self.base / f"{kind}.log", "ab")  # noqa: SIM115 - closed in stop()
        self.logs.append(log)
        proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT)
        self.procs[kind] = proc
        return proc

    def wait_for_worker(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b" ready." in (self.base / "worker.log").read_bytes():
                return
            time.sleep(0.2)
        raise TimeoutError("the worker did not start")

    def outbox(self, to: str) -> list[OutboxEmail]:
        db.session.remove()
        return list(db.session.scalars(select(OutboxEmail).where(OutboxEmail.to_email == to)))

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in self.logs:
            log.close()
        self.web.stop()
        with contextlib.suppress(Exception):  # its connection may be one PostgreSQL's restart cut
            db.session.remove()
        db.engine.dispose()
        self.ctx.pop()
        self.smtp.stop()
        self.redis.stop()
        self.pg.stop()


@pytest.fixture(scope="module")  # its app context must not outlive the tier: later tests would run inside it
def stack():
    base = Path(tempfile.mkdtemp(prefix="ocop-fault-"))
    base.chmod(0o755)  # the postgres user must reach its cluster inside
    built = FaultStack(base)
    built.wait_for_worker()
    yield built
    built.stop()
    shutil.rmtree(base / "pg", ignore_errors=True)  # the logs stay for a failure to be read

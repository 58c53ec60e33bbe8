"""`make cluster`: the shop as it runs on many machines, on 127.0.0.1.

nginx (port 7400) balances two gunicorn nodes (7401, 7402), each started from its
own working directory with nothing shared on disk; two Celery workers on separate
queues (mail + default, stock + default) and one beat; PostgreSQL 15 (7410) behind
pgbouncer in transaction pool mode (7409; `CLUSTER_PGBOUNCER=0` connects straight to
PostgreSQL), redis-server (7411), an S3-compatible store (moto server, 7412) holding
every photo, document and import; localstripe (7413) unless STRIPE_SECRET_KEY is set;
and a local SMTP server (7414) that keeps each e-mail as a .eml file. Ctrl-C stops
everything. `CLUSTER_PORT=7500 make cluster` moves the whole range; the data stay
in `CLUSTER_DIR` (default instance/cluster) between runs.

tests/cluster drives the same `Cluster` class: stopping one web node under load,
SIGKILLing a worker mid-task."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from email import message_from_bytes
from pathlib import Path
from typing import TYPE_CHECKING

from shop.devstack import WORKER_ARGS
from shop.localservers import Nginx, PgBouncer, PostgresServer, RedisServer, S3Server, wait_for_port

if TYPE_CHECKING:
    from aiosmtpd.controller import Controller

    from shop.payments.localstripe_runner import LocalStripe

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "cho-ocop"


class MailSink:
    """A local SMTP server (aiosmtpd) that writes each message to `folder` as a .eml file;
    `delay` seconds per message makes a slow relay (tests kill a worker while it waits)."""

    def __init__(self, folder: Path, port: int, delay: float = 0.0):
        self.folder, self.port, self.delay = folder, port, delay
        self.controller: Controller | None = None

    def start(self) -> MailSink:
        from aiosmtpd.controller import Controller

        self.folder.mkdir(parents=True, exist_ok=True)
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
                if sink.delay:
                    await asyncio.sleep(sink.delay)
                name = f"{time.time():.6f}-{secrets.token_hex(4)}.eml"
                (sink.folder / name).write_bytes(envelope.original_content or envelope.content)
                return "250 OK"

        controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        controller.start()
        self.controller = controller
        return self

    def messages(self) -> list:
        return [message_from_bytes(p.read_bytes()) for p in sorted(self.folder.glob("*.eml"))]

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()


class Process:
    """One process of the cluster, in its own working directory, logging to a file there."""

    def __init__(self, name: str, cmd: list[str], cwd: Path, env: dict[str, str]):
        self.name, self.cmd, self.cwd, self.env = name, cmd, cwd, env
        self.proc: subprocess.Popen | None = None

    def start(self) -> Process:
        self.cwd.mkdir(parents=True, exist_ok=True)
        log = open(self.cwd / f"{self.name}.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            self.cmd, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 20) -> None:
        if self.proc is None or not self.running():
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the process and every child it made (a machine that died)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def log(self) -> str:
        path = self.cwd / f"{self.name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


class Cluster:
    """The whole topology on loopback ports `port`..`port+14`, data under `base`."""

    def __init__(
        self,
        base: Path,
        port: int = 7400,
        env: dict[str, str] | None = None,
        seed: bool = True,
        seed_options: tuple[str, ...] = (),
        web_workers: int = 2,
        mail_delay: float = 0.0,
        pgbouncer: bool = True,
    ):
        self.base = Path(base)
        self.port = port
        self.extra_env = env or {}
        self.seed = seed
        self.seed_options = seed_options  # e.g. ("--no-images", "--no-orders") for the tests
        self.web_workers = web_workers
        self.web_ports = [port + 1, port + 2]
        self.postgres = PostgresServer(self.base / "postgres", port=port + 10)
        # Every node, worker and the migrations reach PostgreSQL through pgbouncer, as in
        # production: 20 server connections shared by all their pools.
        self.pgbouncer = (
            PgBouncer(self.base / "pgbouncer", self.postgres, port=port + 9, pool_size=20) if pgbouncer else None
        )
        self.redis = RedisServer(port=port + 11)
        self.s3 = S3Server(log_path=None, port=port + 12)
        self.mail = MailSink(self.base / "mail", port + 14, delay=mail_delay)
        self.stripe: LocalStripe | None = None
        self.nginx = Nginx(self.base / "nginx", port, self.web_ports)
        self.webs: list[Process] = []
        self.workers: dict[str, Process] = {}
        self.beat: Process | None = None
        self.env: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_port(self) -> int:
        """Where the shop's processes connect: pgbouncer, or PostgreSQL itself without it."""
        return self.pgbouncer.port if self.pgbouncer else self.postgres.port

    # --- start ---------------------------------------------------------------------------

    def _secret(self) -> str:
        path = self.base / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
        return path.read_text().strip()

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("STORAGE_", "S3_", "SHOP_INSTANCE"))}
        env.update(
            PYTHONPATH=str(ROOT),
            SHOP_ENV="development",
            SECRET_KEY=self._secret(),  # the same on every node: sessions are signed with it
            DATABASE_URL=f"postgresql://postgres@127.0.0.1:{self.database_port}/shop",
            DB_PGBOUNCER="1" if self.pgbouncer else "0",
            REDIS_URL=self.redis.url,
            SITE_URL=self.url,
            STORAGE_CHECK_ON_START="1",
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=str(self.mail.port),
            MAIL_USE_TLS="0",
            PROXY_FIX_HOPS="1",
            FORWARDED_ALLOW_IPS="127.0.0.1",
            LOG_FORMAT="json",
            OUTBOX_SWEEP_SECONDS="10",
            OUTBOX_SWEEP_MIN_AGE_SECONDS="10",
        )
        env.update(self.s3.config(BUCKET))  # STORAGE_BACKEND=s3 and the bucket on the moto server
        env.update(self.extra_env)
        return env

    def _python(self, *args: str) -> list[str]:
        return [sys.executable, *args]

    def _prepare_database(self) -> None:
        if not self.postgres.has_database("shop"):
            self.postgres.create_database("shop")
        setup = self.base / "setup"
        env = {**self.env, "SHOP_INSTANCE_DIR": str(setup)}
        setup.mkdir(parents=True, exist_ok=True)
        flask = self._python("-m", "flask", "--app", "wsgi")
        steps = [[*flask, "db", "upgrade"]]
        if self.seed:
            steps.append([*flask, "seed-demo", "--if-empty", *self.seed_options])
        for step in steps:
            done = subprocess.run(step, cwd=setup, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(step[3:])} failed:\n{done.stderr[-3000:]}")
            if done.stdout.strip():
                print("  " + done.stdout.strip().splitlines()[-1], flush=True)

    def _start_stripe(self) -> None:
        if self.env.get("STRIPE_SECRET_KEY"):
            return
        from shop.payments.localstripe_runner import LocalStripe

        self.stripe = stripe = LocalStripe(port=self.port + 13, log_path=self.base / "localstripe.log").start()
        self.env.update(
            STRIPE_SECRET_KEY="sk_test_cluster",
            STRIPE_PUBLISHABLE_KEY="pk_test_cluster",
            STRIPE_API_BASE=stripe.api_base,
            STRIPE_JS_URL=stripe.js_url,
            STRIPE_WEBHOOK_SECRET="whsec_cluster_" + secrets.token_hex(12),
        )
        stripe.register_webhook(f"{self.url}/webhooks/stripe", self.env["STRIPE_WEBHOOK_SECRET"])

    def web(self, i: int) -> Process:
        node = self.base / f"web{i + 1}"
        env = {**self.env, "SHOP_INSTANCE_DIR": str(node), "PROMETHEUS_MULTIPROC_DIR": str(node / "metrics")}
        cmd = self._python(
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{self.web_ports[i]}",
            "--workers",
            str(self.web_workers),
            "wsgi:app",
        )
        return Process(f"web{i + 1}", cmd, node, env)

    def start_web(self, i: int) -> Process:
        proc = self.web(i).start()
        if len(self.webs) > i:
            self.webs[i] = proc
        else:
            self.webs.append(proc)
        wait_for_port(self.web_ports[i], timeout=90, proc=proc.proc)
        return proc

    def worker(self, name: str) -> Process:
        queues = {"mail": "mail,default", "stock": "stock,default"}[name]
        node = self.base / f"worker-{name}"
        env = {**self.env, "SHOP_INSTANCE_DIR": str(node)}
        cmd = self._python(
            "-m",
            "celery",
            "-A",
            "worker.celery_app",
            "worker",
            "-Q",
            queues,
            "-n",
            f"{name}@%h",
            "--concurrency",
            "2",
            *WORKER_ARGS,  # the flags that keep a worker alive through broker outages
            "--loglevel",
            "INFO",
        )
        return Process(f"worker-{name}", cmd, node, env)

    def start_worker(self, name: str) -> Process:
        self.workers[name] = self.worker(name).start()
        return self.workers[name]

    def start(self) -> Cluster:
        self.base.mkdir(parents=True, exist_ok=True)
        self.postgres.start()
        if self.pgbouncer:
            self.pgbouncer.start()
        self.redis.start()
        self.s3.start()
        self.s3.create_bucket(BUCKET)
        self.mail.start()
        self.env = self._environment()
        self._start_stripe()
        self._prepare_database()
        for i in range(len(self.web_ports)):
            self.start_web(i)
        self.start_worker("mail")
        self.start_worker("stock")
        beat_dir = self.base / "beat"
        self.beat = Process(
            "beat",
            self._python("-m", "celery", "-A", "worker.celery_app", "beat", "--schedule", str(beat_dir / "schedule")),
            beat_dir,
            {**self.env, "SHOP_INSTANCE_DIR": str(beat_dir)},
        ).start()
        self.nginx.start()
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=5) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise TimeoutError("the cluster did not become ready through nginx")

    # --- stop ----------------------------------------------------------------------------

    def stop(self) -> None:
        self.nginx.stop()
        for proc in [*self.webs, *self.workers.values(), *([self.beat] if self.beat else [])]:
            proc.stop()
        if self.stripe is not None:
            self.stripe.stop()
        self.mail.stop()
        self.s3.stop()
        self.redis.stop()
        if self.pgbouncer:
            self.pgbouncer.stop()
        self.postgres.stop()


def main() -> int:
    port = int(os.environ.get("CLUSTER_PORT", "7400"))
    base = Path(os.environ.get("CLUSTER_DIR", ROOT / "instance" / "cluster")).resolve()
    print(f"Starting the cluster under {base} (ports {port}–{port + 14})…", flush=True)
    cluster = Cluster(base, port=port, pgbouncer=os.environ.get("CLUSTER_PGBOUNCER", "1") != "0")
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        cluster.start()
        through = (
            f" through pgbouncer 127.0.0.1:{cluster.pgbouncer.port} (transaction pooling)" if cluster.pgbouncer else ""
        )
        print(
            f"""
Chợ OCOP on two nodes: {cluster.url}
  nginx {port} → gunicorn {cluster.web_ports[0]} ({base / "web1"}), {cluster.web_ports[1]} ({base / "web2"})
  Celery: worker-mail (mail, default), worker-stock (stock, default), one beat
  PostgreSQL 127.0.0.1:{cluster.postgres.port}{through}
  Redis {cluster.redis.url}, S3 {cluster.s3.url} (bucket {BUCKET})
  E-mails: {cluster.mail.folder}/*.eml · metrics: {cluster.url}/metrics · readiness: {cluster.url}/readyz
Demo logins (password demo12345): khach@demo.ocop.vn (shopper), nongdan@demo.ocop.vn (producer),
  vanhanh@demo.ocop.vn (operator). Test card 4242 4242 4242 4242.
Ctrl-C stops everything.""",
            flush=True,
        )
        while not stopping.is_set():
            for proc in [*cluster.webs, *cluster.workers.values(), cluster.beat]:
                if proc is not None and not proc.running():
                    print(f"{proc.name} stopped (see {proc.cwd / (proc.name + '.log')}); stopping the cluster.")
                    stopping.set()
            stopping.wait(1)
    except KeyboardInterrupt:
        pass
    finally:
        print("Stopping…", flush=True)
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

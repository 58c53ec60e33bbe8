"""Real servers on 127.0.0.1 for `make cluster` and the test suite: PostgreSQL (initdb
as the postgres user when run as root), pgbouncer in front of it, redis-server, an
S3-compatible store (moto in server mode) and nginx. Each lives in a folder it is
given and stops when asked."""

import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


def terminate(proc: subprocess.Popen | None, timeout: float = 10) -> None:
    """SIGTERM a server we started, SIGKILL it if it is still there after `timeout` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: drop to the postgres user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class PostgresServer:
    """A throw-away PostgreSQL cluster (initdb + pg_ctl). `base` must be a
    directory the postgres user can reach (e.g. made by tempfile.mkdtemp in /tmp)."""

    def __init__(self, base: Path, port: int | None = None):
        self.base = base
        self.data = base / "data"
        self.port = port or free_port()

    def start(self) -> "PostgresServer":
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"PostgreSQL binaries not found in {PG_BIN} (apt-get install postgresql-15)")
        self.base.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
            os.chmod(self.base, 0o755)
        if not (self.data / "PG_VERSION").exists():  # a kept cluster (benchmarks) starts as it is
            self._initdb()
        self._pg_ctl_start()
        return self

    def _initdb(self) -> None:
        subprocess.run(
            _as_postgres(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def _pg_ctl_start(self) -> None:
        opts = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        log = self.base / "pg.log"
        started = subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(log), "-o", opts, "-w", "start"]),
            capture_output=True,
            text=True,
        )
        if started.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start on port {self.port}: {started.stdout}{started.stderr}{tail}")

    def has_database(self, name: str) -> bool:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str, template: str | None = None) -> str:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            # FILE_COPY: a copy of a small template in one step (the default, WAL_LOG, writes it
            # through the WAL: 104-144 against 80-84 ms a copy of the tests' 11 MB template).
            copy = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, cutting any session still connected to it."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self, mode: str = "immediate") -> None:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]), capture_output=True
        )

    def restart(self, down_seconds: float = 0) -> None:
        """Stop as an operator would (`fast`: sessions are cut), stay down, start again."""
        self.stop("fast")
        time.sleep(down_seconds)
        self._pg_ctl_start()


PGBOUNCER_CONF = """[databases]
* = host=127.0.0.1 port={pg_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {base}/userlist.txt
admin_users = postgres
pool_mode = {pool_mode}
default_pool_size = {pool_size}
max_client_conn = 500
logfile = {base}/pgbouncer.log
"""


class PgBouncer:
    """Debian's pgbouncer on a free loopback port in front of a PostgresServer, in
    `transaction` pool mode (as production runs it): each transaction may get another
    server connection. `pool_size` server connections per database and user.
    pgbouncer refuses to run as root: it then runs as the postgres user."""

    def __init__(self, base: Path, postgres: PostgresServer, port: int | None = None, pool_size: int = 4):
        self.base, self.postgres = base, postgres
        self.port = port or free_port()
        self.pool_size = pool_size
        self.proc: subprocess.Popen | None = None

    def start(self, pool_mode: str = "transaction") -> "PgBouncer":
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not Path(binary).exists():
            raise RuntimeError("pgbouncer not found (apt-get install pgbouncer)")
        self.base.mkdir(parents=True, exist_ok=True)
        (self.base / "userlist.txt").write_text('"postgres" ""\n')
        conf = self.base / "pgbouncer.ini"
        conf.write_text(
            PGBOUNCER_CONF.format(
                base=self.base,
                port=self.port,
                pg_port=self.postgres.port,
                pool_mode=pool_mode,
                pool_size=self.pool_size,
            )
        )
        as_user: dict = {}
        if os.geteuid() == 0:
            for path in (self.base, *self.base.iterdir()):
                shutil.chown(path, "postgres", "postgres")
            as_user = {"user": "postgres", "group": "postgres", "extra_groups": []}
        self.proc = subprocess.Popen(
            [binary, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **as_user
        )
        wait_for_port(self.port, timeout=20, proc=self.proc)
        return self

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def admin(self, command: str) -> list[dict]:
        """A command on pgbouncer's console (`SHOW POOLS`, `KILL shop`, …) and the rows it gives."""
        import psycopg
        from psycopg.rows import dict_row

        dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=pgbouncer"
        with psycopg.connect(dsn, autocommit=True, prepare_threshold=None, row_factory=dict_row) as conn:
            cursor = conn.execute(command)
            return cursor.fetchall() if cursor.description else []

    def stop(self) -> None:
        terminate(self.proc)  # pgbouncer 1.18: SIGTERM shuts down at once


class RedisServer:
    """A real redis-server on a free loopback port, with no persistence."""

    def __init__(self, *extra_args: str, port: int | None = None):
        self.port = port or free_port()
        self.extra_args = extra_args  # e.g. "--maxmemory", "1mb"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found (apt-get install redis-server)")
        self.proc = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"]
            + list(self.extra_args),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, proc=self.proc)
        return self

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class S3Server:
    """A real S3-compatible server (moto in server mode) on a free loopback port."""

    def __init__(self, log_path: Path | None = None, port: int | None = None):
        self.port = port or free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> "S3Server":
        out = open(self.log_path, "w") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        if not isinstance(out, int):  # a file, not DEVNULL
            out.close()  # the server holds its own copy
        wait_for_port(self.port, timeout=60, proc=self.proc)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self, bucket: str) -> dict:
        """The app settings that put its files into `bucket` on this server."""
        return {
            "STORAGE_BACKEND": "s3",
            "S3_BUCKET": bucket,
            "S3_ENDPOINT_URL": self.url,
            "S3_REGION": "us-east-1",
            "S3_ACCESS_KEY_ID": "test",
            "S3_SECRET_ACCESS_KEY": "test",
            "S3_ADDRESSING_STYLE": "path",
        }

    def create_bucket(self, bucket: str) -> str:
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=bucket)
        return bucket

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


NGINX_CONF = """daemon off;
worker_processes 1;
pid {base}/nginx.pid;
error_log {base}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {base}/access.log;
    client_body_temp_path {base}/client_body;
    proxy_temp_path {base}/proxy;
    fastcgi_temp_path {base}/fastcgi;
    uwsgi_temp_path {base}/uwsgi;
    scgi_temp_path {base}/scgi;
    client_max_body_size 25m;
    # Request lines up to 16 KB reach the app, which answers one over 8 KB with its own 414 page.
    large_client_header_buffers 4 16k;

    upstream shop {{
{servers}
    }}

    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://shop;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Forwarded-Port $server_port;
            proxy_set_header X-Request-ID $request_id;
            # A node that refuses the connection or answers 502/503/504 is skipped. nginx
            # never resends a POST once it reached a node (no "non_idempotent"): an order
            # is placed once; the checkout's own key makes the shopper's retry safe.
            proxy_next_upstream error timeout http_502 http_503 http_504;
            proxy_next_upstream_tries 2;
            proxy_connect_timeout 2s;
            proxy_read_timeout 75s;
        }}
    }}
}}
"""


class Nginx:
    """nginx (Debian's) in the foreground from a folder of its own, balancing `upstreams`."""

    def __init__(self, base: Path, port: int, upstreams: list[int]):
        self.base, self.port, self.upstreams = base, port, upstreams
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Nginx":
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            raise RuntimeError("nginx not found (apt-get install nginx)")
        self.base.mkdir(parents=True, exist_ok=True)
        servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in self.upstreams)
        conf = self.base / "nginx.conf"
        conf.write_text(NGINX_CONF.format(base=self.base, port=self.port, servers=servers))
        with open(self.base / "stderr.log", "w") as err:  # the child keeps its own copy
            self.proc = subprocess.Popen(
                [binary, "-c", str(conf), "-p", str(self.base), "-e", str(self.base / "error.log")],
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        wait_for_port(self.port, timeout=20, proc=self.proc)
        return self

    def stop(self) -> None:
        terminate(self.proc)  # nginx: SIGTERM is a fast shutdown

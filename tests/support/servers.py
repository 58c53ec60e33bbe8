"""Start real local servers for the tests: PostgreSQL, Redis, S3 (shop.localservers)
and the web app under gunicorn.

Each is bound to 127.0.0.1 on a free port, lives in a temporary directory,
and is stopped by the fixture that started it."""

import os
import subprocess
from pathlib import Path

from shop.devstack import gunicorn_command
from shop.localservers import PG_BIN, PostgresServer, RedisServer, S3Server, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
__all__ = ["PG_BIN", "ROOT", "PostgresServer", "RedisServer", "S3Server", "WebServer", "free_port", "wait_for_port"]


class WebServer:
    """The real app under gunicorn, for end-to-end tests."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.port = free_port()
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> "WebServer":
        env = {**os.environ, **self.env}
        self.log = open(self.log_path, "w")  # noqa: SIM115 - kept open for the server's life
        self.proc = subprocess.Popen(
            gunicorn_command(self.port),
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, timeout=60, proc=self.proc)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)
        self.log.close()

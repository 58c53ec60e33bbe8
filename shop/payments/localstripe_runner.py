"""Run localstripe, the fake Stripe API and Stripe.js, on loopback: for the tests
and for `make run` without Stripe keys. Never used in production.

localstripe's own command line listens on every interface; this starts its
aiohttp app on 127.0.0.1 only, in a child process that lives as long as the
`LocalStripe` object that started it."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import closing
from pathlib import Path
from typing import TextIO

# localstripe pickles its whole store to /tmp/localstripe.pickle after every write:
# one file shared by every instance on the machine, and slower with each object.
# The fake only needs to live in memory for as long as it runs.
_SERVER = """
import sys

import aiohttp.web
from localstripe import resources
from localstripe.server import app

resources.Store.dump_to_disk = lambda self: None
aiohttp.web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""

# Card numbers the fake Stripe.js understands (see MACHINE-NOTES / localstripe).
TEST_CARDS = (
    ("4242424242424242", "thành công / succeeds"),
    ("4000002500003155", "hỏi 3-D Secure / asks for 3-D Secure"),
    ("4000000000000341", "bị từ chối khi trừ tiền / declined when charged"),
    ("4000000000000002", "bị từ chối khi nhập thẻ / declined at set-up"),
)


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class LocalStripe:
    """localstripe on 127.0.0.1:`port` (a free one by default)."""

    def __init__(self, port: int | None = None, log_path: Path | None = None):
        self.port = port or free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self._log: TextIO | None = None

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def js_url(self) -> str:
        return f"{self.api_base}/js.stripe.com/v3/"

    def start(self, timeout: float = 30.0) -> "LocalStripe":
        if self.log_path is not None:
            self._log = open(self.log_path, "w")  # noqa: SIM115 - kept open for the server's life
        out = self._log or subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER, str(self.port)],
            stdout=out,
            stderr=subprocess.STDOUT if self._log else subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"localstripe exited with {self.proc.returncode} before listening")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"localstripe did not listen on 127.0.0.1:{self.port}") from None
                time.sleep(0.05)

    def _post(self, path: str, body: dict) -> None:
        request = urllib.request.Request(
            self.api_base + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            response.read()

    def register_webhook(
        self, url: str, secret: str, events: list[str] | None = None, webhook_id: str = "shop"
    ) -> None:
        """Have localstripe POST its events (signed with `secret`) to `url`, about a
        second after they happen. `events` limits the types; [] sends none."""
        body: dict = {"url": url, "secret": secret}
        if events is not None:
            body["events"] = events
        self._post(f"/_config/webhooks/{webhook_id}", body)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None

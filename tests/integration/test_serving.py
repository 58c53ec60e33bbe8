"""The web workers (shop/serving.py) under the project's gunicorn.conf.py: a worker
whose threads are all busy leaves new connections to a worker with a free thread."""

import os
import socket
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from shop.devstack import gunicorn_command
from shop.serving import READY_LINE
from tests.support.servers import ROOT, free_port, wait_for_port


def _ask(port: int) -> str:
    """One request on its own kept-alive connection; the worker's pid."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data or not data.split(b"\r\n\r\n", 1)[1]:
            chunk = conn.recv(4096)
            assert chunk, data
            data += chunk
    return data.split(b"\r\n\r\n", 1)[1].decode()


def test_connections_go_to_the_worker_with_a_free_thread(tmp_path):
    port = free_port()
    env = {**os.environ, "GUNICORN_THREADS": "2", "PYTHONPATH": str(ROOT)}
    with open(tmp_path / "gunicorn.log", "w") as log:
        server = subprocess.Popen(
            gunicorn_command(port, workers=2, app="tests.support.pid_app:app"),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, timeout=60, proc=server)
            for _ in range(5):
                # 4 requests of a second each at once, 2 workers of 2 threads: plain gthread
                # let the first worker to wake accept all 4 (two waited for a thread there).
                with ThreadPoolExecutor(4) as pool:
                    pids = Counter(pool.map(lambda _: _ask(port), range(4)))
                assert sorted(pids.values()) == [2, 2], pids
        finally:
            server.terminate()
            server.wait(30)
    log = (tmp_path / "gunicorn.log").read_text()
    assert "Using worker: shop.serving.BalancedThreadWorker" in log
    assert log.count(READY_LINE) == 2  # what bench/common.py waits for

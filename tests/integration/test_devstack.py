"""`make run` keeps its worker and beat alive: one that dies is started again
and the output says so; the web server dying stops the stack."""

import os
import signal
import sys
import time

from shop.devstack import Supervisor, worker_command

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def _stop(stack: Supervisor) -> None:
    for proc in stack.procs.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def test_a_worker_that_dies_is_started_again_and_the_output_says_so():
    said: list[str] = []
    stack = Supervisor(
        {"web": SLEEPER, "worker": SLEEPER, "beat": SLEEPER},
        dict(os.environ),
        out=lambda text, **_: said.append(text),
    )
    try:
        first = stack.procs["worker"]
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        assert stack.check()
        assert said == ["worker exited with -9; starting it again (1 restart(s) in 5 min)."]
        assert stack.procs["worker"] is not first and stack.procs["worker"].poll() is None
        assert stack.procs["beat"].poll() is None
    finally:
        _stop(stack)


def test_a_worker_that_keeps_dying_is_restarted_three_times_then_every_30_seconds():
    said: list[str] = []
    dies = [sys.executable, "-c", "raise SystemExit(3)"]
    stack = Supervisor({"web": SLEEPER, "worker": dies}, dict(os.environ), out=lambda text, **_: said.append(text))
    try:
        deadline = time.monotonic() + 20
        while len(said) < 3 and time.monotonic() < deadline:
            assert stack.check()
            time.sleep(0.2)
        stack.procs["worker"].wait(10)
        for _ in range(5):
            assert stack.check()
        assert len(said) == 3 and all(line.startswith("worker exited with 3; starting it again") for line in said)
    finally:
        _stop(stack)


def test_the_web_server_dying_stops_the_stack():
    said: list[str] = []
    stack = Supervisor(
        {"web": [sys.executable, "-c", "raise SystemExit(1)"], "worker": SLEEPER},
        dict(os.environ),
        out=lambda text, **_: said.append(text),
    )
    try:
        stack.procs["web"].wait(10)
        assert stack.check() is False
        assert said == ["web exited with 1; stopping the rest."]
    finally:
        _stop(stack)


def test_workers_are_started_without_gossip_mingle_or_heartbeats():
    command = worker_command(2)
    assert {"--without-gossip", "--without-mingle", "--without-heartbeat"} <= set(command)

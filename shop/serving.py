"""The web workers' gunicorn worker class (named in gunicorn.conf.py).

Gunicorn's gthread worker accepts every connection it is woken for, whether or not a
thread is free, and a kept-alive connection stays with the worker that accepted it.
Under a load balancer or a benchmark holding 8 connections open, one of two workers
was seen taking all 8 (its process at 100% of a core, the other idle: 0.07 s of CPU
against 8.85 s in 8 s, gunicorn issue #3433), so CPU-bound pages ran on one core.
This worker stops accepting while all its threads are busy, and starts again when
one is free: connections go to a worker that can serve them now, or wait in the
kernel's queue for the first that can. Kept-alive connections that are idle take no
thread and do not count. Restarts are unchanged (one shared listening socket, unlike
``reuse_port``, whose per-worker queues are dropped when a worker stops)."""

from __future__ import annotations

from gunicorn.workers.gthread import ThreadWorker

# Logged by each worker once it takes connections (gunicorn.conf.py's post_worker_init,
# after the catalog index is built); the benchmarks wait for one line per worker.
READY_LINE = "Worker ready to serve"


class BalancedThreadWorker(ThreadWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.busy = 0  # connections handed to the thread pool and not finished

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled and self.busy < self.cfg.threads)

    def enqueue_req(self, conn) -> None:
        self.busy += 1
        super().enqueue_req(conn)
        self._accept_if_free()

    def finish_request(self, conn, fs) -> None:
        self.busy -= 1
        super().finish_request(conn, fs)
        self._accept_if_free()

    def _accept_if_free(self) -> None:
        # The same condition as gthread's loop; once stopping, never accept again.
        self.set_accept_enabled(self.alive and self.nr_conns < self.worker_connections)

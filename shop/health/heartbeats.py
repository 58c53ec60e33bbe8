"""Worker and beat heartbeats in Redis, for the operator console and /metrics.

Each worker process (and the one beat) writes `ocop:heartbeat:<name>` every
HEARTBEAT_SECONDS with a time-to-live of three beats: a key that is gone means a
process that stopped; its age says how long ago it last spoke."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time

from flask import current_app

log = logging.getLogger(__name__)
PREFIX = "ocop:heartbeat:"
HEARTBEAT_SECONDS = 10


def _client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def beat_once(url: str, name: str, kind: str, queues: list[str], seconds: int = HEARTBEAT_SECONDS) -> None:
    body = {"name": name, "kind": kind, "queues": queues, "host": socket.gethostname(), "at": time.time()}
    _client(url).set(PREFIX + name, json.dumps(body), ex=seconds * 3)


def start_heartbeat(url: str, name: str, kind: str, queues: list[str], seconds: int = HEARTBEAT_SECONDS):
    """A daemon thread saying `name` is alive every `seconds`; returns an Event that stops it."""
    stop = threading.Event()

    def run():
        while not stop.is_set():
            try:
                beat_once(url, name, kind, queues, seconds)
            except Exception:  # noqa: BLE001 - a missed beat shows as age, never stops the worker
                log.warning("heartbeat of %s not written", name, exc_info=True)
            stop.wait(seconds)

    threading.Thread(target=run, name=f"heartbeat-{name}", daemon=True).start()
    return stop


def read_heartbeats() -> list[dict]:
    """Every live heartbeat, oldest name first; [] when Redis does not answer."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return []
    try:
        client = _client(url)
        keys = sorted(client.scan_iter(match=PREFIX + "*", count=100))
        values = client.mget(keys) if keys else []
    except Exception:  # noqa: BLE001
        return []
    beats = []
    for raw in values:
        if raw:
            try:
                beats.append(json.loads(raw))
            except ValueError:
                continue
    return sorted(beats, key=lambda b: (b.get("kind", ""), b.get("name", "")))

"""Each process's near copies of shared entries, on a real redis-server: a hit costs
no round trip, and a purge made anywhere is never missed."""

import select
import subprocess
import sys

import pytest
import redis

from shop import cache as cache_module
from shop.cache import RedisStore
from tests.support.servers import ROOT

PREFIX = "near-test:"


def forget_near_caches() -> None:
    for near in cache_module._NEAR.values():
        near.forget()  # closes its subscription
    cache_module._NEAR.clear()


@pytest.fixture
def stores(redis_server):
    """Two stores on one Redis, as two processes see it: `here` keeps near copies, and
    `elsewhere` (no copies of its own) stands for another process or machine."""
    forget_near_caches()
    here = RedisStore(redis_server.url, prefix=PREFIX, near_bytes=4 * 1024 * 1024)
    elsewhere = RedisStore(redis_server.url, prefix=PREFIX)
    here.clear()
    yield here, elsewhere
    here.clear()
    forget_near_caches()
    for store in (here, elsewhere):
        store.client.close()


def stored(store: RedisStore, key: str, body: bytes, tags=("p:1", "lg:2")) -> None:
    s0 = store.get(key, ["z"]).seq
    store.set(key, s0, tags, {"z": body}, 60)


def from_near_copy(store: RedisStore, key: str) -> bytes | None:
    """What the near cache alone answers (None: the store would be asked)."""
    found = store.near.get(key, ["z"])
    return None if found is None else found[0]


def wait_for_message(store: RedisStore) -> None:
    """Until a purge message has reached this process's socket (bounded)."""
    poller = select.poll()
    poller.register(store.near.pubsub.connection._sock, select.POLLIN)
    assert poller.poll(2000), "the purge was not published"


def test_a_stored_entry_is_then_served_from_the_near_copy(stores):
    here, _elsewhere = stores
    stored(here, "pg:vi:/", b"home")
    assert from_near_copy(here, "pg:vi:/") == b"home"
    assert here.get("pg:vi:/", ["z"]).fields == [b"home"]


def test_an_entry_found_in_redis_is_copied_for_the_next_hit(stores):
    here, elsewhere = stores
    stored(elsewhere, "pg:vi:/", b"home")
    here.near.get("pg:vi:/", ["z"])  # subscribes
    assert from_near_copy(here, "pg:vi:/") is None
    assert here.get("pg:vi:/", ["z"]).fields == [b"home"]
    assert from_near_copy(here, "pg:vi:/") == b"home"


def test_a_purge_made_in_this_process_applies_before_it_returns(stores):
    here, _elsewhere = stores
    stored(here, "pg:vi:/", b"home")
    stored(here, "pg:vi:/other", b"other", tags=("p:9",))
    here.purge(["p:1"])
    assert from_near_copy(here, "pg:vi:/") is None
    assert here.get("pg:vi:/", ["z"]).fields is None
    assert from_near_copy(here, "pg:vi:/other") == b"other"


def test_a_purge_made_by_another_process_is_applied_before_the_next_hit(stores, redis_server):
    here, _elsewhere = stores
    stored(here, "pg:vi:/", b"home")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from shop.cache import RedisStore;"
        f"RedisStore(sys.argv[2], prefix={PREFIX!r}).purge(['lg:2'])"
    )
    subprocess.run([sys.executable, "-c", code, str(ROOT), redis_server.url], check=True, timeout=60)
    wait_for_message(here)
    assert from_near_copy(here, "pg:vi:/") is None
    assert here.get("pg:vi:/", ["z"]).fields is None


def test_a_render_older_than_a_purge_it_has_heard_is_not_copied(stores):
    here, elsewhere = stores
    here.near.get("x", ["z"])  # subscribes
    s0 = here.get("pg:vi:/", ["z"]).seq  # the render starts reading...
    elsewhere.purge(["p:1"])  # ...a change commits meanwhile...
    wait_for_message(here)
    here.near.get("x", ["z"])  # ...and this process hears of it
    here.set("pg:vi:/", s0, ["p:1"], {"z": b"stale"}, 60)
    assert from_near_copy(here, "pg:vi:/") is None
    assert here.get("pg:vi:/", ["z"]).fields is None  # nor is Redis's copy good


def test_a_broken_subscription_drops_the_copies_and_misses_no_purge(stores, redis_server):
    here, elsewhere = stores
    stored(here, "pg:vi:/", b"home")
    assert from_near_copy(here, "pg:vi:/") == b"home"
    with redis.Redis.from_url(redis_server.url) as killer:
        assert killer.client_kill_filter(_type="pubsub") >= 1
    elsewhere.purge(["p:1"])  # published while nobody here listens
    assert from_near_copy(here, "pg:vi:/") is None
    assert here.get("pg:vi:/", ["z"]).fields is None


def test_emptying_the_store_drops_every_processes_copies(stores):
    here, elsewhere = stores
    stored(here, "pg:vi:/", b"home")
    elsewhere.clear()  # its counter starts again from 0
    wait_for_message(here)
    assert from_near_copy(here, "pg:vi:/") is None
    stored(elsewhere, "pg:vi:/", b"new home")
    elsewhere.purge(["p:7"])
    assert here.get("pg:vi:/", ["z"]).fields == [b"new home"]


def test_copies_are_bounded_by_size_oldest_first(redis_server):
    forget_near_caches()
    store = RedisStore(redis_server.url, prefix=PREFIX, near_bytes=64 * 1024)
    try:
        store.clear()
        for n in range(40):
            stored(store, f"pg:vi:/{n}", bytes(3000))
        assert store.near.size <= 64 * 1024
        assert from_near_copy(store, "pg:vi:/0") is None
        assert from_near_copy(store, "pg:vi:/39") == bytes(3000)
        assert store.get("pg:vi:/0", ["z"]).fields == [bytes(3000)]  # still in Redis
    finally:
        store.clear()
        forget_near_caches()
        store.client.close()


def test_with_redis_down_nothing_is_served_from_copies(stores, redis_server):
    here, _elsewhere = stores
    stored(here, "pg:vi:/", b"home")
    redis_server.stop()
    try:
        assert from_near_copy(here, "pg:vi:/") is None
    finally:
        redis_server.start()

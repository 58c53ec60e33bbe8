"""The shared cache: whole pages and computed values, invalidated by tags.

Each entry names what it shows with tags (``p:12`` product 12's page, ``c:12``
its card wherever it appears, ``pr:3`` producer 3, ``lg:5`` listings of product
group 5, ``promo`` the promotion schedule, ...); a change purges just its tags
(the surrogate-key idea of Varnish xkey, Fastly and Magento's cache tags).

Purging never leaves a page that was rendered from data older than the purge:
every purge increments a counter ``seq`` and stamps each purged tag with the
new value. An entry keeps the value of ``seq`` read *before* its data were read
(``s0``) and is valid only while each of its tags was last stamped at or before
``s0``. A change is purged after its commit, so a render that might have read
the old data has ``s0`` below the stamp and is dropped. A tag that has never
been stamped (or was evicted) is stamped with the current ``seq`` when an entry
names it, so an eviction can only cost a render, never serve a stale page.

Redis (``REDIS_URL``) holds everything for every process and machine, with a
Lua script per operation so a page hit is one round trip. Without Redis an
in-process store does the same for one process. A store that fails is skipped
for a couple of seconds: a request then only costs a render, never a 500.

This module is the bottom layer: it knows nothing of pages, promotions or the
catalog. `shop.page_cache` builds the page cache on it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import redis
from flask import current_app, g, has_app_context

log = logging.getLogger(__name__)

# Tags every shared page carries: reference data (categories, provinces),
# the promotion schedule and the site settings shown on pages.
GLOBAL_TAGS = ("ref", "promo", "site")

# KEYS: the entry, the counter. ARGV: tag prefix, number of fields, the fields, then
# tags whose stamps a miss wants. A hit answers {1, seq, tags, ms to live, fields...}
# (what the process-local copy needs); a miss {0, seq, stamps...}: what a render
# needs to start, in the same round trip.
_GET = """
local nf = tonumber(ARGV[2])
local function miss()
  local keys = {KEYS[2]}
  for i = 3 + nf, #ARGV do keys[#keys + 1] = ARGV[1] .. ARGV[i] end
  local out = {0}
  for _, v in ipairs(redis.call('MGET', unpack(keys))) do out[#out + 1] = v or '' end
  return out
end
local h = redis.call('HMGET', KEYS[1], 's', 'g', unpack(ARGV, 3, 2 + nf))
if not h[1] then return miss() end
local s0 = tonumber(h[1])
if h[2] and h[2] ~= '' then
  local keys = {}
  for t in string.gmatch(h[2], '%S+') do keys[#keys + 1] = ARGV[1] .. t end
  local stamps = redis.call('MGET', unpack(keys))
  for i = 1, #keys do
    if not stamps[i] or tonumber(stamps[i]) > s0 then return miss() end
  end
end
local out = {1, redis.call('GET', KEYS[2]) or '0', h[2] or '', redis.call('PTTL', KEYS[1])}
for i = 3, #h do out[#out + 1] = h[i] or '' end
return out
"""

_SET = """
local seq = redis.call('GET', KEYS[2]) or '0'
for t in string.gmatch(ARGV[3], '%S+') do redis.call('SET', ARGV[1] .. t, seq, 'NX') end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 's', ARGV[2], 'g', ARGV[3], unpack(ARGV, 5))
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""

# KEYS: the counter, the channel. Each process's near cache hears of the purge.
_PURGE = """
local s = redis.call('INCR', KEYS[1])
for i = 2, #ARGV do redis.call('SET', ARGV[1] .. ARGV[i], s) end
redis.call('PUBLISH', KEYS[2], s .. ' ' .. table.concat(ARGV, ' ', 2))
return s
"""


@dataclass
class Lookup:
    """A store's answer: the entry's fields, or on a miss what a render starts from
    (the counter and the stamps asked for, read before any data)."""

    fields: list[bytes] | None
    seq: int | None
    stamps: dict[str, int | None]


class StoreDown(Exception):
    """The store did not answer; callers render without it."""


@dataclass
class _Copy:
    seq: int  # the counter when the copy was known good
    tags: tuple[str, ...]
    fields: dict[str, bytes]
    expires: float  # time.monotonic()
    size: int
    checked: int = -1  # the near cache's `heard` count when the tags were last checked


class NearCache:
    """Entries of the shared store copied into this process, so that a hit costs no
    round trip (the store is one network hop and, on a small machine, a context
    switch away: that round trip was most of a hit's time).

    A copy is trusted only while this process hears every purge. The store
    publishes each purge (its ``seq`` and tags) on a channel this process
    subscribes to, and what waits on that subscription is read before every
    look-up, so a purge committed before a request arrived is always applied
    before that request is answered. A copy taken when the counter was S stays
    good while none of its tags was stamped above S. When the subscription breaks
    (Redis restarted, a network fault, a subscriber dropped for falling behind),
    every copy is dropped, and copies start again from the counter read after
    subscribing again (``floor``): a purge is never missed, only copies lost.
    """

    def __init__(self, client: redis.Redis, channel: str, seq_key: str, max_bytes: int, max_tags: int = 200_000):
        self.client = client
        self.channel = channel
        self.seq_key = seq_key
        self.max_bytes = max_bytes
        self.max_tags = max_tags
        self.lock = threading.Lock()
        self.entries: OrderedDict[str, _Copy] = OrderedDict()
        self.size = 0
        self.stamps: dict[str, int] = {}
        self.floor = 0
        self.pubsub: Any = None
        self.poller: Any = None
        self.pid = 0
        self.retry_at = 0.0
        self.broken = False
        self.purges_heard = 0  # copies checked since the last purge need no new check

    def _reset(self, floor: int) -> None:
        self.entries.clear()
        self.size = 0
        self.stamps.clear()
        self.floor = floor
        self.purges_heard += 1

    def _drop(self, retry_after: float = 1.0) -> None:
        if self.pubsub is not None and self.pid == os.getpid():
            with contextlib.suppress(redis.RedisError, OSError):
                self.pubsub.close()
        self.pubsub = None
        self.poller = None
        self._reset(0)
        self.retry_at = time.monotonic() + retry_after

    def _connect(self) -> bool:
        now = time.monotonic()
        if now < self.retry_at:
            return False
        self.retry_at = now + 1.0
        pubsub = self.client.pubsub()
        try:
            pubsub.subscribe(self.channel)
            deadline = now + 0.5
            while True:
                message = pubsub.get_message(timeout=max(0.0, deadline - time.monotonic()))
                if message is not None and message["type"] == "subscribe":
                    break
                if time.monotonic() >= deadline:
                    raise TimeoutError("no subscription")
            # A reconnection redis-py makes on its own would resubscribe silently,
            # after purges that went unheard: notice it instead.
            pubsub.connection.register_connect_callback(self._reconnected)
            # Whether anything waits is asked of the socket itself (one poll), not
            # through get_message, which costs more than the rest of a hit.
            poller = select.poll()
            poller.register(pubsub.connection._sock, select.POLLIN | select.POLLERR | select.POLLHUP)
            floor = int(self.client.get(self.seq_key) or 0)  # read after subscribing
        except (redis.RedisError, OSError, TimeoutError):
            pubsub.close()
            return False
        self.pubsub = pubsub
        self.poller = poller
        self.pid = os.getpid()
        self.broken = False
        self._reset(floor)
        return True

    def _reconnected(self, _connection) -> None:
        self.broken = True

    def _live(self) -> bool:
        """Apply the purges waiting; whether copies can be trusted now (lock held)."""
        if self.pid != os.getpid():  # forked: the parent's subscription is not ours (_drop leaves it open)
            self._drop(retry_after=0)
            self.pid = os.getpid()
        if self.pubsub is None and not self._connect():
            return False
        if not self.poller.poll(0) and not self.broken:
            return True  # nothing waits: every message read so far left no bytes behind
        try:
            while True:
                message = self.pubsub.get_message(timeout=0)
                if self.broken:
                    raise redis.ConnectionError("resubscribed")
                if message is None:
                    return True
                if message["type"] == "message" and not self._heard(message["data"]):
                    return False
        except (redis.RedisError, OSError, ValueError):
            self._drop()
            return False

    def _heard(self, data: bytes) -> bool:
        """One message; False when it ends the subscription."""
        head, *tags = data.split()
        if head == b"reset":  # the store was emptied: its counter starts again
            self._drop(retry_after=0)
            return False
        self._stamp(int(head), [t.decode() for t in tags])
        return True

    def purged(self, seq: int, tags: Iterable[str]) -> None:
        """A purge made by this process: applied before it returns, not when its message comes back."""
        with self.lock:
            self._stamp(seq, tags)

    def _stamp(self, seq: int, tags: Iterable[str]) -> None:
        """A purge: copies naming these tags taken before `seq` are no longer good (lock held)."""
        tags = list(tags)
        if len(self.stamps) + len(tags) > self.max_tags:
            self._reset(max(self.floor, seq))
            return
        for tag in tags:
            if self.stamps.get(tag, 0) < seq:
                self.stamps[tag] = seq
        self.purges_heard += 1

    def _good(self, seq: int, tags: Iterable[str]) -> bool:
        stamps = self.stamps
        return seq >= self.floor and all(stamps.get(t, 0) <= seq for t in tags)

    def get(self, key: str, fields: list[str]) -> list[bytes] | None:
        with self.lock:
            if not self._live():
                return None
            copy = self.entries.get(key)
            if copy is None:
                return None
            if copy.expires <= time.monotonic():
                self._remove(key)
                return None
            if copy.checked != self.purges_heard:
                if not self._good(copy.seq, copy.tags):
                    self._remove(key)
                    return None
                copy.checked = self.purges_heard
            try:
                found = [copy.fields[f] for f in fields]
            except KeyError:
                return None
            self.entries.move_to_end(key)
            return found

    def put(self, key: str, seq: int, tags: Iterable[str], fields: dict[str, bytes], ttl: float) -> None:
        tags = tuple(tags)
        size = len(key) + sum(len(v) for v in fields.values()) + 40 * len(tags) + 200
        with self.lock:
            if self.pubsub is None or self.pid != os.getpid() or size > self.max_bytes // 16:
                return
            if not self._good(seq, tags):
                return
            self._remove(key)
            self.entries[key] = _Copy(seq, tags, fields, time.monotonic() + ttl, size)
            self.size += size
            while self.size > self.max_bytes:
                _old_key, old = self.entries.popitem(last=False)
                self.size -= old.size

    def _remove(self, key: str) -> None:
        old = self.entries.pop(key, None)
        if old is not None:
            self.size -= old.size

    def forget(self) -> None:
        with self.lock:
            self._drop(retry_after=0)


_NEAR: dict[tuple[str, str], NearCache] = {}


class RedisStore:
    """Entries as Redis hashes: fields ``s`` (seq before the data were read),
    ``g`` (space-separated tags) and the caller's own fields."""

    def __init__(self, url: str, prefix: str = "shop:", near_bytes: int = 0):
        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.prefix = prefix
        self.tag_prefix = prefix + "t:"
        self.seq_key = prefix + "seq"
        self.channel = prefix + "purged"
        # One near cache per store in a process, whichever app made it, so a purge
        # made here is applied here before it returns.
        self.near: NearCache | None = None
        if near_bytes > 0:
            self.near = _NEAR.get((url, prefix))
            if self.near is None:
                self.near = _NEAR[(url, prefix)] = NearCache(self.client, self.channel, self.seq_key, near_bytes)
        self._get = self.client.register_script(_GET)
        self._set = self.client.register_script(_SET)
        self._purge = self.client.register_script(_PURGE)

    def read_stamps(self, tags: Iterable[str]) -> tuple[int, list[int | None]]:
        tags = list(tags)
        values = self.client.mget([self.seq_key, *(self.tag_prefix + t for t in tags)])
        return int(values[0] or 0), [None if v is None else int(v) for v in values[1:]]

    def get(self, key: str, fields: list[str], stamp_tags: Iterable[str] = ()) -> Lookup:
        if self.near is not None:
            near = self.near.get(key, fields)
            if near is not None:
                return Lookup(near, None, {})
        stamp_tags = list(stamp_tags)
        out = self._get(
            keys=[self.prefix + key, self.seq_key], args=[self.tag_prefix, len(fields), *fields, *stamp_tags]
        )
        if out[0] == 1:
            found = out[4:]
            if self.near is not None and out[3] > 0:
                tags = out[2].decode().split()
                self.near.put(key, int(out[1]), tags, dict(zip(fields, found, strict=True)), out[3] / 1000)
            return Lookup(found, None, {})
        values = [int(v) if v != b"" else None for v in out[1:]]
        return Lookup(None, values[0] or 0, dict(zip(stamp_tags, values[1:], strict=True)))

    def set(self, key: str, s0: int, tags: Iterable[str], fields: dict[str, bytes], ttl: int) -> None:
        flat: list[Any] = []
        for name, value in fields.items():
            flat += [name, value]
        tags = sorted(tags)
        self._set(keys=[self.prefix + key, self.seq_key], args=[self.tag_prefix, s0, " ".join(tags), ttl, *flat])
        if self.near is not None:
            self.near.put(key, s0, tags, dict(fields), ttl)

    def purge(self, tags: Iterable[str]) -> int:
        tags = sorted(set(tags))
        try:
            seq = int(self._purge(keys=[self.seq_key, self.channel], args=[self.tag_prefix, *tags]))
        except redis.exceptions.OutOfMemoryError:
            # A full Redis that evicts nothing refuses writes, but not DEL: dropping
            # the stamps makes every entry naming these tags a miss all the same.
            # Near caches cannot be told which seq that was: they start again.
            self.client.delete(*(self.tag_prefix + t for t in tags))
            self.client.publish(self.channel, b"reset")
            if self.near is not None:
                self.near.forget()
            return -1
        if self.near is not None:
            self.near.purged(seq, tags)
        return seq

    def clear(self) -> None:
        for key in self.client.scan_iter(self.prefix + "*", count=1000):
            self.client.delete(key)
        # The counter is gone too: every process's near cache must start again.
        self.client.publish(self.channel, b"reset")
        if self.near is not None:
            self.near.forget()


class MemoryStore:
    """The same semantics in one process (no REDIS_URL): for development and tests."""

    def __init__(self, max_entries: int = 5000):
        self.max_entries = max_entries
        self.lock = threading.Lock()
        self.seq = 0
        self.stamps: dict[str, int] = {}
        self.entries: dict[str, tuple[float, int, tuple[str, ...], dict[str, bytes]]] = {}

    def read_stamps(self, tags: Iterable[str]) -> tuple[int, list[int | None]]:
        with self.lock:
            return self.seq, [self.stamps.get(t) for t in tags]

    def get(self, key: str, fields: list[str], stamp_tags: Iterable[str] = ()) -> Lookup:
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                expires, s0, tags, values = entry
                if expires >= time.time() and all(self.stamps.get(t, s0 + 1) <= s0 for t in tags):
                    return Lookup([values.get(f, b"") for f in fields], None, {})
            return Lookup(None, self.seq, {t: self.stamps.get(t) for t in stamp_tags})

    def set(self, key: str, s0: int, tags: Iterable[str], fields: dict[str, bytes], ttl: int) -> None:
        with self.lock:
            tags = tuple(sorted(tags))
            for t in tags:
                self.stamps.setdefault(t, self.seq)
            if len(self.entries) >= self.max_entries:
                now = time.time()
                for k in [k for k, e in self.entries.items() if e[0] < now] or list(self.entries)[
                    : self.max_entries // 4
                ]:
                    del self.entries[k]
            self.entries[key] = (time.time() + ttl, s0, tags, dict(fields))

    def purge(self, tags: Iterable[str]) -> int:
        with self.lock:
            self.seq += 1
            for t in set(tags):
                self.stamps[t] = self.seq
            return self.seq

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


class SharedCache:
    """The store with a breaker: after a failure it is skipped for `pause` seconds."""

    def __init__(self, store: RedisStore | MemoryStore, pause: float = 2.0):
        self.store = store
        self.pause = pause
        self.down_until = 0.0
        self.hits = 0
        self.misses = 0

    def _call(self, method: str, *args, always: bool = False):
        if not always and self.down_until and time.monotonic() < self.down_until:
            raise StoreDown
        try:
            result = getattr(self.store, method)(*args)
        except (redis.RedisError, OSError) as err:
            if not self.down_until:
                log.warning("cache store unavailable (%s); rendering without it", type(err).__name__)
            self.down_until = time.monotonic() + self.pause
            raise StoreDown from err
        if self.down_until:
            log.info("cache store answering again")
            self.down_until = 0.0
        return result

    def read_stamps(self, tags: Iterable[str]) -> tuple[int, list[int | None]]:
        return self._call("read_stamps", list(tags))

    def get(self, key: str, fields: list[str], stamp_tags: Iterable[str] = ()) -> Lookup:
        found = self._call("get", key, fields, stamp_tags)
        if found.fields is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def set(self, key: str, s0: int, tags: Iterable[str], fields: dict[str, bytes], ttl: int) -> None:
        self._call("set", key, s0, tags, fields, max(1, int(ttl)))

    def purge(self, tags: Iterable[str]) -> None:
        """Always tried, even while reads skip the store: a purge that did not
        reach it could leave a stale page behind once it answers again."""
        tags = set(tags)
        if tags:
            self._call("purge", tags, always=True)


def make_shared_cache(config: dict) -> SharedCache:
    url = config.get("CACHE_REDIS_URL") or config.get("REDIS_URL")
    near_bytes = int(config.get("NEAR_CACHE_MB", 0) * 1024 * 1024)
    store: RedisStore | MemoryStore = RedisStore(url, near_bytes=near_bytes) if url else MemoryStore()
    return SharedCache(store)


def shared_cache() -> SharedCache:
    return current_app.extensions["shared_cache"]


def init_cache(app) -> None:
    app.extensions["shared_cache"] = make_shared_cache(app.config)


# --- what the current render reads -------------------------------------------------


def add_tags(*tags: str) -> None:
    """Name what the page (or value) being computed shows, so purging those tags drops it."""
    collected = g.get("cache_tags")
    if collected is not None:
        collected.update(tags)


def start_render(known: Lookup | None = None) -> int | None:
    """``seq`` before any data are read (None: the store is down, so do not store).
    The stamps the process-local memos check come in the same round trip, or from
    the miss of a page look-up (`known`) that fetched them already."""
    if known is not None and known.seq is not None:
        g.memo_stamps = known.stamps
        return known.seq
    tags = LocalMemo.all_tags()
    try:
        s0, stamps = shared_cache().read_stamps(tags)
    except StoreDown:
        g.memo_stamps = None
        return None
    g.memo_stamps = dict(zip(tags, stamps, strict=True))
    return s0


# --- purging ------------------------------------------------------------------------


def purge(*tags: str) -> None:
    """Invalidate every entry that names one of `tags` (call after the commit)."""
    if not has_app_context():
        return
    try:
        shared_cache().purge(tags)
    except StoreDown:
        log.warning("could not purge %s; entries expire on their own", sorted(tags)[:10])


def purge_everything() -> None:
    """For the rare changes that really touch every page (demo seeding, reference data)."""
    purge(*GLOBAL_TAGS)


# --- values kept in each process ----------------------------------------------------


class LocalMemo:
    """A value kept in this process, checked once per request against the stamps
    of its tags (one round trip for all memos): for small, hot reference data that
    would cost more to unpickle from the store than to compare stamps."""

    _all: list[LocalMemo] = []
    _tags: list[str] | None = None

    def __init__(self, name: str, tags: tuple[str, ...]):
        self.name = name
        self.tags = tags
        LocalMemo._all.append(self)
        LocalMemo._tags = None

    @staticmethod
    def all_tags() -> list[str]:
        if LocalMemo._tags is None:
            LocalMemo._tags = sorted({t for memo in LocalMemo._all for t in memo.tags})
        return LocalMemo._tags

    @staticmethod
    def _stamps() -> dict[str, int | None] | None:
        if "memo_stamps" not in g:
            tags = LocalMemo.all_tags()
            try:
                _seq, stamps = shared_cache().read_stamps(tags)
                g.memo_stamps = dict(zip(tags, stamps, strict=True))
            except StoreDown:
                g.memo_stamps = None
        return g.memo_stamps

    def get(self, compute: Callable[[], Any], variant: Any = None):
        if current_app.config["VALUE_CACHE_SECONDS"] <= 0:
            return compute()
        stamps = self._stamps()
        if stamps is None:
            return compute()
        key = tuple(stamps[t] for t in self.tags)
        values = current_app.extensions.setdefault("local_memos", {}).setdefault(self.name, {})
        held = values.get(variant)
        if held is not None and held[0] == key and None not in key:
            return held[1]
        value = compute()
        if None in key:  # a tag never stamped: stamp it so later purges are seen
            try:
                shared_cache().set("memo:" + self.name, 0, self.tags, {"d": b""}, 60)
                _seq, fresh = shared_cache().read_stamps(self.tags)
                key = tuple(fresh)
            except StoreDown:
                return value
        if len(values) > 100:
            values.clear()
        values[variant] = (key, value)  # one assignment: safe to race between threads
        return value

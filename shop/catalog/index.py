"""An in-memory index of the catalog: filters, facet counts, sorts and search.

Counting facets in SQL scans every matching row once per facet (240 ms for the
plain listing of 100,000 products on SQLite, a second for a broad search), so
each web process keeps the listing columns of every product in compressed
bitmaps (pyroaring) instead: a filter is an AND of bitmaps, a facet count an
intersection's cardinality, a page of results a slice of the result bitmap.

Products are numbered by ``rank``: their position in (created_at, id) order, so
the newest-first sort is the result bitmap read backwards. Search keeps, per
folded word, the bitmaps of products having it in the name and in the rest of
their text (producer, province, categories, SKUs, description), plus name
bigrams and first words, so relevance is a few tiers of bitmaps (see `index_search`).

The database stays the source of truth. Every change of a product's listing
columns goes through `refresh_products`, which moves the row's ``updated_at``;
before answering, the index reads ``max(updated_at)`` (an indexed look-up) and
re-reads the rows changed since its last look (with a margin for transactions
that committed out of order), so every process and machine converges on the
database within one request.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from array import array
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from heapq import nsmallest

from flask import current_app, g
from pyroaring import BitMap
from sqlalchemy import func, select

from shop.catalog.index_search import SearchIndex
from shop.catalog.models import Product
from shop.database import catalog_read_session
from shop.extensions import db
from shop.formatting import as_utc, utcnow
from shop.producers.models import OWNER_TYPES
from shop.text import folded_words

# A transaction may commit after one that started later: re-read this much
# before the newest change seen (longer than any catalog transaction runs).
SYNC_MARGIN = timedelta(seconds=30)
MAX_TRUST_SECONDS = 5.0
PRICE_BUCKETS = 64
MAX_NAME_WORDS = 24

_COLUMNS = (
    Product.id,
    Product.created_at,
    Product.updated_at,
    Product.listed,
    Product.producer_id,
    Product.category_id,
    Product.province_id,
    Product.owner_type,
    Product.cert_stars,
    Product.cert_valid_until,
    Product.min_price,
    Product.in_stock,
    Product.search_name,
    Product.search_body,
    Product.sold_count,
    Product.rating_count,
)
_OWNER_CODES = {name: i for i, name in enumerate(OWNER_TYPES)}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexQuery:
    """A listing request in the index's terms (slugs already resolved to ids)."""

    terms: tuple[str, ...] = ()
    stars: int | None = None
    categories: tuple[int, ...] | None = None  # a group or set and everything under it
    province_id: int | None = None
    owner_type: str | None = None
    producer_id: int | None = None
    price_min: int | None = None
    price_max: int | None = None
    in_stock: bool = False
    # The "Sản phẩm chưa có sao" section: listed products without a certificate valid
    # today. Every other listing shows only products with one (OCOP-only).
    uncertified: bool = False

    def without(self, dimension: str) -> IndexQuery:
        empty = {"stars": None, "categories": None, "province_id": None, "owner_type": None, "in_stock": False}
        return IndexQuery(**{**self.__dict__, dimension: empty[dimension]})


@dataclass
class IndexResult:
    ids: list[int]
    total: int


class CatalogIndex(SearchIndex):
    def __init__(self):
        self.lock = threading.RLock()
        self.loaded = False
        self.watermark: datetime | None = None
        # This process's clock just before its last read of the rows: a row stamped more
        # than SYNC_MARGIN before it had committed by then, so that read saw it.
        self.read_at: datetime | None = None
        self.synced_seq: int | None = None
        self.synced_at = 0.0

    # --- building ------------------------------------------------------------------

    def _reset(self) -> None:
        self.rank_of: dict[int, int] = {}
        self.ids = array("I")
        self.created: list[datetime] = []
        self.producer = array("I")
        self.category = array("I")
        self.province = array("I")
        self.owner = array("b")
        self.stars = array("b")
        self.valid_until = array("i")  # date ordinal, 0 when no certificate
        self.price = array("q")
        self.sold = array("q")  # units delivered ("Bán chạy"); `selling` holds the ranks above 0
        self.selling = BitMap()
        self.rating = array("I")  # visible reviews (related products: the most reviewed first)
        self.rated = BitMap()
        self.texts: list[tuple[str, str]] = []
        self.listed = BitMap()
        self.in_stock = BitMap()
        self.by_category: dict[int, BitMap] = {}
        self.by_province: dict[int, BitMap] = {}
        self.by_owner: dict[int, BitMap] = {}
        self.by_producer: dict[int, BitMap] = {}
        self.by_stars: dict[int, BitMap] = {3: BitMap(), 4: BitMap(), 5: BitMap()}
        self.name_words: dict[str, BitMap] = {}
        self.body_words: dict[str, BitMap] = {}
        self.name_pairs: dict[str, BitMap] = {}
        self.name_first: dict[str, BitMap] = {}
        self.vocabulary: list[str] | None = None
        self.prefix_cache: dict[tuple[str, bool], BitMap] = {}
        self.valid_day: date | None = None
        self.valid = BitMap()
        self.price_edges: list[int] = [0]
        self.by_bucket: list[BitMap] = [BitMap()]
        self.by_name_length: dict[int, BitMap] = {}
        self.tier_cache: dict[tuple[str, ...], list[BitMap]] = {}
        self.tier_ref = None  # the category snapshot the cached tiers were computed with

    def _load(self) -> None:
        """Build everything from the rows in one pass: per-row appends to plain
        lists, then one bitmap per list (adding to bitmaps row by row is ~10x slower)."""
        self._reset()
        # On the read replica when there is one: the incremental sync below reads the
        # primary from this load's watermark on, so a lagging replica delays nothing.
        reads = catalog_read_session()
        self.read_at = utcnow()
        try:
            rows = reads.execute(select(*_COLUMNS).order_by(Product.created_at, Product.id)).all()
        finally:
            if reads is not db.session():
                reads.close()
        prices = sorted(r.min_price for r in rows)
        if prices:
            step = max(1, len(prices) // PRICE_BUCKETS)
            self.price_edges = sorted({prices[i] for i in range(0, len(prices), step)} | {0})
        lists: dict[str, dict] = {name: {} for name in ("producer", "category", "province", "owner", "stars", "bucket")}
        postings: dict[str, dict[str, list[int]]] = {"name": {}, "body": {}, "pairs": {}, "first": {}}
        lengths: dict[int, list[int]] = {}
        listed, stocked, selling = [], [], []
        for rank, row in enumerate(rows):
            self.rank_of[row.id] = rank
            self.ids.append(row.id)
            self.created.append(as_utc(row.created_at))
            owner = _OWNER_CODES.get(row.owner_type, -1)
            stars = row.cert_stars or 0
            bucket = self._bucket(row.min_price)
            for name, value, column in (
                ("producer", row.producer_id, self.producer),
                ("category", row.category_id, self.category),
                ("province", row.province_id, self.province),
                ("owner", owner, self.owner),
            ):
                column.append(value)
                lists[name].setdefault(value, []).append(rank)
            self.stars.append(stars)
            lists["stars"].setdefault(stars, []).append(rank)
            self.valid_until.append(row.cert_valid_until.toordinal() if row.cert_valid_until else 0)
            self.price.append(row.min_price)
            self.sold.append(row.sold_count)
            if row.sold_count > 0:
                selling.append(rank)
            self.rating.append(row.rating_count)
            lists["bucket"].setdefault(bucket, []).append(rank)
            if row.listed:
                listed.append(rank)
            if row.in_stock:
                stocked.append(rank)
            text = _texts(row)
            self.texts.append(text)
            name_words = folded_words(text[0])
            lengths.setdefault(min(len(name_words), MAX_NAME_WORDS), []).append(rank)
            for w in set(name_words):
                postings["name"].setdefault(w, []).append(rank)
            for a, b in zip(name_words, name_words[1:], strict=False):
                postings["pairs"].setdefault(f"{a} {b}", []).append(rank)
            if name_words:
                postings["first"].setdefault(name_words[0], []).append(rank)
            for w in set(folded_words(text[1])):
                postings["body"].setdefault(w, []).append(rank)
        self.listed, self.in_stock, self.selling = BitMap(listed), BitMap(stocked), BitMap(selling)
        self.rated = BitMap(r for r, n in enumerate(self.rating) if n)
        self.by_producer = {k: BitMap(v) for k, v in lists["producer"].items()}
        self.by_category = {k: BitMap(v) for k, v in lists["category"].items()}
        self.by_province = {k: BitMap(v) for k, v in lists["province"].items()}
        self.by_owner = {k: BitMap(v) for k, v in lists["owner"].items()}
        self.by_stars.update({k: BitMap(v) for k, v in lists["stars"].items() if k in self.by_stars})
        self.by_bucket = [BitMap(lists["bucket"].get(b, ())) for b in range(len(self.price_edges))]
        self.by_name_length = {n: BitMap(ranks) for n, ranks in lengths.items()}
        for table, name in (
            (self.name_words, "name"),
            (self.body_words, "body"),
            (self.name_pairs, "pairs"),
            (self.name_first, "first"),
        ):
            for word, ranks in postings[name].items():
                bm = table[word] = BitMap(ranks)
                bm.run_optimize()
        self.watermark = max((as_utc(r.updated_at) for r in rows), default=None)
        self.loaded = True

    def _append(self, row) -> int:
        rank = len(self.ids)
        self.rank_of[row.id] = rank
        self.ids.append(row.id)
        self.created.append(as_utc(row.created_at))
        self.producer.append(0)
        self.category.append(0)
        self.province.append(0)
        self.owner.append(-1)
        self.stars.append(0)
        self.valid_until.append(0)
        self.price.append(-1)
        self.sold.append(0)
        self.rating.append(0)
        self.texts.append(("", ""))
        self._set(rank, row)
        return rank

    def _set(self, rank: int, row) -> None:
        """Move product `rank` from its old values to `row`'s in every bitmap."""
        self._move(self.by_producer, self.producer, rank, row.producer_id)
        self._move(self.by_category, self.category, rank, row.category_id)
        self._move(self.by_province, self.province, rank, row.province_id)
        self._move(self.by_owner, self.owner, rank, _OWNER_CODES.get(row.owner_type, -1))
        old_stars = self.stars[rank]
        if old_stars in self.by_stars:
            self.by_stars[old_stars].discard(rank)
        stars = row.cert_stars or 0
        self.stars[rank] = stars
        if stars in self.by_stars:
            self.by_stars[stars].add(rank)
        self.valid_until[rank] = row.cert_valid_until.toordinal() if row.cert_valid_until else 0
        if self.valid_day is not None:
            if self.valid_until[rank] >= self.valid_day.toordinal():
                self.valid.add(rank)
            else:
                self.valid.discard(rank)
        old_price = self.price[rank]
        if old_price >= 0:
            self.by_bucket[self._bucket(old_price)].discard(rank)
        self.price[rank] = row.min_price
        self.by_bucket[self._bucket(row.min_price)].add(rank)
        (self.listed.add if row.listed else self.listed.discard)(rank)
        (self.in_stock.add if row.in_stock else self.in_stock.discard)(rank)
        self.sold[rank] = row.sold_count
        (self.selling.add if row.sold_count > 0 else self.selling.discard)(rank)
        self.rating[rank] = row.rating_count
        (self.rated.add if row.rating_count else self.rated.discard)(rank)
        text = _texts(row)
        if text != self.texts[rank]:
            if self.texts[rank] != ("", ""):
                self._forget_words(rank, self.texts[rank])
            self.texts[rank] = text
            self._learn_words(rank, text)

    @staticmethod
    def _move(bitmaps: dict, values: array, rank: int, new) -> None:
        old = values[rank]
        if old == new and rank in bitmaps.get(new, ()):
            return
        if old in bitmaps:
            bitmaps[old].discard(rank)
        values[rank] = new
        bitmaps.setdefault(new, BitMap()).add(rank)

    def _learn_words(self, rank: int, text: tuple[str, str]) -> None:
        name = folded_words(text[0])
        self.by_name_length.setdefault(min(len(name), MAX_NAME_WORDS), BitMap()).add(rank)
        for w in set(name):
            self._word(self.name_words, w).add(rank)
        for a, b in zip(name, name[1:], strict=False):
            self._word(self.name_pairs, f"{a} {b}").add(rank)
        if name:
            self._word(self.name_first, name[0]).add(rank)
        for w in set(folded_words(text[1])):
            self._word(self.body_words, w).add(rank)

    def _forget_words(self, rank: int, text: tuple[str, str]) -> None:
        name = folded_words(text[0])
        self.by_name_length.get(min(len(name), MAX_NAME_WORDS), BitMap()).discard(rank)
        for w in set(name):
            self.name_words.get(w, BitMap()).discard(rank)
        for a, b in zip(name, name[1:], strict=False):
            self.name_pairs.get(f"{a} {b}", BitMap()).discard(rank)
        if name:
            self.name_first.get(name[0], BitMap()).discard(rank)
        for w in set(folded_words(text[1])):
            self.body_words.get(w, BitMap()).discard(rank)
        self.prefix_cache.clear()
        self.tier_cache.clear()

    def _word(self, table: dict[str, BitMap], word: str) -> BitMap:
        found = table.get(word)
        if found is None:
            found = table[word] = BitMap()
            self.vocabulary = None
            self.prefix_cache.clear()
            self.tier_cache.clear()
        return found

    def _bucket(self, price: int) -> int:
        return max(0, bisect_right(self.price_edges, price) - 1)

    # --- keeping up with the database -----------------------------------------------

    def sync(self, seq: int | None = None) -> None:
        """Load on first use; afterwards apply the rows changed since the last look.

        `seq` is the cache's purge counter read before this request read anything
        (shop.cache.start_render). Every committed product change is purged after
        its commit, so while the counter has not moved since the last look no
        change can be missing that a page stored now would not be purged for;
        the database is still asked at least every few seconds (a purge may
        have failed)."""
        with self.lock:
            now = time.monotonic()
            if not self.loaded:
                self.synced_seq, self.synced_at = seq, now
                self._load()
                return
            if seq is not None and seq == self.synced_seq and now - self.synced_at < MAX_TRUST_SECONDS:
                return
            self.synced_seq, self.synced_at = seq, now
            latest = as_utc(db.session.scalar(select(func.max(Product.updated_at))))
            if latest is None or (self.watermark is not None and latest <= self.watermark):
                return
            # From the newest change seen, or from the last read when that is later: after a
            # bulk write (a seed, an import, a migration) that stamped every row alike, the
            # newest change seen is that stamp, and re-reading from it re-read the whole
            # catalog under the lock at the first change after a load (~70 s at 1,000,000
            # products, every request of the process waiting).
            since = max(self.watermark or latest, self.read_at or latest) - SYNC_MARGIN
            read_at = utcnow()
            rows = db.session.execute(select(*_COLUMNS).where(Product.updated_at >= since)).all()
            for row in sorted(rows, key=lambda r: (as_utc(r.created_at), r.id)):
                rank = self.rank_of.get(row.id)
                if rank is None:
                    if self.created and as_utc(row.created_at) < self.created[-1]:
                        # Created earlier than products already ranked (a bulk import
                        # with old dates): ranks must follow creation, so start over.
                        self._load()
                        return
                    self._append(row)
                else:
                    self._set(rank, row)
            self.watermark, self.read_at = latest, read_at

    # --- answering ------------------------------------------------------------------

    def _valid_on(self, today: date) -> BitMap:
        if self.valid_day != today:
            day = today.toordinal()
            self.valid = BitMap(r for r, until in enumerate(self.valid_until) if until >= day)
            self.valid_day = today
        return self.valid

    def _filter(self, q: IndexQuery, today: date, tiers: list[BitMap] | None) -> BitMap:
        parts = [self.listed]
        if tiers is not None:
            parts.append(BitMap.union(BitMap(), *tiers))
        if q.stars:
            at_least = BitMap.union(BitMap(), *(bm for s, bm in self.by_stars.items() if s >= q.stars))
            parts += [at_least, self._valid_on(today)]
        if q.categories is not None:
            parts.append(BitMap.union(BitMap(), *(self.by_category.get(c, BitMap()) for c in q.categories)))
        if q.province_id is not None:
            parts.append(self.by_province.get(q.province_id, BitMap()))
        if q.owner_type is not None:
            parts.append(self.by_owner.get(_OWNER_CODES.get(q.owner_type, -1), BitMap()))
        if q.producer_id is not None:
            parts.append(self.by_producer.get(q.producer_id, BitMap()))
        if q.in_stock:
            parts.append(self.in_stock)
        result = BitMap.intersection(*parts)
        # Checked by the day, not only by `listed`: a certificate lapses at Vietnam midnight.
        result = result - self._valid_on(today) if q.uncertified else result & self._valid_on(today)
        if q.price_min is not None or q.price_max is not None:
            result = self._price_range(result, q.price_min, q.price_max)
        return result

    def _price_range(self, within: BitMap, lo: int | None, hi: int | None) -> BitMap:
        lo = 0 if lo is None else lo
        hi = (1 << 62) if hi is None else hi
        first, last = self._bucket(lo), self._bucket(hi)
        out = BitMap()
        for b in range(first, last + 1):
            part = within & self.by_bucket[b]
            if b in (first, last):
                part = BitMap(r for r in part if lo <= self.price[r] <= hi)
            out |= part
        return out

    def query(
        self,
        q: IndexQuery,
        today: date,
        sort: str,
        offset: int,
        limit: int,
        with_facets: bool,
        ref=None,
    ) -> tuple[IndexResult, list[tuple[str, str, int]] | None]:
        with self.lock:
            tiers = self._search_tiers(q.terms, ref) if q.terms else None
            result = self._filter(q, today, tiers)
            ranks = self._page(result, tiers, sort, offset, limit)
            page = IndexResult([self.ids[r] for r in ranks], len(result))
            facets = self._facets(q, today, tiers) if with_facets else None
        return page, facets

    def _page(self, result: BitMap, tiers: list[BitMap] | None, sort: str, offset: int, limit: int) -> list[int]:
        if sort in ("price_asc", "price_desc"):
            return self._by_price(result, sort == "price_desc", offset, limit)
        if sort == "best_selling":
            return self._best_selling(result, offset, limit)
        if sort == "relevance" and tiers:
            # Within a tier, shorter names first (the closer match), then the newest.
            out: list[int] = []
            lengths = sorted(self.by_name_length)
            for tier in tiers:
                for n_words in lengths:
                    part = tier & result & self.by_name_length[n_words]
                    n = len(part)
                    if offset >= n:
                        offset -= n
                        continue
                    out += _newest(part, offset, limit - len(out))
                    offset = 0
                    if len(out) >= limit:
                        return out
            return out
        return _newest(result, offset, limit)

    def _by_price(self, result: BitMap, descending: bool, offset: int, limit: int) -> list[int]:
        buckets = range(len(self.by_bucket) - 1, -1, -1) if descending else range(len(self.by_bucket))
        chosen: list[int] = []
        skipped = 0
        for b in buckets:
            part = result & self.by_bucket[b]
            n = len(part)
            if not chosen and skipped + n <= offset:
                skipped += n
                continue
            chosen += part
            if skipped + len(chosen) >= offset + limit:
                break
        ids, price = self.ids, self.price
        chosen.sort(key=lambda r: (price[r], ids[r]), reverse=descending)
        start = offset - skipped
        return chosen[start : start + limit]

    def _best_selling(self, result: BitMap, offset: int, limit: int) -> list[int]:
        """Most units delivered first (ties: newest first), then the products
        nobody has bought yet, newest first. Only the sold ones are sorted."""
        selling = result & self.selling
        n = len(selling)
        out: list[int] = []
        if offset < n:
            sold = self.sold
            out = heapq.nsmallest(offset + limit, selling, key=lambda r: (-sold[r], -r))[offset:]
        if len(out) < limit:
            out += _newest(result - selling, max(0, offset - n), limit - len(out))
        return out

    def _facets(self, q: IndexQuery, today: date, tiers: list[BitMap] | None) -> list[tuple[str, str, int]]:
        """(facet, key, count) rows as the SQL version gave them: each dimension
        counted under the other filters but not its own."""
        rows: list[tuple[str, str, int]] = []
        base = self._filter(q.without("stars"), today, tiers) & self._valid_on(today)
        for s, bm in self.by_stars.items():
            rows.append(("stars", str(s), base.intersection_cardinality(bm)))
        base = self._filter(q.without("categories"), today, tiers)
        for cid, bm in self.by_category.items():
            n = base.intersection_cardinality(bm)
            if n:
                rows.append(("group", str(cid), n))
        base = self._filter(q.without("province_id"), today, tiers)
        for pid, bm in self.by_province.items():
            n = base.intersection_cardinality(bm)
            if n:
                rows.append(("province", str(pid), n))
        base = self._filter(q.without("owner_type"), today, tiers)
        for code, bm in self.by_owner.items():
            n = base.intersection_cardinality(bm)
            if n and 0 <= code < len(OWNER_TYPES):
                rows.append(("owner", OWNER_TYPES[code], n))
        base = self._filter(q.without("in_stock"), today, tiers)
        rows.append(("stock", "1", base.intersection_cardinality(self.in_stock)))
        return rows

    def counts_by(self, field: str, today: date, within: Iterable[int] | None = None) -> dict[int, int]:
        """Listed products with a certificate valid `today` per province or producer
        (for the home and producer pages)."""
        table = {"province": self.by_province, "producer": self.by_producer}[field]
        with self.lock:
            listed = self.listed & self._valid_on(today)
            base = listed if within is None else listed & BitMap(self.rank_of[i] for i in within)
            return {key: n for key, bm in table.items() if (n := base.intersection_cardinality(bm))}

    def related(
        self, product_id: int, producer_id: int, categories: Iterable[int], province_id: int, limit: int, today: date
    ) -> list[int]:
        """Up to `limit` other listed products: the producer's, then those filed
        under `categories`, then the province's; in each, the ones in stock first,
        then the most reviewed, then the oldest. (In SQL this was one OR query that
        sorted the producer's, group's and province's rows: 80 ms at 100,000.)"""
        with self.lock:
            own = self.rank_of.get(product_id)
            seen = BitMap() if own is None else BitMap([own])
            tiers = (
                self.by_producer.get(producer_id, BitMap()),
                BitMap.union(BitMap(), *(self.by_category.get(c, BitMap()) for c in categories)),
                self.by_province.get(province_id, BitMap()),
            )
            out: list[int] = []
            on_sale = self.listed & self._valid_on(today)  # OCOP only, even beside an unstarred product
            for tier in tiers:
                tier = (tier & on_sale) - seen
                seen |= tier
                for part in (tier & self.in_stock, tier - self.in_stock):
                    need = limit - len(out)
                    rated = part & self.rated
                    out += nsmallest(need, rated, key=lambda r: (-self.rating[r], r))
                    out += (part - rated)[: limit - len(out)]
                    if len(out) >= limit:
                        return [self.ids[r] for r in out]
            return [self.ids[r] for r in out]


def _texts(row) -> tuple[str, str]:
    """A product's search name, and the rest of its text as its words each after a
    space (what `_side_by_side` looks for phrases in)."""
    body = folded_words(row.search_body or "")
    return row.search_name or "", "".join(" " + w for w in body)


def _newest(bm: BitMap, offset: int, limit: int) -> list[int]:
    """Ranks `offset`..`offset+limit` of `bm` in newest-first (descending rank) order."""
    n = len(bm)
    end = n - offset
    if end <= 0 or limit <= 0:
        return []
    start = max(0, end - limit)
    return list(bm[start:end])[::-1]


def catalog_index() -> CatalogIndex:
    """This process's index of the app's database, in step with it (checked once per request)."""
    index = current_app.extensions.get("catalog_index")
    if index is None:
        index = current_app.extensions.setdefault("catalog_index", CatalogIndex())
    if not g.get("catalog_index_synced"):
        index.sync(g.get("page_s0"))
        g.catalog_index_synced = True
    return index


def build_before_serving(app) -> None:
    """Load this process's index before it takes requests (gunicorn's post_worker_init):
    built lazily, the first page a new worker renders waited the whole load — about half
    a minute at 100,000 products — and every request queued behind it. A database that
    does not answer yet only postpones the load to the first request, as before."""
    try:
        with app.app_context():
            catalog_index()
    except Exception:  # noqa: BLE001 - the worker still starts; the first request loads it
        log.exception("catalog index not built at start; the first request will build it")

"""A producer's stock feed: a URL the worker pulls on an interval, applied like an
upload (`import_services.process_import`) unless its content has not changed
since the last pull it applied. Failures are noted on the feed and, once while
they keep failing the same way, in the sync log."""

import hashlib
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from shop.database import rowcount
from shop.errors import NotFound, ShopError
from shop.extensions import db
from shop.formatting import as_utc, utcnow
from shop.inventory import feeds
from shop.inventory.import_files import MAX_BYTES, ImportRefused, parse_file
from shop.inventory.import_services import process_import, store_file
from shop.inventory.models import ProducerFeed, StockImport
from shop.queue import enqueue

FEED_INTERVALS = (5, 15, 30, 60, 180, 360, 720, 1440)  # minutes


def _allow_private() -> bool:
    return bool(current_app.config.get("FEED_ALLOW_PRIVATE_HOSTS", False))


def feed_of(producer_id: int) -> ProducerFeed | None:
    return db.session.scalars(select(ProducerFeed).where(ProducerFeed.producer_id == producer_id)).first()


def save_feed(producer_id: int, url: str, interval_minutes: int, active: bool) -> ProducerFeed:
    """Register or change the producer's feed (commits)."""
    try:
        url = feeds.check_url(url, allow_private=_allow_private())
    except feeds.FeedError as err:
        raise ShopError(err.message, code=err.code) from None
    if interval_minutes not in FEED_INTERVALS:
        raise ShopError(_l("Chọn một chu kỳ lấy dữ liệu trong danh sách."), code="bad_interval")
    feed = feed_of(producer_id)
    if feed is None:
        feed = ProducerFeed(producer_id=producer_id, format="csv")
        db.session.add(feed)
    if feed.url != url:
        feed.last_fetched_at, feed.last_status, feed.last_error = None, "", ""
    feed.url, feed.interval_minutes, feed.active = url, interval_minutes, active
    feed.format = "json" if url.lower().split("?")[0].endswith(".json") else feed.format or "csv"
    db.session.commit()
    return feed


def delete_feed(producer_id: int) -> None:
    feed = feed_of(producer_id)
    if feed is not None:
        db.session.delete(feed)
        db.session.commit()


def request_feed_pull(producer_id: int) -> None:
    """Fetch the feed as soon as the worker can, whatever its interval (commits)."""
    feed = feed_of(producer_id)
    if feed is None:
        raise NotFound(_l("Chưa đăng ký nguồn dữ liệu."))
    feed.last_fetched_at = None
    db.session.commit()
    enqueue("inventory.pull_feed", feed.id)


def _is_due(feed: ProducerFeed, now: datetime) -> bool:
    last = as_utc(feed.last_fetched_at)
    return last is None or last + timedelta(minutes=feed.interval_minutes) <= now


def due_feed_ids(now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    feeds_ = db.session.scalars(select(ProducerFeed).where(ProducerFeed.active.is_(True)).order_by(ProducerFeed.id))
    return [f.id for f in feeds_ if _is_due(f, now)]


def _last_feed_import(producer_id: int) -> StockImport | None:
    return db.session.scalars(
        select(StockImport)
        .where(StockImport.producer_id == producer_id, StockImport.source == "feed")
        .order_by(StockImport.id.desc())
    ).first()


def _still_on(feed_id: int) -> ProducerFeed | None:
    """The feed after a fetch, unless its producer deleted or switched it off meanwhile."""
    feed = db.session.get(ProducerFeed, feed_id, populate_existing=True, with_for_update=True)
    return feed if feed is not None and feed.active else None


def _feed_failed(feed_id: int, producer_id: int, url: str, message: str, now: datetime) -> str:
    """Note the failure on the feed and in the sync log (once while it keeps failing the
    same way). Returns "error", or "inactive" if the feed went away during the fetch."""
    feed = _still_on(feed_id)
    if feed is None:
        db.session.rollback()
        return "inactive"
    feed.last_status, feed.last_error = "error", message
    last = _last_feed_import(producer_id)
    if last is None or last.status != "failed" or last.error != message:
        db.session.add(
            StockImport(
                producer_id=producer_id,
                source="feed",
                filename=url[:200],
                status="failed",
                error=message,
                created_at=now,
                finished_at=now,
            )
        )
    db.session.commit()
    return "error"


def pull_feed(feed_id: int, now: datetime | None = None) -> str:
    """Fetch one feed if it is due and apply it like an upload. Returns "applied",
    "unchanged" (same content as the last applied pull), "error", "not_due" or "inactive"
    (also when the producer deletes or switches off the feed while it is being fetched:
    nothing of that fetch is applied)."""
    now = now or utcnow()
    feed = db.session.get(ProducerFeed, feed_id)
    if feed is None or not feed.active:
        return "inactive"
    if not _is_due(feed, now):
        return "not_due"
    last_fetched, producer_id, url = feed.last_fetched_at, feed.producer_id, feed.url
    # Claim this round: of two runs that read the same last_fetched_at, one moves it.
    claimed = rowcount(
        db.session.execute(
            update(ProducerFeed)
            .where(
                ProducerFeed.id == feed_id,
                ProducerFeed.last_fetched_at.is_(None)
                if last_fetched is None
                else ProducerFeed.last_fetched_at == last_fetched,
            )
            .values(last_fetched_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    db.session.commit()
    if not claimed:
        return "not_due"
    config = current_app.config
    try:
        fetched = feeds.fetch(
            url,
            timeout=float(config.get("FEED_TIMEOUT_SECONDS", 5.0)),
            max_bytes=MAX_BYTES,
            deadline_seconds=float(config.get("FEED_DEADLINE_SECONDS", 30.0)),
            allow_private=_allow_private(),
        )
        parsed = parse_file(fetched.body, fetched.content_type)
    except (feeds.FeedError, ImportRefused) as err:
        return _feed_failed(feed_id, producer_id, url, err.message, now)
    content_hash = hashlib.sha256(fetched.body).hexdigest()
    last = _last_feed_import(producer_id)
    feed = _still_on(feed_id)
    if feed is None:
        db.session.rollback()
        return "inactive"
    if last is not None and last.status == "done" and last.content_hash == content_hash:
        feed.last_status, feed.last_error = "unchanged", ""
        db.session.commit()
        return "unchanged"
    try:
        relative = store_file(producer_id, fetched.body, "." + parsed.fmt)
    except ImportRefused as err:
        return _feed_failed(feed_id, producer_id, url, err.message, now)
    imp = StockImport(
        producer_id=producer_id,
        source="feed",
        filename=url[:200],
        file_path=relative,
        content_hash=content_hash,
        status="queued",
        total_rows=len(parsed.rows),
        created_at=now,
    )
    db.session.add(imp)
    feed.format, feed.last_status, feed.last_error = parsed.fmt, "ok", ""
    db.session.commit()
    process_import(imp.id)
    return "applied"
